// The order of each conversation's messages: numbered as they are produced, sent one after another in that order.
import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { ChainableCommander } from 'ioredis';
import type { Store } from '../src/adapters/redis/store.js';
import type { OutboxItem } from '../src/core/context.js';
import type { Address } from '../src/core/ports.js';
import { jobIdFor } from './queues.js';
import { Waiters } from './waiters.js';

/** A message's place in its conversation: where it is numbered, and its number. */
export interface Place {
  order: string;
  seq: number;
}

/** The message whose turn it is, when it is not this one's: its number, its job id, and how long it has been waiting (ms). */
export interface Head {
  seq: number;
  jobId: string;
  /** Since it became the conversation's next message. */
  headForMs: number;
  /** Since it was numbered. */
  ageMs: number;
}

/** A conversation whose last message is this old is forgotten: counting starts again. Far longer than any message waits. */
const ORDER_TTL_MS = 30 * 24 * 3600_000;
/** A message's number, kept as long as the outbox remembers it sent it: a re-send of the same key keeps its place. */
const SEQ_TTL_MS = 7 * 24 * 3600_000;
/** A next message that has waited this long has its job looked at: failed for good, or gone, it no longer holds the line. */
const STALE_MS = 10_000;
/**
 * A message numbered this long ago with no job and no attempt in hand was never queued (its producer died between the
 * two steps and was not retried): it no longer holds the line. Longer than the longest in-process attempt (a lease).
 */
const ORPHAN_MS = 5 * 60_000;
/**
 * A message that is not next is woken by the one before it; it also looks at the line itself this often, should its
 * wake-up be lost or the one before it be dead: about when its turn would come, within these bounds.
 */
const WAIT_MIN_MS = 5_000;
const WAIT_MAX_MS = 30_000;
const PENDING_STATES = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);

/** Per conversation: a platform's channel or DM, or one response URL (a reply is a conversation of its own). */
export function conversationOf(to: Address): string {
  if (to.kind === 'user') return `${to.platform}:user:${to.userId}`;
  if (to.kind === 'channel') return `${to.platform}:channel:${to.channel}`;
  return `${to.platform}:reply:${createHash('sha256').update(to.ref).digest('base64url').slice(0, 32)}`;
}

/** Lua: `now`, in ms, by Redis's clock: every replica's scripts read one clock. */
export const NOW_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * Lua shared by the scripts below and deliver-message's BEGIN. The order hash holds `last` (the last number given), `next`
 * (the number whose turn it is), `since` (when it became next) and, per number given and not yet done, `s:<n>` = "<job id>
 * <when numbered>". A number without its field is done. `first` is a number let go ahead of its turn (see letFirst).
 *
 * turnOf: nil when it is message `s`'s turn (or its place was passed over, or it was let go first: it goes now); else {3,
 * next, its job id, how long it has been next, how long since it was numbered}. Numbers already done are stepped over.
 * advance: message `s` is done; when it was next, the one after it is: returns that one's field ('' if none).
 */
export const ORDER_LUA = `
local function turnOf(K, s, now)
  local o = redis.call('HMGET', K, 'next', 'since')
  local head = tonumber(o[1]) or 1
  local since = tonumber(o[2]) or now
  local f = false
  while head < s do
    f = redis.call('HGET', K, 's:' .. head)
    if f then break end
    head = head + 1
    since = now
    redis.call('HSET', K, 'next', head, 'since', now)
  end
  if head >= s or tonumber(redis.call('HGET', K, 'first')) == s then return nil end
  local sep = string.find(f, ' ', 1, true)
  return {3, head, string.sub(f, 1, sep - 1), now - since, now - tonumber(string.sub(f, sep + 1))}
end
local function advance(K, s, now)
  redis.call('HDEL', K, 's:' .. s)
  if tonumber(redis.call('HGET', K, 'first')) == s then redis.call('HDEL', K, 'first') end
  local head = tonumber(redis.call('HGET', K, 'next')) or 1
  if head ~= s then return '' end
  redis.call('HSET', K, 'next', s + 1, 'since', now)
  return redis.call('HGET', K, 's:' .. (s + 1)) or ''
end
`;

/**
 * A message's number in its conversation, given once: again for the same message (a re-send, a retried producer), the same
 * number. Also keeps the newest version queued of a message's updates, so an older one still waiting can give way.
 * KEYS: order, the message's number, its newest queued version. ARGV: job id, version (or ''), key TTLs.
 */
const ASSIGN = `${NOW_LUA}
local s = tonumber(redis.call('GET', KEYS[2]))
if ARGV[2] ~= '' then
  local v = tonumber(redis.call('GET', KEYS[3])) or 0
  if tonumber(ARGV[2]) > v then redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[3]) end
end
if s then return s end
s = redis.call('HINCRBY', KEYS[1], 'last', 1)
if redis.call('HSETNX', KEYS[1], 'next', 1) == 1 then redis.call('HSET', KEYS[1], 'since', now) end
redis.call('HSET', KEYS[1], 's:' .. s, ARGV[1] .. ' ' .. now)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], s, 'PX', ARGV[3])
return s
`;

/** `turnOf` alone. KEYS: order. ARGV: number. */
const TURN = `${NOW_LUA}${ORDER_LUA}
return turnOf(KEYS[1], tonumber(ARGV[1]), now) or 0
`;

/** `advance` alone. KEYS: order. ARGV: number. */
const ADVANCE = `${NOW_LUA}${ORDER_LUA}
return advance(KEYS[1], tonumber(ARGV[1]), now)
`;

/**
 * Lets the message another one needs go ahead of it, when that message is in the same conversation and numbered after
 * it; answers its order field ('' if not). KEYS: order, the needed message's number. ARGV: its job id, the needer's number.
 */
const LET_FIRST = `
local n = tonumber(redis.call('GET', KEYS[2]))
if not n or n <= tonumber(ARGV[2]) then return '' end
local f = redis.call('HGET', KEYS[1], 's:' .. n)
if not f or string.sub(f, 1, #ARGV[1] + 1) ~= ARGV[1] .. ' ' then return '' end
redis.call('HSET', KEYS[1], 'first', n)
return f
`;

/** What turnOf answered, as a Head (undefined: it is this message's turn). */
export function headOf(reply: unknown): Head | undefined {
  if (!Array.isArray(reply)) return undefined;
  const [, seq, jobId, headForMs, ageMs] = reply as [number, number, string, number, number];
  return { seq, jobId, headForMs, ageMs };
}

export class OutboxOrder {
  /** Messages waiting in this process (see process-sns) for the one before them, by job id. */
  private readonly waiting = new Waiters();

  constructor(
    private readonly store: Store,
    private readonly queue: Queue,
  ) {}

  /** The order hash of a conversation. */
  key(to: Address): string {
    return this.store.key('outbox', 'order', conversationOf(to));
  }

  /** Where the newest queued version of a message's updates is kept. */
  queuedVersionKey(messageKey: string): string {
    return this.store.key('outbox', 'queued-version', jobIdFor('msg', messageKey));
  }

  /** Numbers a message in its conversation (the same number for the same message). */
  async assign(item: OutboxItem): Promise<number> {
    const id = jobIdFor('msg', item.key);
    const version = item.version !== undefined && item.replaces !== undefined ? String(item.version) : '';
    const keys = [this.key(item.to), this.store.key('outbox', 'seq', id), this.queuedVersionKey(item.replaces ?? item.key)];
    return this.store.script<number>(ASSIGN, keys, [id, version, SEQ_TTL_MS, ORDER_TTL_MS]);
  }

  /** The message whose turn it is in this message's conversation, when it is not this one's. */
  async turn(place: Place): Promise<Head | undefined> {
    return headOf(await this.store.script<unknown>(TURN, [place.order], [place.seq]));
  }

  /**
   * A message needs one numbered after it in its conversation (two producers raced: an alert's repeat numbered before the
   * alert it edits): that one goes first, and is woken, or neither would ever go.
   */
  async letFirst(place: Place, neededKey: string): Promise<void> {
    const id = jobIdFor('msg', neededKey);
    await this.wake(await this.store.script<string>(LET_FIRST, [place.order, this.store.key('outbox', 'seq', id)], [id, place.seq]));
  }

  /** Marks a message done, as part of the caller's MULTI: its result is what `wake` takes. */
  doneIn(batch: ChainableCommander, place: Place): void {
    batch.eval(ADVANCE, 1, place.order, place.seq);
  }

  /** Marks a message done (sent, superseded, or failed for good) and wakes the one after it. */
  async done(place: Place): Promise<void> {
    await this.wake(await this.store.script<string>(ADVANCE, [place.order], [place.seq]));
  }

  /** Wakes the message after a done one (`next` is its order field; '' when there is none): here, or its delayed job. */
  async wake(next: unknown): Promise<void> {
    if (typeof next !== 'string' || next === '') return;
    const jobId = next.slice(0, next.indexOf(' '));
    if (this.waiting.wake(jobId)) return;
    const job = await this.queue.getJob(jobId);
    // Not delayed (waiting already, or running): it will find its turn itself.
    await job?.promote().catch(() => undefined);
  }

  /** Resolves once this process has finished the message before this one (see wake), or after `ms`: how long it took. */
  async waitHere(jobId: string, ms: number): Promise<number> {
    return this.waiting.sleep(jobId, ms);
  }

  /**
   * Whether the next message, long next, no longer holds the line: its job failed for good (or finished without saying so),
   * or it was never queued. If so it is passed over (marked done), and true is returned.
   */
  async passOverStale(place: Place, head: Head): Promise<boolean> {
    if (head.headForMs < STALE_MS) return false;
    const job = await this.queue.getJob(head.jobId);
    const state = job ? await job.getState() : 'unknown';
    if (PENDING_STATES.has(state)) return false;
    if (state === 'unknown') {
      // Delivered in another job (see process-sns) with an attempt in hand, or only just numbered: not lost.
      if (head.ageMs < ORPHAN_MS || (await this.store.redis.exists(this.store.key('outbox', 'sending', head.jobId))) === 1) return false;
    }
    await this.done({ order: place.order, seq: head.seq });
    return true;
  }

  /** How long a message waits for its turn before it looks again, unless woken. */
  waitMs(place: Place, head: Head, intervalMs: number): number {
    return Math.min(Math.max((place.seq - head.seq) * intervalMs, WAIT_MIN_MS), WAIT_MAX_MS);
  }
}
