// Queue names, the Redis connection BullMQ needs, and the producers (outbox, watcher) the core enqueues through.
import { createHash } from 'node:crypto';
import { Queue, type Job, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { Feed, FeedEvent, Outbox, OutboxItem, Watcher, WatchRequest } from '../src/core/context.js';
import type { ChatPort, Platform, SecretsPort } from '../src/core/ports.js';
import type { SnsMessage } from '../src/http/sns.js';
import { Store } from '../src/adapters/redis/store.js';
import { FeedDigest } from './feed-digest.js';
import { OutboxOrder } from './outbox-order.js';
import { RefStore } from './outbox-refs.js';
import { SnsLine } from './sns-line.js';
import { TurnBatch } from './turn-batch.js';
import type { Payload as RunCommandPayload } from './run-command.js';

export const QUEUE = {
  command: 'run-command',
  watch: 'watch-provision',
  deliver: 'deliver-message',
  expire: 'expire-request',
  carry: 'carry-out',
  sns: 'process-sns',
  /** Its own queue: a worker from before batching, reading a batch as one message, would drop it during a rollout. */
  snsBatch: 'process-sns-batch',
  feed: 'post-feed',
  reconcile: 'reconcile-inventory',
  mutations: 'reconcile-mutations',
} as const;

/** Commands that block their connection: never batched with others (duplicates of a pipelined connection inherit this). */
const BLOCKING = ['blpop', 'brpop', 'blmove', 'brpoplpush', 'bzpopmin', 'bzpopmax', 'blmpop', 'bzmpop', 'xread', 'xreadgroup', 'wait'];

export function redisConnection(url: string, o: { autoPipelining?: boolean } = {}): Redis {
  // BullMQ workers block on Redis; null lets a command wait out a Redis restart instead of failing.
  // Auto-pipelining sends the commands of one tick in one write: the shared connection's many small commands cost one syscall.
  return new Redis(url, { maxRetriesPerRequest: null, enableOfflineQueue: true, enableAutoPipelining: o.autoPipelining ?? false, autoPipeliningIgnoredCommands: BLOCKING });
}

/** BullMQ job ids may not contain ":"; hashing also bounds their length. */
export function jobIdFor(kind: string, key: string): string {
  return `${kind}-${createHash('sha256').update(key).digest('base64url').slice(0, 32)}`;
}

/**
 * An SNS message, when it reached POST /sns (ms), so alert latency can be measured to the chat message, and a
 * notification's place in its topic's line (µs by Redis's clock; see sns-line).
 */
export type ReceivedSnsMessage = SnsMessage & { receivedAt?: number; lineAt?: number };

/** At most this many SNS messages share a job (a notification is at most 256 KB; an alarm's is about 1.5 KB). */
const SNS_BATCH_MAX = 100;
/** A larger message (SNS allows 256 KB) gets a job of its own, so a batch's job stays small. */
const SNS_BATCH_MESSAGE_MAX = 16 * 1024;

const KEEP: JobsOptions = {
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

export class Queues {
  readonly command: Queue;
  readonly watch: Queue;
  readonly deliver: Queue;
  readonly expire: Queue;
  readonly carry: Queue;
  readonly sns: Queue;
  readonly snsBatchQueue: Queue;
  readonly feed: Queue;
  readonly reconcile: Queue;
  readonly mutations: Queue;
  readonly refs: RefStore;
  /** Each conversation's messages in the order they were produced. */
  readonly order: OutboxOrder;
  /** The admin feeds' digests, posted by post-feed. */
  readonly digest: FeedDigest;
  /** Each SNS topic's notifications in the order they reached us. */
  readonly snsLine: SnsLine;

  constructor(
    readonly connection: Redis,
    readonly prefix: string,
    chat: (platform: Platform) => ChatPort | undefined = () => undefined,
    /** What the queues' errors go to; BullMQ prints an error no one listens for to the console, stack and all. */
    onError: (err: Error) => void = () => {},
    /** At most one admin feed post per this interval. */
    feedIntervalMs = 10_000,
    /** How long a notification waits for one taken before it whose job may have died (see SnsLine). */
    snsPassOverMs = 65_000,
  ) {
    const opts = { connection, prefix };
    this.command = new Queue(QUEUE.command, opts);
    this.watch = new Queue(QUEUE.watch, opts);
    this.deliver = new Queue(QUEUE.deliver, opts);
    this.expire = new Queue(QUEUE.expire, opts);
    this.carry = new Queue(QUEUE.carry, opts);
    this.sns = new Queue(QUEUE.sns, opts);
    this.snsBatchQueue = new Queue(QUEUE.snsBatch, opts);
    this.feed = new Queue(QUEUE.feed, opts);
    this.reconcile = new Queue(QUEUE.reconcile, opts);
    this.mutations = new Queue(QUEUE.mutations, opts);
    for (const q of this.all()) q.on('error', onError);
    this.refs = new RefStore(new Store(connection, prefix), this.deliver, chat);
    this.order = new OutboxOrder(new Store(connection, prefix), this.deliver);
    this.digest = new FeedDigest(new Store(connection, prefix), feedIntervalMs);
    this.snsLine = new SnsLine(new Store(connection, prefix), snsPassOverMs);
  }

  all(): Queue[] {
    return [this.command, this.watch, this.deliver, this.expire, this.carry, this.sns, this.snsBatchQueue, this.feed, this.reconcile, this.mutations];
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((q) => q.close()));
  }

  readonly outbox: Outbox = {
    permalink: (key: string) => this.refs.permalink(key),
    send: async (item: OutboxItem) => {
      // Numbered first, then queued: a producer that dies in between leaves a number with no job, which the messages
      // after it pass over in time (see OutboxOrder.passOverStale); numbered after, a message could run unnumbered.
      const seq = await this.order.assign(item);
      await this.deliver.add('deliver', { ...item, seq }, {
        ...KEEP,
        jobId: jobIdFor('msg', item.key),
        attempts: 12,
        backoff: { type: 'exponential', delay: 1000 },
      });
    },
  };

  readonly watcher: Watcher = {
    watch: async (w: WatchRequest) => {
      await this.watch.add('watch', { ...w, polls: 0 }, {
        ...KEEP,
        jobId: jobIdFor('watch', w.recordId),
        attempts: 20,
        backoff: { type: 'exponential', delay: 2000 },
      });
    },
  };

  async scheduleExpiry(id: string, atMs: number): Promise<void> {
    await this.expire.add('expire', { id }, { ...KEEP, jobId: jobIdFor('expire', id), delay: Math.max(0, atMs - Date.now()), attempts: 10, backoff: { type: 'exponential', delay: 5000 } });
  }

  async carryOut(id: string): Promise<void> {
    await this.carry.add('carry', { id }, { ...KEEP, jobId: jobIdFor('carry', id), attempts: 10, backoff: { type: 'exponential', delay: 2000 } });
  }

  /**
   * SNS delivers at least once, and alarms come in bursts: the notifications that arrive in one turn of the event loop
   * become one job. Alone, a message's job id is its MessageId; in a batch, each message is applied under its MessageId
   * (see process-sns), so a redelivery is one alert either way. Resolves once Redis holds the job.
   */
  snsMessage(m: ReceivedSnsMessage): Promise<void> {
    if (m.Message.length <= SNS_BATCH_MESSAGE_MAX) return this.snsBatch.push(m);
    return this.snsLine.join([m]).then(([inLine]) => this.snsOne(inLine!)).then(() => undefined);
  }

  private readonly snsBatch = new TurnBatch<ReceivedSnsMessage>(SNS_BATCH_MAX, async (batch) => {
    const unique = await this.snsLine.join([...new Map(batch.map((m) => [m.MessageId, m])).values()]);
    if (unique.length === 1) return void (await this.snsOne(unique[0]!));
    // A batch is up to 100 messages: few are kept once done (nothing dedupes by a batch's id; see process-sns).
    await this.snsBatchQueue.add('sns-batch', { batch: unique }, { ...KEEP, removeOnComplete: { age: 3600, count: 100 }, jobId: jobIdFor('snsb', unique.map((m) => m.MessageId).join('\n')), attempts: 10, backoff: { type: 'exponential', delay: 1000 } });
  });

  /** One message in a job of its own, its MessageId the job id. */
  async snsOne(m: ReceivedSnsMessage): Promise<Job> {
    return this.sns.add('sns', m, { ...KEEP, jobId: jobIdFor('sns', m.MessageId), attempts: 10, backoff: { type: 'exponential', delay: 1000 } });
  }

  /**
   * How a batch hands on a message that failed in it: in a job of its own, with its own retries. A job of that id that
   * failed for good before (it is kept a week) is run again, not left as it is.
   */
  async snsRetryAlone(m: ReceivedSnsMessage): Promise<void> {
    const job = await this.snsOne(m);
    if (await job.isFailed()) await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
  }

  /**
   * The admin feeds: each event joins its webhook's digest, posted at most once per interval (see feed-digest); a feed
   * with no URL configured costs nothing.
   */
  feedOut(secrets: SecretsPort): Feed {
    const digest = this.digest;
    // A Secrets Manager fault must not fail the alert or launch that publishes: queue the post and let post-feed retry it.
    const configured = (secret: 'slackFeedWebhookUrl' | 'teamsFeedWebhookUrl') => secrets.get(secret).then(Boolean, () => true);
    return {
      publish: async (event: FeedEvent) => {
        for (const [target, secret] of [['slack', 'slackFeedWebhookUrl'], ['teams', 'teamsFeedWebhookUrl']] as const) {
          if (!(await configured(secret))) continue;
          await digest.add(this.feed, target, event, { ...KEEP, attempts: 15, backoff: { type: 'exponential', delay: 5000 } });
        }
      },
    };
  }

  async runCommand(payload: RunCommandPayload): Promise<void> {
    await this.command.add('run', payload, {
      ...KEEP,
      // Kept an hour, not a day: long enough for the job id to absorb an inbox entry redelivered after a pump died
      // (30 s) or a platform's retry, and no longer than that holding even a sealed copy of what the user typed.
      removeOnComplete: { age: 3600, count: 10_000 },
      jobId: jobIdFor('cmd', payload.requestId),
      attempts: 5,
      backoff: { type: 'exponential', delay: 1000 },
    });
  }
}
