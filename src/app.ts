// A running scicomp: the core wired to its Redis, queues, workers and channels, and the one HTTP server; built by compose.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { DelayedError, Worker, type Job } from 'bullmq';
import express, { type Application } from 'express';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import * as carryOut from '../jobs/carry-out.js';
import * as deliverMessage from '../jobs/deliver-message.js';
import * as expireRequest from '../jobs/expire-request.js';
import * as postFeed from '../jobs/post-feed.js';
import * as processSns from '../jobs/process-sns.js';
import * as reconcileInventory from '../jobs/reconcile-inventory.js';
import * as reconcileMutations from '../jobs/reconcile-mutations.js';
import { failedForGood, tellFailedForGood } from '../jobs/failed.js';
import { Inbox, InboxPump } from '../jobs/inbox.js';
import { Queues, redisConnection } from '../jobs/queues.js';
import * as runCommand from '../jobs/run-command.js';
import * as watchProvision from '../jobs/watch-provision.js';
import { RedisAlertState } from './adapters/redis/alert-state.js';
import { RedisApprovals } from './adapters/redis/approvals.js';
import { RedisArchives } from './adapters/redis/archives.js';
import { RedisConfirmations } from './adapters/redis/confirmations.js';
import { RedisLaunchPlans } from './adapters/redis/launch-plans.js';
import { RedisMutations } from './adapters/redis/mutations.js';
import { RedisProductParameters } from './adapters/redis/product-parameters.js';
import type { ChannelAdapter, Door } from './adapters/channel.js';
import { RedisAudit } from './adapters/redis/audit.js';
import { RedisSnoozes } from './adapters/redis/snoozes.js';
import { RedisWiring } from './adapters/redis/wiring.js';
import { RedisInventory } from './adapters/redis/inventory.js';
import { Store } from './adapters/redis/store.js';
import { RedisActors } from './adapters/redis/actors.js';
import { RedisCatalogCache } from './adapters/redis/catalog-cache.js';
import { SlackChannel } from './adapters/slack/channel.js';
import { TeamsChannel, type TeamsSettings } from './adapters/teams/channel.js';
import type { Config } from './config.js';
import { Bot, coreActions, coreForms, coreVerbs, type ActionHandler, type VerbHandlers } from './core/bot.js';
import { Channels } from './core/channel.js';
import type { CoreDeps, Feed, People } from './core/context.js';
import { Directory } from './core/directory.js';
import type { ActorRepository } from './core/repositories/actors.js';
import type { Inventory } from './core/inventory.js';
import { approvalExtensions, carryOutFailed, formForAction, reportOffboardRecord } from './core/requests.js';
import { budgetCommand, idleActions, onRecordSettled, snoozeCommand, statusWithWatch } from './core/alerts.js';
import type { AlertStateRepository } from './core/repositories/alert-state.js';
import type { ApprovalsRepository } from './core/repositories/approvals.js';
import type { ArchivesRepository } from './core/repositories/archives.js';
import type { ConfirmationsRepository } from './core/repositories/confirmations.js';
import type { LaunchPlansRepository } from './core/repositories/launch-plans.js';
import type { ProductParametersRepository } from './core/repositories/product-parameters.js';
import type { SnoozesRepository } from './core/repositories/snoozes.js';
import type { WiringRepository } from './core/repositories/wiring.js';
import { isSnsRequest, snsHandler, SnsVerifier } from './http/sns.js';
import { metricsHandler, QUEUE_BOARD_PATH, queueBoard, requireAdminToken } from './http/ops.js';
import { Metrics } from './metrics.js';
import { cachedLaunchOptions, cachedProducts } from './core/catalog-cache.js';
import { loadPolicy, warnUnknownParameters, type Policy } from './core/policy.js';
import { Sealer } from './core/sealed.js';
import { rememberSettledParameters } from './core/provisioned-parameters.js';
import { systemClock, type AlarmsPort, type BudgetsPort, type CatalogPort, type Clock, type Platform, type SecretsPort, type TopicsPort } from './core/ports.js';
import type { SandboxHooks } from './sandbox/shared.js';

/** Everything a Scicomp is built from beside its Config, resolved by compose.ts (or swapped by a test through it). */
export interface Parts {
  policy: Policy;
  catalog: CatalogPort;
  topics: TopicsPort;
  alarms: AlarmsPort;
  budgets: BudgetsPort;
  secrets: SecretsPort;
  log: Logger;
  /** Where the AWS clients already count their calls. */
  metrics: Metrics;
  /** Channels beside Slack (the console), or in place of one of the same platform. */
  channels?: ChannelAdapter[];
  /** The Teams app, when Teams is configured (compose.ts reads it from the secrets and the environment). */
  teams?: TeamsSettings;
  /** Tests serve their own signing certificate. */
  snsVerifier?: SnsVerifier;
  /** What the admin feeds post with (tests record it). */
  fetch?: typeof fetch;
  clock?: Clock;
  feed?: Feed;
  /** Alert state, snoozes and wiring other than the Redis ones (the core on its in-memory repositories). */
  alertState?: AlertStateRepository;
  snoozes?: SnoozesRepository;
  wiring?: WiringRepository;
  /** Where the provisioned products are kept (default: Redis). */
  inventory?: Inventory;
  /** Approval state other than the Redis one (the core on its in-memory repositories). */
  approvals?: ApprovalsRepository;
  confirmations?: ConfirmationsRepository;
  launchPlans?: LaunchPlansRepository;
  archives?: ArchivesRepository;
  productParameters?: ProductParametersRepository;
  /** The sandbox account's certificate and POST /sandbox/publish: used in sandbox mode only, closed with the app. */
  sandbox?: SandboxHooks;
}

const HEALTH_TIMEOUT_MS = 1000;

/** A queue's stalled-job settings: its lock as a multiple of JOB_LOCK_MS, and how many stalls it survives. */
interface Stall {
  lock: number;
  maxStalled: number;
}
/** How long closing a Redis connection may wait for its replies before it is cut. */
const QUIT_TIMEOUT_MS = 2000;

/** What a job's log lines carry beside its id: the request or message it serves and the person, where it names them. */
function jobContext(data: unknown): { requestId?: string; messageKey?: string; user?: string } {
  const d = (data ?? {}) as { requestId?: unknown; id?: unknown; MessageId?: unknown; key?: unknown; platform?: unknown; userId?: unknown; owner?: { email?: unknown } };
  const requestId = [d.requestId, d.id, d.MessageId].find((v): v is string => typeof v === 'string');
  const user = typeof d.userId === 'string' ? `${String(d.platform)}:${d.userId}` : typeof d.owner?.email === 'string' ? d.owner.email : undefined;
  return { ...(requestId ? { requestId } : {}), ...(typeof d.key === 'string' ? { messageKey: d.key } : {}), ...(user ? { user } : {}) };
}

/** Closes a connection after its pending replies (QUIT), or cuts it when Redis does not answer in time. */
async function quit(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  await Promise.race([redis.quit().catch(() => undefined), sleep(QUIT_TIMEOUT_MS, undefined, { ref: false })]);
  redis.disconnect();
}

export class Scicomp {
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly redis: Redis;
  readonly store: Store;
  readonly queues: Queues;
  readonly inbox: Inbox;
  readonly sealer: Sealer;
  private pump?: InboxPump;
  readonly audit: RedisAudit;
  readonly channels: Channels;
  /** The same channels with their inbound doors, opened by the role that takes interactions. */
  private readonly channelAdapters: ChannelAdapter[];
  readonly bot: Bot;
  readonly deps: CoreDeps;
  private policyNow: Policy;
  private workers: Worker[] = [];
  private workerConnections: Redis[] = [];
  /** Jobs being processed here, so a shutdown past its deadline can hand them back. */
  private readonly inFlight = new Map<string, { job: Job; token?: string }>();
  /** Interactions and SNS messages acked but not yet written to Redis. */
  private readonly enqueues = new Set<Promise<unknown>>();
  private draining = false;
  private closing?: Promise<void>;
  /** Settles once the inventory's reconcile is scheduled (startWorkers). */
  inventoryScheduled: Promise<void> = Promise.resolve();
  /** Settles once the reconcile of AWS mutations is scheduled (startWorkers). */
  mutationsScheduled: Promise<void> = Promise.resolve();
  private subscriber?: Redis;
  private server?: Server;
  private opened = false;

  constructor(
    readonly config: Config,
    o: Parts,
  ) {
    this.log = o.log;
    this.metrics = o.metrics;
    // The queues run on this connection: their errors are its errors, said once with them.
    const trouble = this.redisTrouble();
    this.redis = this.watched(redisConnection(config.REDIS_URL, { autoPipelining: true }), trouble);
    this.store = new Store(this.redis, config.SCICOMP_PREFIX);
    // A notification waits for one ahead of it in its topic's line longer than a dead worker's job takes to be handed on.
    this.queues = new Queues(this.redis, config.SCICOMP_PREFIX, (platform) => this.channels.chat(platform), trouble, config.FEED_INTERVAL_MS, 2 * config.JOB_LOCK_MS + 5000);
    // Every replica must hold the same data key (main.ts insists on one); only the one-process sandbox may go without.
    this.sealer = new Sealer({ get: () => o.secrets.get('dataKey'), invalidate: () => o.secrets.invalidate() }, { ephemeral: config.aws === 'sandbox' });
    this.inbox = new Inbox(this.redis, config.SCICOMP_PREFIX, this.sealer);
    const clock = o.clock ?? systemClock;
    this.audit = new RedisAudit(this.store, clock, config.SCICOMP_AUDIT_MAXLEN);
    this.policyNow = o.policy;
    this.warnLegacy(o.policy);
    const slack = new SlackChannel({
      secrets: o.secrets,
      store: this.store,
      intervalMs: config.SLACK_CHANNEL_INTERVAL_MS,
      apiUrl: config.SLACK_API_URL,
      installation: { teamId: config.SLACK_TEAM_ID, appId: config.SLACK_APP_ID },
      metrics: this.metrics,
    });
    const others = o.channels ?? [];
    const teams = o.teams && !others.some((c) => c.platform === 'teams') ? [new TeamsChannel({ settings: o.teams, store: this.store, metrics: this.metrics, log: this.log })] : [];
    this.channelAdapters = [...(others.some((c) => c.platform === 'slack') ? [] : [slack]), ...teams, ...others];
    this.channels = new Channels(this.channelAdapters);
    const actors = new RedisActors(this.store);
    this.deps = {
      catalog: o.catalog,
      inventory: o.inventory ?? new RedisInventory(this.store),
      inventoryPacing: { pagesPerSecond: config.INVENTORY_PAGES_PER_SECOND },
      outbox: this.queues.outbox,
      watcher: this.queues.watcher,
      audit: this.audit,
      feed: o.feed ?? this.queues.feedOut(o.secrets),
      clock,
      policy: () => this.policyNow,
      reloadPolicy: () => this.reloadPolicy(),
      people: this.people(actors),
      actors,
      catalogCache: new RedisCatalogCache(this.store),
      connect: { region: config.AWS_REGION, credentialProcess: config.SCICOMP_CREDENTIAL_PROCESS },
      topics: o.topics,
      alarms: o.alarms,
      budgets: o.budgets,
      alertState: o.alertState ?? new RedisAlertState(this.store),
      snoozes: o.snoozes ?? new RedisSnoozes(this.store, clock),
      wiring: o.wiring ?? new RedisWiring(this.store),
      approvals: o.approvals ?? new RedisApprovals(this.store, clock),
      confirmations: o.confirmations ?? new RedisConfirmations(this.store),
      launchPlans: o.launchPlans ?? new RedisLaunchPlans(this.store),
      archives: o.archives ?? new RedisArchives(this.store),
      productParameters: o.productParameters ?? new RedisProductParameters(this.store),
      mutations: new RedisMutations(this.store),
      snsEndpoint: config.SCICOMP_PUBLIC_URL ? `${config.SCICOMP_PUBLIC_URL.replace(/\/$/, '')}/sns` : undefined,
      snsMaxAgeMs: config.SNS_MAX_AGE_MS,
      log: this.log,
      channels: this.channels,
      sealer: this.sealer,
    };
    this.sandbox = o.sandbox;
    // Only a scicomp in sandbox mode trusts what the sandbox SNS signs.
    this.snsVerifier = o.snsVerifier ?? new SnsVerifier(config.aws === 'sandbox' && o.sandbox ? { trusted: o.sandbox.certificates } : {});
    this.fetch = o.fetch;
    const approvals = approvalExtensions({ scheduleExpiry: (id, at) => this.queues.scheduleExpiry(id, at), carrier: { carryOut: (id) => this.queues.carryOut(id) } });
    // Every verb's handler, by verb: the type insists on one for each, and hands each its own command.
    const verbs: VerbHandlers = {
      ...coreVerbs(approvals.routeApproval),
      ...approvals.verbs,
      budget: async (_cmd, ctx, deps) => ({ message: await budgetCommand(ctx, deps) }),
      // Status with the product's alarms and spend.
      status: async (cmd, ctx, deps) => ({ message: await statusWithWatch(cmd.name, ctx, deps) }),
      snooze: async (cmd, ctx, deps) => ({ message: await snoozeCommand(cmd.name, cmd.duration, ctx, deps) }),
    };
    const alertActions = Object.fromEntries(Object.entries(idleActions).map(([id, fn]): [string, ActionHandler] => [id, async (value, ctx, deps) => ({ message: await fn(value, ctx, deps) })]));
    this.bot = new Bot(this.deps, {
      verbs,
      actions: { ...coreActions(approvals.routeUpdate), ...approvals.actions, ...alertActions },
      forms: { ...coreForms(approvals.routeApproval), ...approvals.forms },
    });
    this.secrets = o.secrets;
    this.metrics.watchQueues(() => this.queues.all());
    this.metrics.watchApprovals(async () => {
      const { total, oldestAt } = await this.deps.approvals.pending(0);
      return { pending: total, oldestMs: oldestAt === undefined ? undefined : clock.now() - oldestAt };
    });
  }

  private people(actors: ActorRepository): People {
    const chat = (platform: Platform) => this.channels.require(platform).chat;
    return new Directory({ chat, actors, policy: () => this.policyNow });
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
          this.warnLegacy(p);
          this.log.info('catalog policy reloaded (announced by another process)');
        },
        (err: Error) => this.log.error({ err }, 'catalog policy NOT reloaded; the previous one stays in force'),
      );
    });
  }

  private readonly secrets: SecretsPort;
  private readonly snsVerifier: SnsVerifier;
  /** The sandbox account's hooks, in sandbox mode when this process shares the account kept in Redis. */
  readonly sandbox?: SandboxHooks;
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
        if (err.message !== last) this.log.warn({ err }, 'Redis is not answering; work waits until it is back');
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
      this.log.warn({ err }, 'could not check the catalog policy against the catalog');
      return [];
    }
  }

  /** Lines of the policy still in the layout from before people were named by email, one warning each (file:line). */
  private warnLegacy(policy: Policy): void {
    for (const w of policy.warnings) this.log.warn(w);
  }

  get policy(): Policy {
    return this.policyNow;
  }

  /** Re-reads the policy file; a bad file leaves the running policy in place and says why. */
  async reloadPolicy(): Promise<void> {
    try {
      this.policyNow = await loadPolicy(this.config.SCICOMP_POLICY);
      this.warnLegacy(this.policyNow);
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

  /** Tracks an acked write until Redis has it: a shutdown finishes these before it closes the connection. */
  private track<T>(p: Promise<T>): Promise<T> {
    this.enqueues.add(p);
    const done = () => this.enqueues.delete(p);
    void p.then(done, done);
    return p;
  }

  /** GET /healthz and GET /metrics: on the web server, and alone on a worker's (see startOps). */
  private opsRoutes(web: Application): void {
    web.get('/healthz', async (_req, res) => {
      if (this.draining) {
        res.status(503).json({ ok: false, status: 'shutting down' });
        return;
      }
      try {
        // The shared connection queues commands while Redis is away; a health check must answer, not wait.
        await Promise.race([this.redis.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), HEALTH_TIMEOUT_MS).unref())]);
        res.status(200).json({ ok: true });
      } catch {
        res.status(503).json({ ok: false, redis: 'not answering' });
      }
    });
    web.get('/metrics', metricsHandler(this.metrics, this.config.METRICS_TOKEN, this.log));
  }

  private async listen(handler: (req: IncomingMessage, res: ServerResponse) => void, port: number): Promise<Server> {
    const c = this.config;
    const server = createServer(
      {
        // Slow clients are cut off: headers within this, the whole request within that; looked for at a quarter of it.
        headersTimeout: c.HTTP_HEADERS_TIMEOUT_MS,
        requestTimeout: Math.max(c.HTTP_REQUEST_TIMEOUT_MS, c.HTTP_HEADERS_TIMEOUT_MS),
        connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(c.HTTP_HEADERS_TIMEOUT_MS / 4))),
        // Longer than a load balancer's idle timeout (60 s on AWS): it, not us, closes idle connections, so none races a request.
        keepAliveTimeout: 65_000,
      },
      (req, res) => {
        // Closing: each connection ends after its answer, so the server can close.
        if (this.draining) res.setHeader('connection', 'close');
        handler(req, res);
      },
    );
    server.maxConnections = c.HTTP_MAX_CONNECTIONS;
    this.server = await new Promise<Server>((resolve) => server.listen(port, '0.0.0.0', () => resolve(server)));
    return this.server;
  }

  /**
   * The one HTTP server: POST /sns, GET /healthz and /metrics, the queue dashboard, and each channel's routes (POST
   * /slack/events); the channels start taking interactions (Socket Mode, the console's prompt).
   */
  async startWeb(port = this.config.PORT): Promise<Server> {
    const web = express();
    const allowedTopics = new Set((this.config.SCICOMP_SNS_TOPICS ?? '').split(',').map((t) => t.trim()).filter(Boolean));
    const sns = snsHandler({
      verifier: this.snsVerifier,
      isKnownTopic: async (arn) => allowedTopics.has(arn) || (await this.deps.alertState.isKnownTopic(arn)),
      enqueue: (m) => this.track(this.queues.snsMessage({ ...m, receivedAt: Date.now() })),
      log: this.log,
      maxAgeMs: this.config.SNS_MAX_AGE_MS,
    });
    // The channels' routes first, the ones every person's click waits on.
    await this.openChannels(web);
    this.opsRoutes(web);
    if (this.sandbox && this.config.aws === 'sandbox') {
      // A tester's alarm or budget alert, signed by the sandbox SNS and delivered to this process's own POST /sns.
      const publish = this.sandbox.publishHandler(() => this.ownSnsUrl());
      web.post('/sandbox/publish', (req, res) => void publish(req, res));
    }
    // The queue dashboard exists only with an admin token, and only behind it.
    if (this.config.ADMIN_TOKEN) web.use(QUEUE_BOARD_PATH, requireAdminToken(this.config.ADMIN_TOKEN), queueBoard(this.queues.all(), this.config.ADMIN_QUEUES_WRITE));
    // POST /sns is the server's first route, on node's own request and response: no body parser reads an SNS body
    // before its handler does, and express's routing alone would cost an alert burst more than its signature checks.
    return this.listen((req, res) => {
      if (isSnsRequest(req.method, req.url)) void sns(req, res);
      else web(req, res);
    }, port);
  }

  /** This process's own POST /sns, where the sandbox SNS delivers what a tester publishes. */
  ownSnsUrl(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/sns`;
  }

  /** What every channel hands interactions to; `web` is the server its routes go on. */
  private door(web?: Application): Door {
    return {
      web,
      enqueue: (p) => this.track(this.inbox.push(p)),
      formForAction: (platform, userId, actionId, value) => formForAction(actionId, value, { platform, userId }, this.deps),
      audit: this.audit,
      log: this.log,
    };
  }

  private async openChannels(web?: Application): Promise<void> {
    if (this.opened) return;
    this.opened = true;
    const door = this.door(web);
    for (const channel of this.channelAdapters) await channel.open(door);
  }

  /** A worker's HTTP port: /healthz and /metrics only (its job, Slack and AWS metrics live in its own process). */
  async startOps(port = this.config.PORT): Promise<Server> {
    const web = express();
    this.opsRoutes(web);
    return this.listen(web, port);
  }

  startWorkers(): void {
    const c = this.config;
    this.pump = new InboxPump(this.inbox, this.redis, (p) => this.queues.runCommand(p), this.log);
    this.pump.start();
    /**
     * One worker per queue. Each job runs with a logger bound to it (queue, job id, request id, user), is timed for
     * /metrics, and is known to be in flight until it returns, for a shutdown that has to hand it back.
     */
    const make = <T>(name: string, fn: (job: Job<T>, token: string | undefined, log: Logger) => Promise<unknown>, concurrency: number, stall: Stall) => {
      const connection = this.watched(redisConnection(c.REDIS_URL));
      this.workerConnections.push(connection);
      const processor = async (job: Job<T>, token?: string) => {
        const log = this.log.child({ queue: name, jobId: job.id, ...jobContext(job.data) });
        const started = performance.now();
        const slot = `${name}/${job.id}`;
        this.inFlight.set(slot, { job, token });
        let outcome: 'completed' | 'failed' | 'delayed' = 'failed';
        try {
          const result = await fn(job, token, log);
          outcome = 'completed';
          return result;
        } catch (err) {
          if (err instanceof DelayedError) outcome = 'delayed';
          throw err;
        } finally {
          this.inFlight.delete(slot);
          this.metrics.jobFinished(name, outcome, (performance.now() - started) / 1000);
        }
      };
      // A worker that stops renewing its lock for lockDuration is taken for dead; every stalledInterval each worker looks.
      const lockDuration = c.JOB_LOCK_MS * stall.lock;
      // A job a stall check hands back waits for the next fetch: a worker blocks at most a check's interval (5 s by default).
      const drainDelay = Math.min(5, c.JOB_LOCK_MS / 1000);
      const w = new Worker<T>(name, processor, { connection, prefix: c.SCICOMP_PREFIX, concurrency, lockDuration, stalledInterval: c.JOB_LOCK_MS, maxStalledCount: stall.maxStalled, drainDelay });
      w.on('failed', (job, err) => {
        this.log.warn({ queue: name, jobId: job?.id, ...jobContext(job?.data), err }, 'job failed');
        if (!failedForGood(job)) return;
        tellFailedForGood(name, job, err, { outbox: this.deps.outbox, feed: this.deps.feed, channels: this.channels, carryFailed: (id, why) => carryOutFailed(id, why, { ...this.deps, log: this.log }) }).catch((e: Error) =>
          this.log.error({ queue: name, jobId: job.id, err: e }, 'could not tell anyone of a job that failed for good'),
        );
      });
      w.on('error', (err) => this.log.error({ queue: name, err }, 'worker error'));
      this.workers.push(w);
    };
    make<runCommand.Payload>(
      runCommand.name,
      (job, _token, log) => runCommand.process(job, { bot: this.bot, channels: this.channels, outbox: this.deps.outbox, people: this.deps.people, audit: this.audit, log, sealer: this.sealer }),
      16,
      // Twice stalled is a command that kills its workers: failed (its person told) rather than a third; its AWS calls are journaled.
      { lock: 1, maxStalled: 1 },
    );
    make<watchProvision.Payload>(
      watchProvision.name,
      (job, token, log) =>
        watchProvision.process(
          job,
          {
            catalog: this.deps.catalog,
            inventory: this.deps.inventory,
            outbox: this.deps.outbox,
            feed: this.deps.feed,
            archives: this.deps.archives,
            clock: this.deps.clock,
            connect: this.deps.connect,
            minPollMs: c.WATCH_MIN_POLL_MS,
            maxPollMs: c.WATCH_MAX_POLL_MS,
            onSettled: [(w, r) => onRecordSettled(w, r, { ...this.deps, log }), (w, r) => reportOffboardRecord(w, r, { ...this.deps, log }), (w, r) => rememberSettledParameters(w, r, this.deps)],
            mutations: this.deps.mutations,
            channels: this.channels,
            log,
          },
          token,
        ),
      16,
      // Polling is read-only and its messages keyed: redone freely, since giving up leaves an owner without news.
      { lock: 1, maxStalled: 5 },
    );
    const delivery = (log: Logger): deliverMessage.Deps => ({ channels: this.channels, store: this.store, refs: this.queues.refs, order: this.queues.order, leaseMs: c.OUTBOX_LEASE_MS, log, metrics: this.metrics, feed: this.deps.feed });
    // A redelivery is keyed (the outbox), and giving up loses a message: a few stalls are redone.
    make<deliverMessage.Payload>(deliverMessage.name, (job, token, log) => deliverMessage.process(job, delivery(log), token), 32, { lock: 1, maxStalled: 3 });
    // Expiring a request is decided once in Redis: redone freely.
    make<expireRequest.Payload>(expireRequest.name, (job, _token, log) => expireRequest.process(job, { ...this.deps, log }), 4, { lock: 1, maxStalled: 3 });
    // Its AWS calls carry idempotency tokens and are journaled: redoing one is safe.
    make<carryOut.Payload>(carryOut.name, (job, _token, log) => carryOut.process(job, { ...this.deps, log }), 8, { lock: 1, maxStalled: 3 });
    // Each alert is applied once per MessageId: redone freely.
    make<processSns.Payload>(processSns.name, (job, _token, log) => processSns.process(job, { ...this.deps, log }, delivery(log), this.queues.snsLine), 32, { lock: 1, maxStalled: 3 });
    make<processSns.BatchPayload>(processSns.batchName, (job, _token, log) => processSns.processBatch(job, { ...this.deps, log }, delivery(log), (m) => this.queues.snsRetryAlone(m), this.queues.snsLine), 16, { lock: 1, maxStalled: 3 });
    // A digest is posted once per interval; a lost one is folded into the next.
    make<postFeed.Payload>(postFeed.name, (job, token, log) => postFeed.process(job, { secrets: this.secrets, fetch: this.fetch, digest: this.queues.digest, log }, token), 4, { lock: 1, maxStalled: 2 });
    // One at a time: a reconcile is long and paced; BullMQ renews its lock while it pages; the next run redoes a dead one.
    make<reconcileInventory.Payload>(reconcileInventory.name, (job, _token, log) => reconcileInventory.process(job, { ...this.deps, log }), 1, { lock: 2, maxStalled: 1 });
    // One at a time, short; the next run redoes a dead one.
    make<reconcileMutations.Payload>(
      reconcileMutations.name,
      (job, _token, log) => reconcileMutations.process(job, { ...this.deps, log, watchQueue: this.queues.watch, graceMs: c.MUTATION_RECONCILE_MS }),
      1,
      { lock: 1, maxStalled: 1 },
    );
    this.mutationsScheduled = reconcileMutations.schedule(this.queues.mutations, c.MUTATION_RECONCILE_MS).catch((err: Error) => {
      this.log.error({ err }, 'could not schedule the reconcile of AWS mutations');
    });
    this.inventoryScheduled = reconcileInventory.schedule(this.queues.reconcile, c.INVENTORY_RECONCILE_MS).catch((err: Error) => {
      this.log.error({ err }, 'could not schedule the inventory reconcile');
    });
  }

  /**
   * Stops taking jobs and lets those in hand finish, until `deadline` (ms since epoch); jobs still running then are
   * handed back to their queue's wait list, so another worker takes them now rather than when their lock expires.
   */
  async stopWorkers(deadline = Date.now() + this.config.SHUTDOWN_TIMEOUT_MS): Promise<void> {
    await this.pump?.stop(deadline);
    this.pump = undefined;
    const workers = this.workers;
    this.workers = [];
    const closed = Promise.all(workers.map((w) => w.close())).then(() => true, () => true);
    const finished = await Promise.race([closed, sleep(Math.max(0, deadline - Date.now()), false, { ref: false })]);
    if (!finished) {
      const left = [...this.inFlight.values()];
      this.log.warn({ jobs: left.map(({ job }) => `${job.queueName}/${job.id}`) }, 'shutdown deadline passed: handing the jobs still running back to their queues');
      await Promise.all(left.map(({ job, token }) => job.moveToWait(token).catch((err: unknown) => this.log.warn({ err, jobId: job.id }, 'could not hand a job back; it returns when its lock expires'))));
      this.inFlight.clear();
      // Their processors may still be running: nothing waits for them (the process is about to exit).
    }
    const connections = this.workerConnections;
    this.workerConnections = [];
    await Promise.all(connections.map(quit));
  }

  /**
   * Stops taking work and finishes what is in hand, within SHUTDOWN_TIMEOUT_MS: /healthz says 503 at once, the web
   * server takes no new connections (after SHUTDOWN_DRAIN_MS, for a load balancer to notice), workers finish or hand
   * back their jobs, acked interactions reach Redis, and only then are the connections closed. Safe to call twice.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const deadline = Date.now() + this.config.SHUTDOWN_TIMEOUT_MS;
    this.draining = true;
    await Promise.all([this.stopServer(deadline), this.stopWorkers(deadline)]);
    for (const channel of this.channelAdapters) await channel.stop();
    await Promise.allSettled([...this.enqueues]);
    await this.queues.close();
    for (const channel of this.channelAdapters) await channel.close();
    await this.sandbox?.close();
    if (this.subscriber) await quit(this.subscriber);
    await quit(this.redis);
  }

  private async stopServer(deadline: number): Promise<void> {
    const server = this.server;
    if (!server) return;
    if (this.config.SHUTDOWN_DRAIN_MS > 0) await sleep(Math.min(this.config.SHUTDOWN_DRAIN_MS, Math.max(0, deadline - Date.now())), undefined, { ref: false });
    const closed = new Promise<void>((r) => server.close(() => r()));
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), Math.max(0, deadline - Date.now()));
    timer.unref();
    await closed;
    clearTimeout(timer);
  }
}
