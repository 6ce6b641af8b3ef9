// Launch plans while they are provisioned: a retried launch finds its plan and carries on instead of planning anew.
import type { LaunchPlan } from '../launch.js';
import type { Sealed } from '../sealed.js';

export interface LaunchPlansRepository {
  /** Keeps a launch's plan, sealed (its parameters may hold NoEcho values), by the launch's request id, for `ttlMs`. */
  save(requestId: string, plan: Sealed, ttlMs: number): Promise<void>;
  /** The plan as saved (in clear if saved before sealing existed), or undefined. */
  get(requestId: string): Promise<LaunchPlan | Sealed | undefined>;
}
