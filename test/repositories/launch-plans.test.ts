// The launch plans contract: one test body run against the in-memory repository and the Redis one (real Redis, own prefix).
import { describe, expect, it } from 'vitest';
import { MemoryLaunchPlans } from '../../src/adapters/memory/launch-plans.js';
import { launchPlanKey, RedisLaunchPlans } from '../../src/adapters/redis/launch-plans.js';
import type { LaunchPlansRepository } from '../../src/core/repositories/launch-plans.js';
import { backends, testRedis } from '../support/backends.js';

const DAY = 86400_000;
const redis = testRedis();

const implementations = backends<[], { plans: LaunchPlansRepository; ttl: (id: string) => Promise<number | undefined> }>(
  () => {
    const plans = new MemoryLaunchPlans({ now: () => Date.now() });
    return { plans, ttl: async (id) => plans.plans.ttl(id) };
  },
  () => {
    const store = redis.store();
    return { plans: new RedisLaunchPlans(store), ttl: (id) => redis.ttl(launchPlanKey(store, id)) };
  },
);

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
