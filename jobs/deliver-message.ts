// The outbox: every outbound chat message, posted once, at most one per second per channel, through 429s and 5xx.
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Store } from '../src/adapters/redis/store.js';
import type { OutboxItem } from '../src/core/context.js';
import { UpstreamError } from '../src/core/errors.js';
import type { Address, ChatPort, Platform } from '../src/core/ports.js';
import { RefStore } from './outbox-refs.js';
import { jobIdFor, QUEUE } from './queues.js';

export const name = QUEUE.deliver;
export type Payload = OutboxItem;

export interface Deps {
  chats: Partial<Record<Platform, ChatPort>>;
  store: Store;
  refs: RefStore;
  channelIntervalMs: number;
  log: Logger;
}

const SENT_TTL_MS = 7 * 24 * 3600_000;

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
    const { refs } = deps;
    const deps_ = [item.replaces, item.threadOf, item.linkTo].filter((k): k is string => k !== undefined);
    // A message this one depends on is still on its way: wait for it rather than post out of order.
    for (const k of deps_) {
      if (!(await refs.get(k)) && (await refs.pending(k))) {
        if (slotKey) await store.del(slotKey);
        return later(job, token, deps.channelIntervalMs);
      }
    }
    const replaced = item.replaces ? await refs.get(item.replaces) : undefined;
    const parent = item.threadOf ? await refs.get(item.threadOf) : undefined;
    const link = item.linkTo ? await refs.permalink(item.linkTo) : undefined;
    const message = link ? { ...item.message, context: [...(item.message.context ?? []), `Link: ${link}`] } : item.message;
    if (replaced) {
      await chat.update(replaced.ref, message);
    } else {
      const posted = await chat.post(item.to, message, parent ? { thread: parent.ref } : undefined);
      await refs.set(item.replaces ?? item.key, { ...posted, platform: item.to.platform });
    }
    await store.redis.set(sentKey, '1', 'PX', SENT_TTL_MS);
    return replaced ? 'updated' : 'posted';
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
