// The launch plans contract: one test body run against the in-memory repository and the Redis one (real Redis, own prefix).
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryLaunchPlans } from '../../src/adapters/memory/launch-plans.js';
import { launchPlanKey, RedisLaunchPlans } from '../../src/adapters/redis/launch-plans.js';
import { Store } from '../../src/adapters/redis/store.js';
import type { LaunchPlansRepository } from '../../src/core/repositories/launch-plans.js';

const DAY = 86400_000;
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = `t${randomBytes(5).toString('hex')}`;
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const pttl = (t: number) => (t === -2 ? undefined : t === -1 ? Infinity : t);

const implementations: [string, () => { plans: LaunchPlansRepository; ttl: (id: string) => Promise<number | undefined> }][] = [
  [
    'in memory',
    () => {
      const plans = new MemoryLaunchPlans({ now: () => Date.now() });
      return { plans, ttl: async (id) => plans.plans.ttl(id) };
    },
  ],
  [
    'in Redis',
    () => {
      const store = new Store(redis, `${prefix}:${randomBytes(3).toString('hex')}`);
      return { plans: new RedisLaunchPlans(store), ttl: async (id) => pttl(await redis.pttl(launchPlanKey(store, id))) };
    },
  ],
];

describe.each(implementations)('launch plans %s', (_name, make) => {
  it('keep a sealed plan by its request id for a while', async () => {
    const { plans, ttl } = make();
    expect(await plans.get('req-1')).toBeUndefined();
    await plans.save('req-1', { sealed: 's1.abcdefgh.cGxhbg' }, 7 * DAY);
    expect(await plans.get('req-1')).toEqual({ sealed: 's1.abcdefgh.cGxhbg' });
    expect(await plans.get('req-2')).toBeUndefined();
    const left = (await ttl('req-1'))!;
    expect(left).toBeGreaterThan(7 * DAY - 60_000);
    expect(left).toBeLessThanOrEqual(7 * DAY);
  });
});
