// Launch plans in Redis: one sealed plan per launch request, expiring.
import type { LaunchPlan } from '../../core/launch.js';
import type { LaunchPlansRepository } from '../../core/repositories/launch-plans.js';
import type { Sealed } from '../../core/sealed.js';
import type { Store } from './store.js';

export const launchPlanKey = (store: Pick<Store, 'key'>, requestId: string) => store.key('launch-plan', requestId);

export class RedisLaunchPlans implements LaunchPlansRepository {
  constructor(private readonly store: Store) {}

  async save(requestId: string, plan: Sealed, ttlMs: number): Promise<void> {
    await this.store.setJson(launchPlanKey(this.store, requestId), plan, ttlMs);
  }

  async get(requestId: string): Promise<LaunchPlan | Sealed | undefined> {
    return this.store.getJson<LaunchPlan | Sealed>(launchPlanKey(this.store, requestId));
  }
}
