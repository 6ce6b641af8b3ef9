// The admin feeds' digest state in Redis: events wait in a list per feed, each once by its key, and one flush job at a
// time posts what has gathered, at most once per interval. Shared by every replica, so a burst is a few posts in all.
import type { Queue } from 'bullmq';
import type { Store } from '../src/adapters/redis/store.js';
import type { FeedEvent } from '../src/core/context.js';

export type FeedTarget = 'slack' | 'teams';

/** An event key is remembered this long: a replayed alarm or launch within it is not listed again. */
const SEEN_TTL_MS = 7 * 24 * 3600_000;
/** At most this many events, and about this much text, in one post: Slack and Teams webhooks cap a message's size. */
export const DIGEST_MAX_EVENTS = 100;
export const DIGEST_MAX_CHARS = 12_000;

/**
 * Adds an event (unless its key was seen) and names the flush that will post it: the current one, or a new one.
 * KEYS: seen marker, events list, flush (current generation), generation counter, last post time. ARGV: event, seen
 * TTL, interval. Returns {generation, ms until it may post}, or {} when nothing waits.
 */
const ADD = `
if redis.call('SET', KEYS[1], '1', 'PX', ARGV[2], 'NX') then redis.call('RPUSH', KEYS[2], ARGV[1]) end
local gen = redis.call('GET', KEYS[3])
if not gen then
  if redis.call('LLEN', KEYS[2]) == 0 then return {} end
  gen = tostring(redis.call('INCR', KEYS[4]))
  redis.call('SET', KEYS[3], gen)
end
local t = redis.call('TIME')
local wait = tonumber(redis.call('GET', KEYS[5]) or '0') + tonumber(ARGV[3]) - (tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
if wait < 0 then wait = 0 end
return {gen, wait}
`;

/**
 * What a flush may post now. KEYS: flush, last post time, events. ARGV: generation, interval, max events.
 * Returns {-1} for a flush that is no longer current, {ms} to wait first, or {0, events}.
 */
const TAKE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {-1} end
local t = redis.call('TIME')
local wait = tonumber(redis.call('GET', KEYS[2]) or '0') + tonumber(ARGV[2]) - (tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
if wait > 0 then return {wait} end
return {0, redis.call('LRANGE', KEYS[3], 0, tonumber(ARGV[3]) - 1)}
`;

/**
 * The first ARGV[2] events were posted: drop them and note the time. KEYS: flush, last post time, events. ARGV:
 * generation, count. Returns 1 if more wait (this flush goes on), 0 if none (it ends), -1 if it is no longer current.
 */
const POSTED = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
redis.call('LTRIM', KEYS[3], tonumber(ARGV[2]), -1)
local t = redis.call('TIME')
redis.call('SET', KEYS[2], tostring(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)), 'PX', 86400000)
if redis.call('LLEN', KEYS[3]) > 0 then return 1 end
redis.call('DEL', KEYS[1])
return 0
`;

/** A flush that gave up: the next event starts another, which posts what this one could not. KEYS: flush. ARGV: generation. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`;

export type Take = { stale: true } | { waitMs: number } | { events: FeedEvent[] };

export class FeedDigest {
  constructor(
    private readonly store: Store,
    readonly intervalMs: number,
  ) {}

  private keys(target: FeedTarget) {
    const k = (...parts: string[]) => this.store.key('feed', target, ...parts);
    return { events: k('events'), flush: k('flush'), gen: k('gen'), last: k('last'), seen: (key: string) => k('seen', key) };
  }

  /** The flush job of a generation: its id is fixed, so adding it again (a retried publish) is a no-op. */
  static jobId(target: FeedTarget, gen: string): string {
    return `feed-${target}-${gen}`;
  }

  /** Adds the event to the feed's digest and makes sure a flush job will post it. */
  async add(queue: Queue, target: FeedTarget, event: FeedEvent, jobOpts: object): Promise<void> {
    const k = this.keys(target);
    const out = await this.store.script<[string, number] | []>(ADD, [k.seen(event.key), k.events, k.flush, k.gen, k.last], [JSON.stringify(event), SEEN_TTL_MS, this.intervalMs]);
    if (out.length === 0) return;
    const [gen, waitMs] = out as [string, number];
    await queue.add('digest', { target, gen }, { ...jobOpts, jobId: FeedDigest.jobId(target, gen), delay: Number(waitMs) });
  }

  async take(target: FeedTarget, gen: string): Promise<Take> {
    const k = this.keys(target);
    const [head, events] = await this.store.script<[number, string[]?]>(TAKE, [k.flush, k.last, k.events], [gen, this.intervalMs, DIGEST_MAX_EVENTS]);
    if (head < 0) return { stale: true };
    if (head > 0) return { waitMs: head };
    return { events: (events ?? []).map((e) => JSON.parse(e) as FeedEvent) };
  }

  /** Returns whether more events wait for this flush. */
  async posted(target: FeedTarget, gen: string, count: number): Promise<boolean> {
    const k = this.keys(target);
    return (await this.store.script<number>(POSTED, [k.flush, k.last, k.events], [gen, count])) === 1;
  }

  async release(target: FeedTarget, gen: string): Promise<void> {
    await this.store.script(RELEASE, [this.keys(target).flush], [gen]);
  }
}
