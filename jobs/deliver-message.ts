// The outbox: every outbound chat message, posted once, at its channel's pace per conversation, through 429s and 5xx.
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { announcedKey } from '../src/adapters/redis/outbox-marks.js';
import type { Store } from '../src/adapters/redis/store.js';
import type { Channels } from '../src/core/channel.js';
import type { Feed, OutboxItem } from '../src/core/context.js';
import { UnreachableError, UpstreamError } from '../src/core/errors.js';
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
  /** Where admins hear that a person could not be reached on their platform (their alerts still reach their email). */
  feed?: Feed;
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
 * holds it (a redelivered SNS message in another job) or it is not the message's turn in its channel; else 0: the
 * message is now this attempt's, and its channel's pace is kept. KEYS: sent marker, sending lease [, channel pace, the
 * message's turn]. ARGV: interval, lease length.
 *
 * A channel's messages take turns one interval apart, each booked once, at its first attempt: a burst into one channel
 * waits as delayed jobs, each woken once at its own turn, instead of every one of them waking and retrying at every
 * interval (which costs work quadratic in the burst, posts it in a random order and crowds other channels' messages
 * out of the workers). The pace hash holds the next free turn (`next`), when the last message began (`last`: no two
 * begin less than an interval apart, however late a turn is taken) and a Retry-After (`until`).
 */
const BEGIN = `
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local held = redis.call('PTTL', KEYS[2])
if held > 0 then return held end
if KEYS[3] ~= nil then
  local time = redis.call('TIME')
  local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  local interval = tonumber(ARGV[1])
  local pace = redis.call('HMGET', KEYS[3], 'next', 'last', 'until')
  local nextFree, last, blocked = tonumber(pace[1]) or 0, tonumber(pace[2]), tonumber(pace[3]) or 0
  local turn = tonumber(redis.call('GET', KEYS[4]))
  if turn == nil then
    turn = math.max(now, nextFree, blocked)
    nextFree = turn + interval
    redis.call('HSET', KEYS[3], 'next', nextFree)
  end
  local at = math.max(turn, blocked)
  if last ~= nil then at = math.max(at, last + interval) end
  local keep = math.max(nextFree, blocked, at) - now + 600000
  if at > now then
    redis.call('SET', KEYS[4], turn, 'PX', keep)
    redis.call('PEXPIRE', KEYS[3], keep)
    return at - now
  end
  redis.call('DEL', KEYS[4])
  redis.call('HSET', KEYS[3], 'last', now)
  redis.call('PEXPIRE', KEYS[3], keep)
end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
return 0
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

function begin(store: Store, sentKey: string, sendingKey: string, pace: Pace | undefined, intervalMs: number): Promise<number> {
  return store.script(BEGIN, pace ? [sentKey, sendingKey, pace.pace, pace.turn] : [sentKey, sendingKey], [intervalMs, SENDING_LEASE_MS]);
}

export type Outcome =
  | { done: 'posted' | 'updated' | 'duplicate' | 'superseded' }
  /** Not now: it is not yet the message's turn in its channel, a message it depends on is on its way, or the platform said 429. */
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
  // A channel with no pace of its own (the console) takes no turn.
  const channel = intervalMs > 0 ? channelOf(item.to) : undefined;
  const needs = [item.replaces, item.threadOf, item.linkTo].filter((k): k is string => k !== undefined);
  // A message this one depends on is still on its way: wait for it rather than post out of order (and before taking a
  // turn in the channel, so the wait costs the channel nothing).
  for (const k of needs) {
    if (!(await refs.get(k)) && (await refs.pending(k))) return { laterMs: Math.max(intervalMs, 50) };
  }
  const pace = channel ? { pace: store.key('outbox', 'pace', channel), turn: store.key('outbox', 'turn', id) } : undefined;
  const wait = await begin(store, sentKey, sendingKey, pace, intervalMs);
  if (wait < 0) return { done: 'duplicate' };
  if (wait > 0) return { laterMs: wait };

  // What begin took: the message's lease, given back when nothing was sent. The channel's turn is spent either way: a
  // failed call counts against the platform's limit too.
  const release = () => store.del(sendingKey);
  try {
    const replaced = item.replaces ? await refs.get(item.replaces) : undefined;
    const versionKey = item.version !== undefined ? store.key('outbox', 'version', jobIdFor('msg', item.replaces ?? item.key)) : undefined;
    if (replaced && versionKey && Number((await store.redis.get(versionKey)) ?? 0) >= item.version!) {
      // A newer update of this message is already shown: this one is stale.
      await store.redis.multi().set(sentKey, '1', 'PX', SENT_TTL_MS).del(sendingKey).exec();
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
      await release();
      if (pace) await store.script(BLOCK, [pace.pace, pace.turn], [err.retryAfterMs]);
      deps.log.warn({ channel, retryAfterMs: err.retryAfterMs }, 'chat platform rate limited a message; delaying it');
      return { laterMs: err.retryAfterMs };
    }
    await release().catch(() => undefined);
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
    if (err instanceof UnreachableError) await tellAdmins(err, job.data, deps);
    deps.log.error({ err, to: job.data.to.kind }, 'message cannot be delivered');
    throw new UnrecoverableError((err as Error).message);
  }
  // Waiting for a slot or a Retry-After does not spend an attempt.
  if ('laterMs' in outcome) return later(job, token, outcome.laterMs);
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
