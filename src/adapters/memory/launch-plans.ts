// Launch plans in memory, expiring by the clock.
import type { LaunchPlan } from '../../core/launch.js';
import type { Clock } from '../../core/ports.js';
import type { LaunchPlansRepository } from '../../core/repositories/launch-plans.js';
import type { Sealed } from '../../core/sealed.js';
import { ExpiringMap } from './expiring-map.js';

export class MemoryLaunchPlans implements LaunchPlansRepository {
  readonly plans: ExpiringMap<LaunchPlan | Sealed>;

  constructor(clock: Clock) {
    this.plans = new ExpiringMap(clock);
  }

  async save(requestId: string, plan: Sealed, ttlMs: number): Promise<void> {
    this.plans.set(requestId, structuredClone(plan), ttlMs);
  }

  async get(requestId: string): Promise<LaunchPlan | Sealed | undefined> {
    const p = this.plans.get(requestId);
    return p && structuredClone(p);
  }
}
