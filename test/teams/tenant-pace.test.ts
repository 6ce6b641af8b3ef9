// Teams' limit per app per tenant (50 sends a second, every conversation together) is kept by the outbox: a burst into
// many conversations, each within its own pace, is spread over the seconds it needs, nothing lost or sent twice.
import { randomBytes } from 'node:crypto';
import { Worker, type Job } from 'bullmq';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { process as deliverJob, type Deps, type Payload } from '../../jobs/deliver-message.js';
import { QUEUE, Queues, redisConnection } from '../../jobs/queues.js';
import { Store } from '../../src/adapters/redis/store.js';
import { TEAMS_PACING, teamsPacing } from '../../src/adapters/teams/pacing.js';
import { Channels } from '../../src/core/channel.js';
import { UpstreamError } from '../../src/core/errors.js';
import { eventually } from '../support/harness.js';
import { RecordingChat } from '../support/recording-channel.js';
import { REDIS_URL } from '../support/redis.js';

const BURST = 120;
const TENANT_LIMIT = TEAMS_PACING.tenant[0]!.limit;
const app = { appId: 'app-pace', tenantId: 'tenant-pace' };

const redis = redisConnection(REDIS_URL);
const workerConnection = redisConnection(REDIS_URL);
const store = new Store(redis, `tpace${randomBytes(4).toString('hex')}`);
const queues = new Queues(redis, store.prefix);
/** Teams as recorded, answering 429 with a Retry-After once when told to. */
class ThrottledChat extends RecordingChat {
  refuseNextMs?: number;
  refusedAt?: number;

  override async post(...args: Parameters<RecordingChat['post']>): ReturnType<RecordingChat['post']> {
    if (this.refuseNextMs !== undefined) {
      const ms = this.refuseNextMs;
      this.refuseNextMs = undefined;
      this.refusedAt = Date.now();
      throw new UpstreamError('Teams: 429 Too Many Requests', true, ms);
    }
    return super.post(...args);
  }
}
const chat = new ThrottledChat('teams');
const deps: Deps = {
  channels: new Channels([{ platform: 'teams', chat, pacing: teamsPacing(500, app), commandText: (w) => w }]),
  store,
  refs: queues.refs,
  order: queues.order,
  log: pino({ level: 'silent' }),
};
// As many workers as the app runs for the outbox.
const worker = new Worker<Payload>(QUEUE.deliver, (job: Job<Payload>, token?: string) => deliverJob(job, deps, token), { connection: workerConnection, prefix: store.prefix, concurrency: 32 });

afterAll(async () => {
  await worker.close();
  await queues.close();
  const keys = await redis.keys(`${store.prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  workerConnection.disconnect();
});

/** The most sends in any one-second window (a window ending at each send). */
function busiestSecond(at: number[]): number {
  const sorted = [...at].sort((a, b) => a - b);
  return Math.max(...sorted.map((t) => sorted.filter((s) => s > t - 1000 && s <= t).length));
}

describe('a burst of Teams messages into many conversations', () => {
  it('keeps the tenant’s 50 sends a second, and sends every message once', async () => {
    const started = Date.now();
    // One message into each of many people's chats: no conversation's own pace holds any of them back.
    await Promise.all(Array.from({ length: BURST }, (_, i) => queues.outbox.send({ key: `burst:${i}`, to: { platform: 'teams', kind: 'user', userId: `user-${i}` }, message: { text: `burst ${i}` } })));
    await eventually(() => chat.posts.length >= BURST || undefined, 'the whole burst', 20_000);
    // Every job done: nothing still waiting to send a second copy.
    await eventually(async () => {
      const counts = await queues.deliver.getJobCounts('active', 'waiting', 'delayed', 'prioritized');
      return Object.values(counts).every((n) => n === 0);
    }, 'the outbox to drain');

    const texts = chat.posts.map((p) => p.message.text);
    expect(texts).toHaveLength(BURST);
    expect(new Set(texts).size).toBe(BURST);
    expect(busiestSecond(chat.posts.map((p) => p.at))).toBeLessThanOrEqual(TENANT_LIMIT);
    // And it is spread, not stalled: 120 at 50 a second take a little over two seconds.
    expect(Math.max(...chat.posts.map((p) => p.at)) - started).toBeLessThan(10_000);
  });

  it('holds every conversation of the tenant for a 429’s Retry-After, then sends the refused message once', async () => {
    const RETRY_AFTER_MS = 1500;
    chat.refuseNextMs = RETRY_AFTER_MS;
    const to = (userId: string) => ({ platform: 'teams' as const, kind: 'user' as const, userId });
    await queues.outbox.send({ key: 'throttled:1', to: to('throttled'), message: { text: 'refused once' } });
    const refusedAt = await eventually(() => chat.refusedAt, 'the 429');
    // Another person's chat: its own pace is free, the tenant's is held.
    await queues.outbox.send({ key: 'throttled:2', to: to('bystander'), message: { text: 'after the pause' } });
    const after = await eventually(() => chat.posts.find((p) => p.message.text === 'after the pause'), 'the bystander’s message');
    const refused = await eventually(() => chat.posts.find((p) => p.message.text === 'refused once'), 'the refused message');
    // A few ms for the clocks of Redis and of this process, which are the same machine's.
    expect(after.at - refusedAt).toBeGreaterThanOrEqual(RETRY_AFTER_MS - 20);
    expect(refused.at - refusedAt).toBeGreaterThanOrEqual(RETRY_AFTER_MS - 20);
    expect(chat.posts.filter((p) => p.message.text === 'refused once')).toHaveLength(1);
  });
});
