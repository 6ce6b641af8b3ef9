// The outbox: every outbound chat message, posted once and in the order it was produced in its conversation, at its
// channel's pace, through 429s, 5xx and crashed workers.
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { announcedKey } from '../src/adapters/redis/outbox-marks.js';
import { RedisPacing } from '../src/adapters/redis/pacing.js';
import type { Store } from '../src/adapters/redis/store.js';
import type { Channels } from '../src/core/channel.js';
import type { Feed, OutboxItem } from '../src/core/context.js';
import { UnreachableError, UpstreamError } from '../src/core/errors.js';
import type { Address, ChatPort, PostedMessage } from '../src/core/ports.js';
import type { PacingRepository } from '../src/core/repositories/pacing.js';
import type { Metrics } from '../src/metrics.js';
import { conversationOf, headOf, NOW_LUA, ORDER_LUA, type Head, type OutboxOrder, type Place } from './outbox-order.js';
import { RefStore } from './outbox-refs.js';
import { jobIdFor, QUEUE } from './queues.js';

export const name = QUEUE.deliver;
/** A message as the outbox queues it: with its number in its conversation (none on a job queued before messages had one). */
export type Queued = OutboxItem & { seq?: number };
export type Payload = Queued;

export interface Deps {
  /** Each platform's chat, and its pacing: at most one message per conversation per its interval. */
  channels: Pick<Channels, 'get'>;
  store: Store;
  refs: RefStore;
  order: OutboxOrder;
  /** How long one attempt may hold a message; SENDING_LEASE_MS unless configured (OUTBOX_LEASE_MS). */
  leaseMs?: number;
  log: Logger;
  metrics?: Pick<Metrics, 'alertDelivered'>;
  /** Where admins hear that a person could not be reached on their platform (their alerts still reach their email). */
  feed?: Feed;
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
 * In one round trip, what this attempt may do with the message. KEYS: sent marker, sending lease, attempt marker, the
 * conversation's order, the channel's pace, the message's turn. ARGV: interval, lease length, the message's number (0:
 * none), whether the channel is paced (1/0), the attempt marker's TTL. Answers:
 * - {1, next}: sent already (and so done in its conversation: `next` is the order field of the message after it, or '');
 * - {3, …}: an earlier message of its conversation is still on its way (see turnOf in outbox-order);
 * - {2, ms}: not for ms, because another attempt holds it (a redelivered SNS message in another job) or it is not the
 *   message's turn in its channel's pace;
 * - {0, first}: the message is now this attempt's, and its channel's pace is kept; `first` is when an earlier attempt
 *   that did not finish began (0: none), so the platform may already show the message.
 *
 * A channel's messages take turns one interval apart, each booked once, at its first attempt: a burst into one channel
 * waits as delayed jobs, each woken once at its own turn, instead of every one of them waking and retrying at every
 * interval (which costs work quadratic in the burst and crowds other channels' messages out of the workers). The pace hash
 * holds the next free turn (`next`), when the last message began (`last`: no two begin less than an interval apart,
 * however late a turn is taken) and a Retry-After (`until`).
 */
const BEGIN = `${NOW_LUA}${ORDER_LUA}
local seq = tonumber(ARGV[3])
if redis.call('EXISTS', KEYS[1]) == 1 then
  if seq > 0 then return {1, advance(KEYS[4], seq, now)} end
  return {1, ''}
end
if seq > 0 then
  local head = turnOf(KEYS[4], seq, now)
  if head then return head end
end
local held = redis.call('PTTL', KEYS[2])
if held > 0 then return {2, held} end
if ARGV[4] == '1' then
  local interval = tonumber(ARGV[1])
  local pace = redis.call('HMGET', KEYS[5], 'next', 'last', 'until')
  local nextFree, last, blocked = tonumber(pace[1]) or 0, tonumber(pace[2]), tonumber(pace[3]) or 0
  local turn = tonumber(redis.call('GET', KEYS[6]))
  if turn == nil then
    turn = math.max(now, nextFree, blocked)
    nextFree = turn + interval
    redis.call('HSET', KEYS[5], 'next', nextFree)
  end
  local at = math.max(turn, blocked)
  if last ~= nil then at = math.max(at, last + interval) end
  local keep = math.max(nextFree, blocked, at) - now + 600000
  if at > now then
    redis.call('SET', KEYS[6], turn, 'PX', keep)
    redis.call('PEXPIRE', KEYS[5], keep)
    return {2, at - now}
  end
  redis.call('DEL', KEYS[6])
  redis.call('HSET', KEYS[5], 'last', now)
  redis.call('PEXPIRE', KEYS[5], keep)
end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
local first = redis.call('GET', KEYS[3])
if not first then redis.call('SET', KEYS[3], now, 'PX', ARGV[5]) end
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

/**
 * A turn taken, given back until a later time (the platform's other limits booked the send for then): the message's turn
 * is due then, and nothing else in its channel begins before it, as if it had begun an interval before. KEYS: pace,
 * turn. ARGV: when (ms, Redis' clock), interval.
 */
const RESUME = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local at = tonumber(ARGV[1])
local keep = math.max(at - now, 0) + 600000
redis.call('SET', KEYS[2], at, 'PX', keep)
redis.call('HSET', KEYS[1], 'last', at - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], keep)
return 0
`;

interface Keys {
  sent: string;
  sending: string;
  attempt: string;
  pace: string;
  turn: string;
}

type Begun = { go: true; firstAttemptAt: number } | { sent: true; next: string } | { waitMs: number } | { head: Head };

async function begin(store: Store, keys: Keys, order: string, seq: number, paced: boolean, intervalMs: number, leaseMs: number): Promise<Begun> {
  const reply = await store.script<[number, ...unknown[]]>(BEGIN, [keys.sent, keys.sending, keys.attempt, order, keys.pace, keys.turn], [intervalMs, leaseMs, seq, paced ? 1 : 0, ATTEMPT_TTL_MS]);
  switch (reply[0]) {
    case 0:
      return { go: true, firstAttemptAt: Number(reply[1]) };
    case 1:
      return { sent: true, next: String(reply[1]) };
    case 2:
      return { waitMs: Number(reply[1]) };
    default:
      return { head: headOf(reply)! };
  }
}

export type Outcome =
  /** `found`: an earlier attempt had posted it and died before recording it; it is recorded now, not posted again. */
  | { done: 'posted' | 'updated' | 'duplicate' | 'superseded' | 'found' }
  /** Not now: it is not yet the message's turn in its channel, a message it depends on is on its way, or the platform said 429. */
  | { laterMs: number }
  /**
   * Not before an earlier message of its conversation is done (which wakes it); it looks again after `afterMs` regardless.
   * `ahead`: how many messages are ahead of it.
   */
  | { afterMs: number; ahead: number };

/** How many dead messages ahead of it one attempt may pass over before it waits. */
const PASS_OVER_MAX = 3;

/** One attempt at one message. Throws what the platform threw (other than a 429, which becomes `laterMs`). */
export async function deliver(item: Queued, deps: Deps): Promise<Outcome> {
  const { store, refs, order } = deps;
  const id = jobIdFor('msg', item.key);
  const platform = deps.channels.get(item.to.platform);
  if (!platform) throw new UnrecoverableError(`no chat channel for ${item.to.platform}`);
  const { chat } = platform;
  const intervalMs = platform.pacing.intervalMs;
  // A channel with no pace of its own (the console) takes no turn.
  const channel = intervalMs > 0 ? channelOf(item.to) : undefined;
  const keys: Keys = {
    sent: store.key('outbox', 'sent', id),
    sending: store.key('outbox', 'sending', id),
    attempt: store.key('outbox', 'attempt', id),
    pace: store.key('outbox', 'pace', channel ?? conversationOf(item.to)),
    turn: store.key('outbox', 'turn', id),
  };
  const place: Place | undefined = item.seq !== undefined ? { order: order.key(item.to), seq: item.seq } : undefined;
  const needs = [item.replaces, item.threadOf, item.linkTo].filter((k): k is string => k !== undefined);
  if (needs.length) {
    // Not before its turn (what it needs may be ahead of it in its conversation), nor before what it needs has landed (a
    // message in another conversation); both before taking a turn in the channel, so the wait costs the channel nothing.
    const head = place ? await firstAhead(place, order) : undefined;
    if (head) return behind(place!, head, deps, intervalMs);
    for (const k of needs) {
      if (!(await refs.get(k)) && (await refs.pending(k))) {
        if (place) await order.letFirst(place, k);
        return { laterMs: intervalMs > 0 ? intervalMs : 50 };
      }
    }
  }

  let begun: Begun;
  for (let passed = 0; ; passed++) {
    begun = await begin(store, keys, place?.order ?? order.key(item.to), place?.seq ?? 0, channel !== undefined, intervalMs, deps.leaseMs ?? SENDING_LEASE_MS);
    if (!('head' in begun)) break;
    if (passed >= PASS_OVER_MAX || !(await order.passOverStale(place!, begun.head))) return behind(place!, begun.head, deps, intervalMs);
  }
  if ('sent' in begun) {
    await order.wake(begun.next);
    return { done: 'duplicate' };
  }
  if ('waitMs' in begun) return { laterMs: begun.waitMs };

  // What begin took: the message's lease, given back when nothing was sent. The channel's turn is spent either way: a
  // failed call counts against the platform's limit too. The attempt marker stays until the message is known to be
  // sent, or known not to be: an attempt that fails any other way (a timeout, a 5xx, a crash) may have posted it.
  const release = (posted: 'unknown' | 'no') => (posted === 'no' ? store.del(keys.sending, keys.attempt) : store.del(keys.sending));
  // The platform's further limits (Teams: 50 a second in the tenant), booked once the message may go in its conversation:
  // a slot to come gives the message back, woken then, its conversation's turn kept for that time.
  const limits = platform.pacing.limits?.(item.to) ?? [];
  if (limits.length) {
    const nothingPosted = begun.firstAttemptAt > 0 ? 'unknown' : 'no';
    const slot = await pacing(store)
      .book(limits, id)
      .catch(async (err: unknown) => {
        await release(nothingPosted).catch(() => undefined);
        throw err;
      });
    if (slot.waitMs > 0) {
      if (channel) await store.script(RESUME, [keys.pace, keys.turn], [slot.atMs, intervalMs]);
      await release(nothingPosted);
      return { laterMs: slot.waitMs };
    }
  }
  let posting = false;
  try {
    const replaced = item.replaces ? await refs.get(item.replaces) : undefined;
    const versionKey = item.version !== undefined ? store.key('outbox', 'version', jobIdFor('msg', item.replaces ?? item.key)) : undefined;
    if (replaced && versionKey && (await overtaken(store, order.queuedVersionKey(item.replaces!), versionKey, item.version!))) {
      // A newer update of this message is already shown, or queued behind this one: this one is stale.
      const after = store.redis.multi().set(keys.sent, '1', 'PX', SENT_TTL_MS).del(keys.sending, keys.attempt);
      if (place) order.doneIn(after, place);
      const res = await after.exec();
      if (place) await order.wake(res?.at(-1)?.[1]);
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
    // What was done is recorded in one round trip, as soon as the platform answers: where it landed, its version, that
    // it was sent, and that its conversation's next message may go.
    const after = store.redis.multi();
    posting = true;
    if (replaced) {
      await chat.update(replaced.ref, message);
    } else {
      const posted: PostedMessage = found ?? (await chat.post(item.to, message, { ...thread, key: id }));
      refs.setIn(after, item.replaces ?? item.key, { ...posted, platform: item.to.platform });
    }
    if (versionKey) after.set(versionKey, String(item.version), 'PX', SENT_TTL_MS * 5);
    after.set(keys.sent, '1', 'PX', SENT_TTL_MS);
    after.del(keys.sending, keys.attempt, announcedKey(store, item.key));
    if (place) order.doneIn(after, place);
    const res = await after.exec();
    if (place) await order.wake(res?.at(-1)?.[1]);
    if (found) deps.log.warn({ messageKey: item.key }, 'an earlier attempt had posted the message without recording it; recorded, not posted again');
    if (item.receivedAt !== undefined) deps.metrics?.alertDelivered(item.receivedAt);
    return { done: found ? 'found' : replaced ? 'updated' : 'posted' };
  } catch (err) {
    // A refusal from the platform says nothing was posted; any other failure of the call leaves it unknown.
    const refused = posting && err instanceof UpstreamError && (err.retryAfterMs !== undefined || !err.retryable);
    if (err instanceof UpstreamError && err.retryAfterMs !== undefined) {
      // Honour Retry-After for the whole channel.
      await release(refused ? 'no' : 'unknown');
      await store.script(BLOCK, [keys.pace, keys.turn], [err.retryAfterMs]);
      for (const l of limits) await pacing(store).pause(l.key, err.retryAfterMs);
      deps.log.warn({ channel, retryAfterMs: err.retryAfterMs }, 'chat platform rate limited a message; delaying it');
      return { laterMs: err.retryAfterMs };
    }
    await release(refused ? 'no' : 'unknown').catch(() => undefined);
    throw err;
  }
}

/** Sends booked in Redis' own clock, which every replica shares. */
const pacing = (store: Store): PacingRepository => new RedisPacing(store);

/** Waits for the message ahead: woken when it is done. */
function behind(place: Place, head: Head, deps: Deps, intervalMs: number): Outcome {
  return { afterMs: deps.order.waitMs(place, head, intervalMs), ahead: place.seq - head.seq };
}

/** What an earlier attempt may have posted; a platform that refuses to say (a missing scope) is taken to show nothing. */
async function findPosted(chat: ChatPort, item: Queued, id: string, sinceMs: number, thread: { thread: string } | undefined, log: Logger): Promise<PostedMessage | undefined> {
  if (!chat.findPosted) return undefined;
  try {
    return await chat.findPosted(item.to, id, sinceMs, thread);
  } catch (err) {
    if (!(err instanceof UpstreamError) || err.retryable) throw err;
    log.warn({ err, messageKey: item.key }, 'could not look for an earlier attempt’s post (for Slack, the app needs the *:history scopes); posting again');
    return undefined;
  }
}

/** The message this one waits for in its conversation, if any, once dead ones ahead of it are passed over. */
async function firstAhead(place: Place, order: OutboxOrder): Promise<Head | undefined> {
  for (let passed = 0; ; passed++) {
    const head = await order.turn(place);
    if (!head || passed >= PASS_OVER_MAX || !(await order.passOverStale(place, head))) return head;
  }
}

/** Whether an update of version `version` is stale: a newer one is shown already, or queued to follow. */
async function overtaken(store: Store, queuedKey: string, shownKey: string, version: number): Promise<boolean> {
  const [shown, queued] = await store.redis.mget(shownKey, queuedKey);
  return Number(shown ?? 0) >= version || Number(queued ?? 0) > version;
}

async function later(job: Job, token: string | undefined, ms: number): Promise<never> {
  await job.moveToDelayed(Date.now() + Math.max(ms, 1), token);
  throw new DelayedError();
}

/**
 * Waits for the message's turn in its conversation, as a delayed job the message before it wakes when it is done. That
 * one may have finished between this attempt's look and its move to delayed, its wake-up finding this job still active:
 * so it looks once more, and wakes itself.
 */
async function awaitTurn(job: Job<Payload>, token: string | undefined, ms: number, deps: Deps): Promise<never> {
  await job.moveToDelayed(Date.now() + Math.max(ms, 1), token);
  const place = { order: deps.order.key(job.data.to), seq: job.data.seq! };
  if (!(await deps.order.turn(place))) await job.promote().catch(() => undefined);
  throw new DelayedError();
}

/**
 * A message that will not be sent is done as failed: it must not hold up the rest of its conversation, nor an edit of it
 * (which, no longer told it is on its way, posts on its own).
 */
async function passOn(item: Queued, deps: Deps): Promise<void> {
  await deps.store.del(announcedKey(deps.store, item.key)).catch(() => undefined);
  if (item.seq === undefined) return;
  await deps.order.done({ order: deps.order.key(item.to), seq: item.seq }).catch((err: unknown) => deps.log.warn({ err }, 'could not pass a failed message over; the next one passes it when it looks'));
}

export async function process(job: Job<Payload>, deps: Deps, token?: string): Promise<string> {
  let outcome: Outcome;
  try {
    outcome = await deliver(job.data, deps);
  } catch (err) {
    const retryable = err instanceof UpstreamError && err.retryable;
    if (!retryable || job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) await passOn(job.data, deps);
    if (retryable) throw err;
    if (err instanceof DelayedError || err instanceof UnrecoverableError) throw err;
    if (err instanceof UnreachableError) await tellAdmins(err, job.data, deps);
    deps.log.error({ err, to: job.data.to.kind }, 'message cannot be delivered');
    throw new UnrecoverableError((err as Error).message);
  }
  // Waiting for a slot, a Retry-After or its turn does not spend an attempt.
  if ('laterMs' in outcome) return later(job, token, outcome.laterMs);
  if ('afterMs' in outcome) return awaitTurn(job, token, outcome.afterMs, deps);
  return outcome.done;
}

/** The admin feed hears, once a day per person, that they could not be reached; an alert still went to their email (SNS). */
async function tellAdmins(err: UnreachableError, item: OutboxItem, deps: Deps): Promise<void> {
  const who = err.target.userId ?? err.target.channel ?? 'someone';
  const alert = item.receivedAt !== undefined ? '; their alerts still reach their email through their SNS topic' : '';
  await deps.feed
    ?.publish({ type: 'failed', summary: `could not reach ${who} in ${err.target.platform} (${err.reason}): the app may not be installed for them${alert}`, key: `unreachable:${err.target.platform}:${who}:${new Date().toISOString().slice(0, 10)}` })
    .catch((e: Error) => deps.log.warn({ err: e }, 'could not tell the admin feed about an unreachable person'));
}
