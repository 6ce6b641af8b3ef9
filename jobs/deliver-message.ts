// The outbox: every outbound chat message, posted once, at most one per second per channel, through 429s, 5xx and
// crashed workers.
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { announcedKey } from '../src/adapters/redis/outbox-marks.js';
import type { Store } from '../src/adapters/redis/store.js';
import type { OutboxItem } from '../src/core/context.js';
import { UpstreamError } from '../src/core/errors.js';
import type { Address, ChatPort, Platform, PostedMessage } from '../src/core/ports.js';
import type { Metrics } from '../src/metrics.js';
import { RefStore } from './outbox-refs.js';
import { jobIdFor, QUEUE } from './queues.js';

export const name = QUEUE.deliver;
export type Payload = OutboxItem;

export interface Deps {
  chats: Partial<Record<Platform, ChatPort>>;
  store: Store;
  refs: RefStore;
  channelIntervalMs: number;
  /** How long one attempt may hold a message; SENDING_LEASE_MS unless configured (OUTBOX_LEASE_MS). */
  leaseMs?: number;
  log: Logger;
  metrics?: Pick<Metrics, 'alertDelivered'>;
}

const SENT_TTL_MS = 7 * 24 * 3600_000;
/** How long the start of an attempt that may have posted is remembered: far longer than a message's retries take. */
const ATTEMPT_TTL_MS = 24 * 3600_000;

/** Platform rate limits are per conversation; a private reply (response URL) has none of its own. */
function channelOf(to: Address): string | undefined {
  if (to.kind === 'user') return `${to.platform}:user:${to.userId}`;
  if (to.kind === 'channel') return `${to.platform}:channel:${to.channel}`;
  return undefined;
}

/** How long one attempt may hold a message: longer than a Slack call may take (the client gives up after 30 s). */
export const SENDING_LEASE_MS = 120_000;

/**
 * In one round trip: {1} if the message was sent already; else {2, ms}: not for ms, because another attempt holds it (a
 * redelivered SNS message in another job) or it is not the message's turn in its channel; else {0, first}: the message
 * is now this attempt's, and its channel's pace is kept; `first` is when an earlier attempt that did not finish began (0:
 * none), so the platform may already show the message. KEYS: sent marker, sending lease, attempt marker [, channel pace,
 * the message's turn]. ARGV: interval, lease length, the attempt marker's TTL.
 *
 * A channel's messages take turns one interval apart, each booked once, at its first attempt: a burst into one channel
 * waits as delayed jobs, each woken once at its own turn, instead of every one of them waking and retrying at every
 * interval (which costs work quadratic in the burst, posts it in a random order and crowds other channels' messages
 * out of the workers). The pace hash holds the next free turn (`next`), when the last message began (`last`: no two
 * begin less than an interval apart, however late a turn is taken) and a Retry-After (`until`).
 */
const BEGIN = `
if redis.call('EXISTS', KEYS[1]) == 1 then return {1} end
local held = redis.call('PTTL', KEYS[2])
if held > 0 then return {2, held} end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
if KEYS[4] ~= nil then
  local interval = tonumber(ARGV[1])
  local pace = redis.call('HMGET', KEYS[4], 'next', 'last', 'until')
  local nextFree, last, blocked = tonumber(pace[1]) or 0, tonumber(pace[2]), tonumber(pace[3]) or 0
  local turn = tonumber(redis.call('GET', KEYS[5]))
  if turn == nil then
    turn = math.max(now, nextFree, blocked)
    nextFree = turn + interval
    redis.call('HSET', KEYS[4], 'next', nextFree)
  end
  local at = math.max(turn, blocked)
  if last ~= nil then at = math.max(at, last + interval) end
  local keep = math.max(nextFree, blocked, at) - now + 600000
  if at > now then
    redis.call('SET', KEYS[5], turn, 'PX', keep)
    redis.call('PEXPIRE', KEYS[4], keep)
    return {2, at - now}
  end
  redis.call('DEL', KEYS[5])
  redis.call('HSET', KEYS[4], 'last', now)
  redis.call('PEXPIRE', KEYS[4], keep)
end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
local first = redis.call('GET', KEYS[3])
if not first then redis.call('SET', KEYS[3], now, 'PX', ARGV[3]) end
return {0, tonumber(first) or 0}
`;

/** A Retry-After for a whole channel; the message that met it keeps its turn, due when the wait is over. KEYS: pace, turn. ARGV: ms. */
const BLOCK = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local untilMs = now + tonumber(ARGV[1])
local blocked = tonumber(redis.call('HGET', KEYS[1], 'until')) or 0
if untilMs > blocked then redis.call('HSET', KEYS[1], 'until', untilMs) end
redis.call('SET', KEYS[2], untilMs, 'PX', tonumber(ARGV[1]) + 600000)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) + 600000)
return 0
`;

interface Pace {
  pace: string;
  turn: string;
}

type Begun = { go: true; firstAttemptAt: number } | { sent: true } | { waitMs: number };

async function begin(store: Store, keys: string[], pace: Pace | undefined, intervalMs: number, leaseMs: number): Promise<Begun> {
  const reply = await store.script<[number, number?]>(BEGIN, pace ? [...keys, pace.pace, pace.turn] : keys, [intervalMs, leaseMs, ATTEMPT_TTL_MS]);
  if (reply[0] === 1) return { sent: true };
  if (reply[0] === 2) return { waitMs: Number(reply[1]) };
  return { go: true, firstAttemptAt: Number(reply[1]) };
}

export type Outcome =
  /** `found`: an earlier attempt had posted it and died before recording it; it is recorded now, not posted again. */
  | { done: 'posted' | 'updated' | 'duplicate' | 'superseded' | 'found' }
  /** Not now: it is not yet the message's turn in its channel, a message it depends on is on its way, or the platform said 429. */
  | { laterMs: number };

/** One attempt at one message. Throws what the platform threw (other than a 429, which becomes `laterMs`). */
export async function deliver(item: OutboxItem, deps: Deps): Promise<Outcome> {
  const { store, refs } = deps;
  const id = jobIdFor('msg', item.key);
  const sentKey = store.key('outbox', 'sent', id);
  const sendingKey = store.key('outbox', 'sending', id);
  const attemptKey = store.key('outbox', 'attempt', id);
  const chat = deps.chats[item.to.platform];
  if (!chat) throw new UnrecoverableError(`no chat adapter for ${item.to.platform}`);
  const channel = channelOf(item.to);
  const needs = [item.replaces, item.threadOf, item.linkTo].filter((k): k is string => k !== undefined);
  // A message this one depends on is still on its way: wait for it rather than post out of order (and before taking a
  // turn in the channel, so the wait costs the channel nothing).
  for (const k of needs) {
    if (!(await refs.get(k)) && (await refs.pending(k))) return { laterMs: deps.channelIntervalMs };
  }
  const pace = channel ? { pace: store.key('outbox', 'pace', channel), turn: store.key('outbox', 'turn', id) } : undefined;
  const begun = await begin(store, [sentKey, sendingKey, attemptKey], pace, deps.channelIntervalMs, deps.leaseMs ?? SENDING_LEASE_MS);
  if ('sent' in begun) return { done: 'duplicate' };
  if ('waitMs' in begun) return { laterMs: begun.waitMs };

  // What begin took: the message's lease, given back when nothing was sent. The channel's turn is spent either way: a
  // failed call counts against the platform's limit too. The attempt marker stays until the message is known to be
  // sent, or known not to be: an attempt that fails any other way (a timeout, a 5xx, a crash) may have posted it.
  const release = (posted: 'unknown' | 'no') => (posted === 'no' ? store.del(sendingKey, attemptKey) : store.del(sendingKey));
  let posting = false;
  try {
    const replaced = item.replaces ? await refs.get(item.replaces) : undefined;
    const versionKey = item.version !== undefined ? store.key('outbox', 'version', jobIdFor('msg', item.replaces ?? item.key)) : undefined;
    if (replaced && versionKey && Number((await store.redis.get(versionKey)) ?? 0) >= item.version!) {
      // A newer update of this message is already shown: this one is stale.
      await store.redis.multi().set(sentKey, '1', 'PX', SENT_TTL_MS).del(sendingKey, attemptKey).exec();
      return { done: 'superseded' };
    }
    const parent = item.threadOf ? await refs.get(item.threadOf) : undefined;
    const link = item.linkTo ? await refs.permalink(item.linkTo) : undefined;
    const message = link ? { ...item.message, context: [...(item.message.context ?? []), `Link: ${link}`] } : item.message;
    const thread = parent ? { thread: parent.ref } : undefined;
    // An earlier attempt began and never finished: it may have posted the message and died before recording it. Where
    // the platform can tell (Slack: the outbox id in the message's metadata), look before posting again. Where it cannot
    // (Teams, a response URL), the lease is all there is: a message posted by an attempt that died is posted again.
    const found = !replaced && begun.firstAttemptAt > 0 ? await findPosted(chat, item, id, begun.firstAttemptAt, thread, deps.log) : undefined;
    // What was done is recorded in one round trip, as soon as the platform answers: where it landed, its version, and
    // that it was sent.
    const after = store.redis.multi();
    posting = true;
    if (replaced) {
      await chat.update(replaced.ref, message);
    } else {
      const posted: PostedMessage = found ?? (await chat.post(item.to, message, { ...thread, key: id }));
      refs.setIn(after, item.replaces ?? item.key, { ...posted, platform: item.to.platform });
    }
    if (versionKey) after.set(versionKey, String(item.version), 'PX', SENT_TTL_MS * 5);
    after.set(sentKey, '1', 'PX', SENT_TTL_MS);
    after.del(sendingKey, attemptKey, announcedKey(store, item.key));
    await after.exec();
    if (found) deps.log.warn({ messageKey: item.key }, 'an earlier attempt had posted the message without recording it; recorded, not posted again');
    if (item.receivedAt !== undefined) deps.metrics?.alertDelivered(item.receivedAt);
    return { done: found ? 'found' : replaced ? 'updated' : 'posted' };
  } catch (err) {
    // A refusal from the platform says nothing was posted; any other failure of the call leaves it unknown.
    const refused = posting && err instanceof UpstreamError && (err.retryAfterMs !== undefined || !err.retryable);
    if (err instanceof UpstreamError && err.retryAfterMs !== undefined) {
      // Honour Retry-After for the whole channel.
      await release(refused ? 'no' : 'unknown');
      if (pace) await store.script(BLOCK, [pace.pace, pace.turn], [err.retryAfterMs]);
      deps.log.warn({ channel, retryAfterMs: err.retryAfterMs }, 'chat platform rate limited a message; delaying it');
      return { laterMs: err.retryAfterMs };
    }
    await release(refused ? 'no' : 'unknown').catch(() => undefined);
    throw err;
  }
}

/** What an earlier attempt may have posted; a platform that refuses to say (a missing scope) is taken to show nothing. */
async function findPosted(chat: ChatPort, item: OutboxItem, id: string, sinceMs: number, thread: { thread: string } | undefined, log: Logger): Promise<PostedMessage | undefined> {
  if (!chat.findPosted) return undefined;
  try {
    return await chat.findPosted(item.to, id, sinceMs, thread);
  } catch (err) {
    if (!(err instanceof UpstreamError) || err.retryable) throw err;
    log.warn({ err, messageKey: item.key }, 'could not look for an earlier attempt’s post (for Slack, the app needs the *:history scopes); posting again');
    return undefined;
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
