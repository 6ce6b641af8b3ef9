// The snoozes contract: one test body run against the in-memory repository and the Redis one (real Redis, own prefix).
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemorySnoozes } from '../../src/adapters/memory/snoozes.js';
import { RedisSnoozes, snoozeKey } from '../../src/adapters/redis/snoozes.js';
import { Store } from '../../src/adapters/redis/store.js';
import type { Clock } from '../../src/core/ports.js';
import type { SnoozesRepository } from '../../src/core/repositories/snoozes.js';

const HOUR = 3600_000;
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = `t${randomBytes(5).toString('hex')}`;
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const clock: Clock = { now: () => Date.now() };

const implementations: [string, () => { snoozes: SnoozesRepository; ttl: (ppId: string) => Promise<number | undefined> }][] = [
  [
    'in memory',
    () => {
      const snoozes = new MemorySnoozes(clock);
      return { snoozes, ttl: async (ppId) => snoozes.entries.ttl(ppId) };
    },
  ],
  [
    'in Redis',
    () => {
      const store = new Store(redis, `${prefix}:${randomBytes(3).toString('hex')}`);
      return {
        snoozes: new RedisSnoozes(store, clock),
        ttl: async (ppId) => {
          const t = await redis.pttl(snoozeKey(store, ppId));
          return t === -2 ? undefined : t === -1 ? Infinity : t;
        },
      };
    },
  ],
];

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
