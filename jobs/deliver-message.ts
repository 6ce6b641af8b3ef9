// The outbox: every outbound chat message, posted once, at its channel's pace per conversation, through 429s and 5xx.
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Store } from '../src/adapters/redis/store.js';
import type { Channels } from '../src/core/channel.js';
import { announcedKey, type OutboxItem } from '../src/core/context.js';
import { UpstreamError } from '../src/core/errors.js';
import type { Address } from '../src/core/ports.js';
import type { Metrics } from '../src/metrics.js';
import { RefStore } from './outbox-refs.js';
import { jobIdFor, QUEUE } from './queues.js';

export const name = QUEUE.deliver;
export type Payload = OutboxItem;

export interface Deps {
  /** Each platform's chat, and its pacing: at most one message per conversation per its interval. */
  channels: Pick<Channels, 'get'>;
  store: Store;
  refs: RefStore;
  log: Logger;
  metrics?: Pick<Metrics, 'alertDelivered'>;
}

const SENT_TTL_MS = 7 * 24 * 3600_000;

/** Platform rate limits are per conversation; a private reply (response URL) has none of its own. */
function channelOf(to: Address): string | undefined {
  if (to.kind === 'user') return `${to.platform}:user:${to.userId}`;
  if (to.kind === 'channel') return `${to.platform}:channel:${to.channel}`;
  return undefined;
}

/** How long one attempt may hold a message: longer than a Slack call may take (the client gives up after 30 s). */
const SENDING_LEASE_MS = 120_000;

/**
 * In one round trip: -1 if the message was sent already; else how many ms until it may be sent, because another attempt
 * holds it (a redelivered SNS message in another job) or the channel's slot is taken; else 0: the message and the
 * channel's slot (if it has one) are now this attempt's. KEYS: sent marker, sending lease [, channel slot]. ARGV: slot
 * length, lease length.
 */
const BEGIN = `
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local held = redis.call('PTTL', KEYS[2])
if held > 0 then return held end
if KEYS[3] ~= nil and not redis.call('SET', KEYS[3], '1', 'PX', ARGV[1], 'NX') then
  local t = redis.call('PTTL', KEYS[3])
  if t < 1 then t = 1 end
  return t
end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
return 0
`;
function begin(store: Store, sentKey: string, sendingKey: string, slotKey: string | undefined, intervalMs: number): Promise<number> {
  return store.script(BEGIN, slotKey ? [sentKey, sendingKey, slotKey] : [sentKey, sendingKey], [intervalMs, SENDING_LEASE_MS]);
}

export type Outcome =
  | { done: 'posted' | 'updated' | 'duplicate' | 'superseded' }
  /** Not now: the channel's slot is taken, a message this one depends on is on its way, or the platform said 429. */
  | { laterMs: number };

/** One attempt at one message. Throws what the platform threw (other than a 429, which becomes `laterMs`). */
export async function deliver(item: OutboxItem, deps: Deps): Promise<Outcome> {
  const { store, refs } = deps;
  const id = jobIdFor('msg', item.key);
  const sentKey = store.key('outbox', 'sent', id);
  const sendingKey = store.key('outbox', 'sending', id);
  const platform = deps.channels.get(item.to.platform);
  if (!platform) throw new UnrecoverableError(`no chat channel for ${item.to.platform}`);
  const { chat } = platform;
  const intervalMs = platform.pacing.intervalMs;
  // A channel with no pace of its own (the console) takes no slot.
  const channel = intervalMs > 0 ? channelOf(item.to) : undefined;
  const slotKey = channel ? store.key('outbox', 'slot', channel) : undefined;
  const wait = await begin(store, sentKey, sendingKey, slotKey, intervalMs);
  if (wait < 0) return { done: 'duplicate' };
  if (wait > 0) return { laterMs: wait };

  // What begin took: the message's lease and the channel's slot. Given back when nothing was sent (the slot kept
  // when it now marks a Retry-After or a failed call).
  const taken = slotKey ? [sendingKey, slotKey] : [sendingKey];
  const release = (slot = true) => store.del(...(slot ? taken : [sendingKey]));
  try {
    const needs = [item.replaces, item.threadOf, item.linkTo].filter((k): k is string => k !== undefined);
    // A message this one depends on is still on its way: wait for it rather than post out of order.
    for (const k of needs) {
      if (!(await refs.get(k)) && (await refs.pending(k))) {
        await release();
        return { laterMs: Math.max(intervalMs, 50) };
      }
    }
    const replaced = item.replaces ? await refs.get(item.replaces) : undefined;
    const versionKey = item.version !== undefined ? store.key('outbox', 'version', jobIdFor('msg', item.replaces ?? item.key)) : undefined;
    if (replaced && versionKey && Number((await store.redis.get(versionKey)) ?? 0) >= item.version!) {
      // A newer update of this message is already shown: this one is stale.
      await store.redis.multi().set(sentKey, '1', 'PX', SENT_TTL_MS).del(...taken).exec();
      return { done: 'superseded' };
    }
    const parent = item.threadOf ? await refs.get(item.threadOf) : undefined;
    const link = item.linkTo ? await refs.permalink(item.linkTo) : undefined;
    const message = link ? { ...item.message, context: [...(item.message.context ?? []), `Link: ${link}`] } : item.message;
    // What was done is recorded in one round trip: where it landed, its version, and that it was sent.
    const after = store.redis.multi();
    if (replaced) {
      await chat.update(replaced.ref, message);
    } else {
      const posted = await chat.post(item.to, message, parent ? { thread: parent.ref } : undefined);
      refs.setIn(after, item.replaces ?? item.key, { ...posted, platform: item.to.platform });
    }
    if (versionKey) after.set(versionKey, String(item.version), 'PX', SENT_TTL_MS * 5);
    after.set(sentKey, '1', 'PX', SENT_TTL_MS);
    after.del(sendingKey, announcedKey(store, item.key));
    await after.exec();
    if (item.receivedAt !== undefined) deps.metrics?.alertDelivered(item.receivedAt);
    return { done: replaced ? 'updated' : 'posted' };
  } catch (err) {
    if (err instanceof UpstreamError && err.retryAfterMs !== undefined) {
      // Honour Retry-After for the whole channel.
      await release(false);
      if (slotKey) await store.redis.set(slotKey, '429', 'PX', err.retryAfterMs);
      deps.log.warn({ channel, retryAfterMs: err.retryAfterMs }, 'chat platform rate limited a message; delaying it');
      return { laterMs: err.retryAfterMs };
    }
    // The channel's slot stays taken for its second: a failed call counts against the platform's limit too.
    await release(false).catch(() => undefined);
    throw err;
  }
}

async function later(job: Job, token: string | undefined, ms: number): Promise<never> {
  await job.moveToDelayed(Date.now() + Math.max(ms, 1), token);
  throw new DelayedError();
}

export async function process(job: Job<Payload>, deps: Deps, token?: string): Promise<string> {
  let outcome: Outcome;
  try {
    outcome = await deliver(job.data, deps);
  } catch (err) {
    if (err instanceof UpstreamError && err.retryable) throw err;
    if (err instanceof DelayedError || err instanceof UnrecoverableError) throw err;
    deps.log.error({ err, to: job.data.to.kind }, 'message cannot be delivered');
    throw new UnrecoverableError((err as Error).message);
  }
  // Waiting for a slot or a Retry-After does not spend an attempt.
  if ('laterMs' in outcome) return later(job, token, outcome.laterMs);
  return outcome.done;
}
