// The snoozes contract: one test body run against the in-memory repository and the Redis one (real Redis, own prefix).
import { describe, expect, it } from 'vitest';
import { MemorySnoozes } from '../../src/adapters/memory/snoozes.js';
import { RedisSnoozes, snoozeKey } from '../../src/adapters/redis/snoozes.js';
import type { Clock } from '../../src/core/ports.js';
import type { SnoozesRepository } from '../../src/core/repositories/snoozes.js';
import { backends, testRedis } from '../support/backends.js';

const HOUR = 3600_000;
const redis = testRedis();

const clock: Clock = { now: () => Date.now() };

const implementations = backends<[], { snoozes: SnoozesRepository; ttl: (ppId: string) => Promise<number | undefined> }>(
  () => {
    const snoozes = new MemorySnoozes(clock);
    return { snoozes, ttl: async (ppId) => snoozes.entries.ttl(ppId) };
  },
  () => {
    const store = redis.store();
    return { snoozes: new RedisSnoozes(store, clock), ttl: (ppId) => redis.ttl(snoozeKey(store, ppId)) };
  },
);

describe.each(implementations)('snoozes %s', (_name, make) => {
  it('a snooze lasts until it ends, then is gone by itself', async () => {
    const { snoozes, ttl } = make();
    expect(await snoozes.until('pp-1')).toBeUndefined();
    const until = Date.now() + 2 * HOUR;
    await snoozes.snooze('pp-1', until);
    expect(await snoozes.until('pp-1')).toBe(until);
    expect(await snoozes.until('pp-2')).toBeUndefined();
    const left = (await ttl('pp-1'))!;
    expect(left).toBeGreaterThan(2 * HOUR - 60_000);
    expect(left).toBeLessThanOrEqual(2 * HOUR);
  });

  it('a later snooze replaces an earlier one; clear ends it', async () => {
    const { snoozes, ttl } = make();
    await snoozes.snooze('pp-1', Date.now() + 2 * HOUR);
    const shorter = Date.now() + HOUR;
    await snoozes.snooze('pp-1', shorter);
    expect(await snoozes.until('pp-1')).toBe(shorter);
    expect(await ttl('pp-1')).toBeLessThanOrEqual(HOUR);
    await snoozes.clear('pp-1');
    expect(await snoozes.until('pp-1')).toBeUndefined();
    await snoozes.clear('pp-1');
  });
});

describe('snoozes in memory, by its clock', () => {
  it('end when the clock passes them', async () => {
    let now = Date.UTC(2026, 10, 23);
    const snoozes = new MemorySnoozes({ now: () => now });
    await snoozes.snooze('pp-1', now + HOUR);
    now += HOUR - 1;
    expect(await snoozes.until('pp-1')).toBeDefined();
    expect(snoozes.isSnoozed('pp-1')).toBe(true);
    now += 1;
    expect(await snoozes.until('pp-1')).toBeUndefined();
    expect(snoozes.isSnoozed('pp-1')).toBe(false);
  });
});
