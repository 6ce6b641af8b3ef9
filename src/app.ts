// The composition root: builds the core, its adapters, the queues and workers and the HTTP server from one Config.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker, type Processor } from 'bullmq';
import express from 'express';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import * as carryOut from '../jobs/carry-out.js';
import * as deliverMessage from '../jobs/deliver-message.js';
import * as expireRequest from '../jobs/expire-request.js';
import * as postFeed from '../jobs/post-feed.js';
import * as processSns from '../jobs/process-sns.js';
import * as reconcileInventory from '../jobs/reconcile-inventory.js';
import { Inbox, InboxPump } from '../jobs/inbox.js';
import { Queues, redisConnection } from '../jobs/queues.js';
import * as runCommand from '../jobs/run-command.js';
import * as watchProvision from '../jobs/watch-provision.js';
import { RedisAudit } from './adapters/redis/audit.js';
import { RedisInventory } from './adapters/redis/inventory.js';
import { Store } from './adapters/redis/store.js';
import { createSlackApp } from './adapters/slack/app.js';
import { optionListKey, SlackChat } from './adapters/slack/chat.js';
import { LOG_REDACT, type Config } from './config.js';
import { Bot, type Extensions } from './core/bot.js';
import type { CoreDeps, Feed, People } from './core/context.js';
import type { Inventory } from './core/inventory.js';
import { resolveActor } from './core/directory.js';
import { UpstreamError } from './core/errors.js';
import { approvalExtensions, formForAction, reportOffboardRecord } from './core/requests.js';
import { budgetCommand, idleActions, knownTopicsKey, onRecordSettled, snoozeCommand, statusWithWatch } from './core/alerts.js';
import type { Command } from './core/command.js';
import { isSnsRequest, snsHandler, SnsVerifier } from './http/sns.js';
import { cachedLaunchOptions, cachedProducts } from './core/catalog-cache.js';
import { loadPolicy, warnUnknownParameters, type Policy } from './core/policy.js';
import { Sealer } from './core/sealed.js';
import type { SandboxHooks } from './sandbox/shared.js';
import { systemClock, type AlarmsPort, type BudgetsPort, type CatalogPort, type ChatPort, type Clock, type Platform, type SecretsPort, type TopicsPort } from './core/ports.js';

export interface Overrides {
  catalog: CatalogPort;
  topics: TopicsPort;
  alarms: AlarmsPort;
  budgets: BudgetsPort;
  secrets: SecretsPort;
  /** Tests serve their own signing certificate. */
  snsVerifier?: SnsVerifier;
  /** What the admin feeds post with (tests record it). */
  fetch?: typeof fetch;
  clock?: Clock;
  log?: Logger;
  policy?: Policy;
  /** Extra chat adapters (the console) or replacements. */
  chats?: Partial<Record<Platform, ChatPort>>;
  feed?: Feed;
  extensions?: Extensions;
  /** Where the provisioned products are kept (default: Redis). */
  inventory?: Inventory;
  /** The sandbox account's certificate and POST /sandbox/publish: used in sandbox mode only, closed with the app. */
  sandbox?: SandboxHooks;
}

const HEALTH_TIMEOUT_MS = 1000;

export class Scicomp {
  readonly log: Logger;
  readonly redis: Redis;
  readonly store: Store;
  readonly queues: Queues;
  readonly inbox: Inbox;
  readonly sealer: Sealer;
  private pump?: InboxPump;
  readonly audit: RedisAudit;
  readonly chats: Partial<Record<Platform, ChatPort>>;
  readonly bot: Bot;
  readonly deps: CoreDeps;
  private policyNow: Policy;
  private workers: Worker[] = [];
  /** Settles once the inventory's reconcile is scheduled (startWorkers). */
  inventoryScheduled: Promise<void> = Promise.resolve();
  private subscriber?: Redis;
  private server?: Server;
  private slack?: ReturnType<typeof createSlackApp>;

  constructor(
    readonly config: Config,
    policy: Policy,
    o: Overrides,
  ) {
    this.log = o.log ?? pino({ level: config.LOG_LEVEL, redact: LOG_REDACT });
    // The queues run on this connection: their errors are its errors, said once with them.
    const trouble = this.redisTrouble();
    this.redis = this.watched(redisConnection(config.REDIS_URL, { autoPipelining: true }), trouble);
    this.store = new Store(this.redis, config.SCICOMP_PREFIX);
    this.queues = new Queues(this.redis, config.SCICOMP_PREFIX, (platform) => this.chats[platform], trouble);
    // Every replica must hold the same data key (main.ts insists on one); only the one-process sandbox may go without.
    this.sealer = new Sealer({ get: () => o.secrets.get('dataKey'), invalidate: () => o.secrets.invalidate() }, { ephemeral: config.aws === 'sandbox' });
    this.inbox = new Inbox(this.redis, config.SCICOMP_PREFIX, this.sealer);
    const clock = o.clock ?? systemClock;
    this.audit = new RedisAudit(this.store, clock, config.SCICOMP_AUDIT_MAXLEN);
    this.policyNow = policy;
    this.slackChat = new SlackChat({ secrets: o.secrets, store: this.store, apiUrl: config.SLACK_API_URL });
    this.chats = { slack: this.slackChat, ...o.chats };
    this.deps = {
      catalog: o.catalog,
      inventory: o.inventory ?? new RedisInventory(this.store),
      inventoryPacing: { pagesPerSecond: config.INVENTORY_PAGES_PER_SECOND },
      store: this.store,
      outbox: this.queues.outbox,
      watcher: this.queues.watcher,
      audit: this.audit,
      feed: o.feed ?? this.queues.feedOut(o.secrets),
      clock,
      policy: () => this.policyNow,
      reloadPolicy: () => this.reloadPolicy(),
      people: this.people(),
      connect: { region: config.AWS_REGION, credentialProcess: config.SCICOMP_CREDENTIAL_PROCESS },
      topics: o.topics,
      alarms: o.alarms,
      budgets: o.budgets,
      snsEndpoint: config.SCICOMP_PUBLIC_URL ? `${config.SCICOMP_PUBLIC_URL.replace(/\/$/, '')}/sns` : undefined,
      snsMaxAgeMs: config.SNS_MAX_AGE_MS,
      log: this.log,
      sealer: this.sealer,
    };
    this.sandbox = o.sandbox;
    // Only a scicomp in sandbox mode trusts what the sandbox SNS signs.
    this.snsVerifier = o.snsVerifier ?? new SnsVerifier(config.aws === 'sandbox' && o.sandbox ? { trusted: o.sandbox.certificates } : {});
    this.fetch = o.fetch;
    const approvals = approvalExtensions({ scheduleExpiry: (id, at) => this.queues.scheduleExpiry(id, at), carrier: { carryOut: (id) => this.queues.carryOut(id) } });
    const alerting: Extensions = {
      verbs: {
        budget: async (_cmd, ctx, deps) => ({ message: await budgetCommand(ctx, deps) }),
        status: async (cmd, ctx, deps) => ({ message: await statusWithWatch((cmd as Extract<Command, { verb: 'status' }>).name, ctx, deps) }),
        snooze: async (cmd, ctx, deps) => {
          const c = cmd as Extract<Command, { verb: 'snooze' }>;
          return { message: await snoozeCommand(c.name, c.duration, ctx, deps) };
        },
      },
      actions: Object.fromEntries(Object.entries(idleActions).map(([id, fn]) => [id, async (value: string, ctx, deps) => ({ message: await fn(value, ctx, deps) })])),
    };
    this.bot = new Bot(this.deps, {
      ...approvals,
      verbs: { ...approvals.verbs, ...alerting.verbs, ...o.extensions?.verbs },
      actions: { ...approvals.actions, ...alerting.actions, ...o.extensions?.actions },
      forms: { ...approvals.forms, ...o.extensions?.forms },
      routeApproval: o.extensions?.routeApproval ?? approvals.routeApproval,
    });
    this.secrets = o.secrets;
  }

  private people(): People {
    const chat = (platform: Platform) => {
      const c = this.chats[platform];
      if (!c) throw new UpstreamError(`no chat adapter for ${platform}`, false);
      return c;
    };
    return {
      actor: (platform, userId) => resolveActor(platform, userId, { chat: chat(platform), store: this.store, policy: () => this.policyNow }),
      groupMembers: (platform, groupId) => chat(platform).groupMembers(groupId),
      find: async (platform, text) => chat(platform).findUser?.(text),
    };
  }

  private get policyChannel(): string {
    return `${this.config.SCICOMP_PREFIX}:policy-reload`;
  }

  /** Every process re-reads the policy when any of them is told to (SIGHUP or `/scicomp reload`). */
  async listenForPolicyReloads(): Promise<void> {
    this.subscriber = this.watched(this.redis.duplicate());
    await this.subscriber.subscribe(this.policyChannel);
    this.subscriber.on('message', () => {
      loadPolicy(this.config.SCICOMP_POLICY).then(
        (p) => {
          this.policyNow = p;
          this.log.info('catalog policy reloaded (announced by another process)');
        },
        (err: Error) => this.log.error({ err: err.message }, 'catalog policy NOT reloaded; the previous one stays in force'),
      );
    });
  }

  private readonly secrets: SecretsPort;
  private readonly snsVerifier: SnsVerifier;
  private readonly sandbox?: SandboxHooks;
  private readonly slackChat: SlackChat;
  private readonly fetch?: typeof fetch;

  /** ioredis reconnects by itself; say once per distinct error that Redis is away, instead of an unhandled-error dump. */
  private watched(redis: Redis, trouble = this.redisTrouble()): Redis {
    redis.on('error', trouble);
    redis.on('ready', () => trouble.reset());
    return redis;
  }

  /** Logs a Redis error once, not at every reconnection attempt, until `reset` (the connection is back). */
  private redisTrouble(): ((err: Error) => void) & { reset(): void } {
    let last = '';
    return Object.assign(
      (err: Error) => {
        if (err.message !== last) this.log.warn({ err: err.message }, 'Redis is not answering; work waits until it is back');
        last = err.message;
      },
      { reset: () => (last = '') },
    );
  }

  /** Rules that name a parameter no product has never match as meant (they fail closed): say so where admins look. */
  async checkPolicyAgainstCatalog(): Promise<string[]> {
    try {
      const cached = { listProducts: () => cachedProducts(this.deps), launchOptions: (id: string, version: string) => cachedLaunchOptions(this.deps, id, version) };
      return await warnUnknownParameters(this.policyNow, cached, (m) => this.log.warn(m));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not check the catalog policy against the catalog');
      return [];
    }
  }

  get policy(): Policy {
    return this.policyNow;
  }

  /** Re-reads the policy file; a bad file leaves the running policy in place and says why. */
  async reloadPolicy(): Promise<void> {
    try {
      this.policyNow = await loadPolicy(this.config.SCICOMP_POLICY);
    } catch (err) {
      // Admins hear of a refused reload where they heard of the good ones: the feed, and the audit trail.
      const why = (err as Error).message;
      await this.audit.append({ actor: 'scicomp', action: 'policy.reload', target: this.config.SCICOMP_POLICY, outcome: `refused: ${why}` });
      await this.deps.feed.publish({ type: 'policy-changed', summary: `catalog policy reload REFUSED (the previous policy stays): ${why}`, key: `policy-refused:${Date.now()}` });
      throw err;
    }
    this.log.info({ path: this.config.SCICOMP_POLICY }, 'catalog policy reloaded');
    void this.checkPolicyAgainstCatalog();
    await this.redis.publish(this.policyChannel, String(Date.now()));
    await this.deps.feed.publish({ type: 'policy-changed', summary: `catalog policy reloaded from ${this.config.SCICOMP_POLICY}`, key: `policy:${Date.now()}` });
  }

  async startWeb(port = this.config.PORT): Promise<Server> {
    this.slack = createSlackApp({
      secrets: this.secrets,
      enqueue: (p) => this.inbox.push(p),
      log: this.log,
      apiUrl: this.config.SLACK_API_URL,
      appToken: this.config.SLACK_APP_TOKEN,
      formForAction: (actionId, value, userId) => formForAction(actionId, value, { platform: 'slack', userId }, this.deps),
      audit: this.audit,
      optionList: (id) => this.store.getJson<string[]>(optionListKey(this.store, id)),
      installation: { teamId: this.config.SLACK_TEAM_ID, appId: this.config.SLACK_APP_ID },
    });
    const web = this.slack.receiver?.app ?? express();
    const allowedTopics = new Set((this.config.SCICOMP_SNS_TOPICS ?? '').split(',').map((t) => t.trim()).filter(Boolean));
    const sns = snsHandler({
      verifier: this.snsVerifier,
      isKnownTopic: async (arn) => allowedTopics.has(arn) || (await this.redis.sismember(knownTopicsKey(this.deps), arn)) === 1,
      enqueue: (m) => this.queues.snsMessage(m),
      log: this.log,
      maxAgeMs: this.config.SNS_MAX_AGE_MS,
    });
    web.get('/healthz', async (_req, res) => {
      try {
        // The shared connection queues commands while Redis is away; a health check must answer, not wait.
        await Promise.race([this.redis.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), HEALTH_TIMEOUT_MS).unref())]);
        res.status(200).json({ ok: true });
      } catch {
        res.status(503).json({ ok: false, redis: 'not answering' });
      }
    });
    if (this.sandbox && this.config.aws === 'sandbox') {
      // A tester's alarm or budget alert, signed by the sandbox SNS and delivered to this process's own POST /sns.
      const publish = this.sandbox.publishHandler(() => `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/sns`);
      web.post('/sandbox/publish', (req, res) => void publish(req, res));
    }
    if (this.config.SLACK_APP_TOKEN) await this.slack.app.start();
    // POST /sns is answered ahead of express (see snsHandler); everything else is the express app, Bolt's included.
    const server = createServer((req, res) => {
      if (isSnsRequest(req.method, req.url)) void sns(req, res);
      else web(req, res);
    });
    this.server = await new Promise<Server>((resolve) => server.listen(port, '0.0.0.0', () => resolve(server)));
    return this.server;
  }

  startWorkers(): void {
    const c = this.config;
    this.pump = new InboxPump(this.inbox, this.redis, (p) => this.queues.runCommand(p), this.log);
    this.pump.start();
    const make = <T>(name: string, fn: Processor<T>, concurrency: number) => {
      const w = new Worker<T>(name, fn, { connection: this.watched(redisConnection(c.REDIS_URL)), prefix: c.SCICOMP_PREFIX, concurrency });
      w.on('failed', (job, err) => this.log.warn({ queue: name, jobId: job?.id, err: err.message }, 'job failed'));
      w.on('error', (err) => this.log.error({ queue: name, err: err.message }, 'worker error'));
      this.workers.push(w);
    };
    make<runCommand.Payload>(
      runCommand.name,
      (job) => runCommand.process(job, { bot: this.bot, chats: this.chats, outbox: this.deps.outbox, store: this.store, audit: this.audit, policy: this.deps.policy, log: this.log, sealer: this.sealer }),
      16,
    );
    make<watchProvision.Payload>(
      watchProvision.name,
      (job, token) =>
        watchProvision.process(
          job,
          {
            catalog: this.deps.catalog,
            inventory: this.deps.inventory,
            outbox: this.deps.outbox,
            feed: this.deps.feed,
            store: this.store,
            clock: this.deps.clock,
            connect: this.deps.connect,
            minPollMs: c.WATCH_MIN_POLL_MS,
            maxPollMs: c.WATCH_MAX_POLL_MS,
            onSettled: [(w, r) => onRecordSettled(w, r, this.deps), (w, r) => reportOffboardRecord(w, r, this.deps)],
            log: this.log,
          },
          token,
        ),
      16,
    );
    make<deliverMessage.Payload>(
      deliverMessage.name,
      (job, token) =>
        deliverMessage.process(job, { chats: this.chats, store: this.store, refs: this.queues.refs, channelIntervalMs: c.CHANNEL_INTERVAL_MS, log: this.log }, token),
      32,
    );
    make<expireRequest.Payload>(expireRequest.name, (job) => expireRequest.process(job, this.deps), 4);
    make<carryOut.Payload>(carryOut.name, (job) => carryOut.process(job, this.deps), 8);
    const delivery = { chats: this.chats, store: this.store, refs: this.queues.refs, channelIntervalMs: c.CHANNEL_INTERVAL_MS, log: this.log };
    make<processSns.Payload>(processSns.name, (job) => processSns.process(job, this.deps, delivery), 32);
    make<processSns.BatchPayload>(processSns.batchName, (job) => processSns.processBatch(job, this.deps, delivery, (m) => this.queues.snsRetryAlone(m)), 16);
    make<postFeed.Payload>(postFeed.name, (job) => postFeed.process(job, { secrets: this.secrets, fetch: this.fetch, log: this.log }), 4);
    // One at a time: a reconcile is long and paced; BullMQ renews its lock while it pages.
    make<reconcileInventory.Payload>(reconcileInventory.name, (job) => reconcileInventory.process(job, this.deps), 1);
    this.inventoryScheduled = reconcileInventory.schedule(this.queues.reconcile, c.INVENTORY_RECONCILE_MS).catch((err: Error) => {
      this.log.error({ err: err.message }, 'could not schedule the inventory reconcile');
    });
  }

  async stopWorkers(): Promise<void> {
    await this.pump?.stop();
    this.pump = undefined;
    await Promise.all(this.workers.map((w) => w.close()));
    this.workers = [];
  }

  async close(): Promise<void> {
    await this.stopWorkers();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
    if (this.config.SLACK_APP_TOKEN) await this.slack?.app.stop();
    await this.queues.close();
    await this.slackChat.close();
    this.subscriber?.disconnect();
    this.redis.disconnect();
    await this.sandbox?.close();
  }
}
