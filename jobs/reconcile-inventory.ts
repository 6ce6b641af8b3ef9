// Reconciles the inventory of provisioned products with the whole account, every INVENTORY_RECONCILE_MS, on one replica.
import type { Job, Queue } from 'bullmq';
import type { Logger } from 'pino';
import { reconcileInventory, type InventoryDeps } from '../src/core/inventory.js';
import { QUEUE } from './queues.js';

export const name = QUEUE.reconcile;
/** One scheduler whichever replica upserts it, so one job per interval for the whole deployment. */
export const SCHEDULER_ID = 'reconcile-inventory';
export type Payload = Record<string, never>;

export type Deps = InventoryDeps & { log: Logger };

/** Creates the job scheduler, or changes its interval; every replica calls it at start and they share the one scheduler. */
export async function schedule(queue: Queue, everyMs: number): Promise<void> {
  await queue.upsertJobScheduler(SCHEDULER_ID, { every: everyMs }, {
    name: 'reconcile',
    data: {},
    // A failed run is not retried: the next one, an interval later, is the retry.
    opts: { attempts: 1, removeOnComplete: { count: 10 }, removeOnFail: { count: 50 } },
  });
}

export async function process(job: Job<Payload>, deps: Deps): Promise<string> {
  const t0 = Date.now();
  const outcome = await reconcileInventory(deps);
  if (outcome === 'busy') return 'another replica is reconciling';
  const { applied, added, updated, removed, kept, total } = outcome;
  deps.log.info({ jobId: job.id, ms: Date.now() - t0, applied, added, updated, removed, kept, total }, 'inventory reconciled');
  return applied ? `${total} products: ${added} added, ${updated} updated, ${removed} removed, ${kept} kept` : 'a newer snapshot was already in place';
}
