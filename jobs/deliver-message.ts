// The outbox: every outbound chat message, posted once, at most one per second per channel, through 429s and 5xx.
import { DelayedError, UnrecoverableError, type Job, type Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { Store } from '../src/adapters/redis/store.js';
import type { OutboxItem } from '../src/core/context.js';
import { UpstreamError } from '../src/core/errors.js';
import type { Address, ChatPort, Platform } from '../src/core/ports.js';
import { jobIdFor, QUEUE } from './queues.js';

export const name = QUEUE.deliver;
export type Payload = OutboxItem;

export interface Deps {
  chats: Partial<Record<Platform, ChatPort>>;
  store: Store;
  queue: Queue;
  channelIntervalMs: number;
  log: Logger;
}

const SENT_TTL_MS = 7 * 24 * 3600_000;
const REF_TTL_MS = 30 * 24 * 3600_000;
const PENDING_STATES = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);

/** Platform rate limits are per conversation; a private reply (response URL) has none of its own. */
function channelOf(to: Address): string | undefined {
  if (to.kind === 'user') return `${to.platform}:user:${to.userId}`;
  if (to.kind === 'channel') return `${to.platform}:channel:${to.channel}`;
  return undefined;
}

async function later(job: Job, token: string | undefined, ms: number): Promise<never> {
  await job.moveToDelayed(Date.now() + Math.max(ms, 1), token);
  throw new DelayedError();
}

export async function process(job: Job<Payload>, deps: Deps, token?: string): Promise<string> {
  const item = job.data;
  const { store } = deps;
  const sentKey = store.key('outbox', 'sent', jobIdFor('msg', item.key));
  if (await store.redis.exists(sentKey)) return 'duplicate';
  const chat = deps.chats[item.to.platform];
  if (!chat) throw new UnrecoverableError(`no chat adapter for ${item.to.platform}`);

  const channel = channelOf(item.to);
  const slotKey = channel ? store.key('outbox', 'slot', channel) : undefined;
  if (slotKey && !(await store.claim(slotKey, deps.channelIntervalMs))) {
    return later(job, token, await store.redis.pttl(slotKey));
  }

  try {
    const target = item.replaces ?? item.key;
    const refKey = store.key('outbox', 'ref', jobIdFor('msg', target));
    const ref = item.replaces ? await store.redis.get(refKey) : null;
    if (ref) {
      await chat.update(ref, item.message);
    } else {
      if (item.replaces) {
        // The message to replace is still on its way: wait for it rather than post a second one.
        const original = await deps.queue.getJob(jobIdFor('msg', item.replaces));
        if (original && PENDING_STATES.has(await original.getState())) {
          if (slotKey) await store.del(slotKey);
          return later(job, token, deps.channelIntervalMs);
        }
      }
      const posted = await chat.post(item.to, item.message);
      await store.redis.set(refKey, posted.ref, 'PX', REF_TTL_MS);
    }
    await store.redis.set(sentKey, '1', 'PX', SENT_TTL_MS);
    return ref ? 'updated' : 'posted';
  } catch (err) {
    if (err instanceof UpstreamError && err.retryAfterMs !== undefined) {
      // Honour Retry-After for the whole channel, and wait without spending an attempt.
      if (slotKey) await store.redis.set(slotKey, '429', 'PX', err.retryAfterMs);
      deps.log.warn({ channel, retryAfterMs: err.retryAfterMs }, 'chat platform rate limited a message; delaying it');
      return later(job, token, err.retryAfterMs);
    }
    if (err instanceof UpstreamError && err.retryable) throw err;
    if (err instanceof DelayedError) throw err;
    deps.log.error({ err: { message: (err as Error).message, name: (err as Error).name }, to: item.to.kind }, 'message cannot be delivered');
    throw new UnrecoverableError((err as Error).message);
  }
}
