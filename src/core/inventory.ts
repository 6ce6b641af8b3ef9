// The inventory of provisioned products that commands read instead of scanning the account, and how it is kept true.
import { UpstreamError } from './errors.js';
import type { CatalogPort, Clock, ProvisionedProduct } from './ports.js';

/** What a snapshot changed; `applied` is false when a newer snapshot was already in place. */
export interface ReplaceOutcome {
  applied: boolean;
  added: number;
  updated: number;
  removed: number;
  /** Products the bot changed while the snapshot was read: its own, newer, view is kept. */
  kept: number;
  total: number;
}

/**
 * The bot's copy of every provisioned product in the account, indexed by id, owner (OwnerEmail, any case) and name
 * (any case). The bot writes through it as it acts; a periodic snapshot of the account replaces it, except for what the
 * bot wrote after that snapshot began.
 */
export interface Inventory {
  byId(id: string): Promise<ProvisionedProduct | undefined>;
  byOwner(email: string): Promise<ProvisionedProduct[]>;
  /** Service Catalog names are case-sensitive, the bot's lookups are not: there may be more than one. */
  byName(name: string): Promise<ProvisionedProduct[]>;
  upsert(p: ProvisionedProduct): Promise<void>;
  remove(id: string): Promise<void>;
  /** Starts a snapshot unless one is under way: its mark (every later write wins over it), or undefined. */
  beginSnapshot(leaseMs: number): Promise<number | undefined>;
  /** Keeps the snapshot begun at `mark` going for another `leaseMs`; false when it is no longer this one's. */
  holdSnapshot(mark: number, leaseMs: number): Promise<boolean>;
  /** Makes `snapshot`, read after `mark` was taken, the inventory, in one step; ends that snapshot. */
  replaceAll(snapshot: ProvisionedProduct[], mark: number, at: number): Promise<ReplaceOutcome>;
  /** Ends a snapshot that failed, so the next one need not wait out its lease. */
  abandonSnapshot(mark: number): Promise<void>;
  /** When the last snapshot was applied; undefined before the first (a cold inventory knows nothing yet). */
  syncedAt(): Promise<number | undefined>;
}

export interface InventoryPacing {
  /** Service Catalog pages (100 products each) a reconcile reads at most per second. */
  pagesPerSecond: number;
}

export interface InventoryDeps {
  catalog: CatalogPort;
  inventory: Inventory;
  clock: Clock;
  inventoryPacing: InventoryPacing;
}

/** A snapshot's lease, renewed at every page: a replica that dies mid-scan holds the next one back this long at most. */
export const SNAPSHOT_LEASE_MS = 30_000;
/** The longest a command waits for another replica's first snapshot before it says to try again. */
const COLD_WAIT_MS = 10 * 60_000;
const COLD_POLL_MS = 200;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Reads the whole account, paced, and makes it the inventory; 'busy' while another replica is at it. */
export async function reconcileInventory(deps: InventoryDeps): Promise<ReplaceOutcome | 'busy'> {
  const mark = await deps.inventory.beginSnapshot(SNAPSHOT_LEASE_MS);
  if (mark === undefined) return 'busy';
  const gapMs = 1000 / Math.max(1, deps.inventoryPacing.pagesPerSecond);
  let last = 0;
  let snapshot: ProvisionedProduct[];
  try {
    snapshot = await deps.catalog.searchProvisioned({
      beforePage: async () => {
        const wait = last + gapMs - Date.now();
        if (wait > 0) await sleep(wait);
        last = Date.now();
        if (!(await deps.inventory.holdSnapshot(mark, SNAPSHOT_LEASE_MS))) throw new UpstreamError('the inventory snapshot lost its lease to another replica', true);
      },
    });
  } catch (err) {
    await deps.inventory.abandonSnapshot(mark);
    throw err;
  }
  return deps.inventory.replaceAll(snapshot, mark, deps.clock.now());
}

/**
 * Before the first snapshot the inventory knows nothing, and "you have no products" would be a lie: the first reader
 * takes the snapshot, and every other reader, on any replica, waits for it (the snapshot's lease lets one scan).
 */
export async function warmInventory(deps: InventoryDeps): Promise<void> {
  if ((await deps.inventory.syncedAt()) === undefined) await coldStart(deps);
}

async function coldStart(deps: InventoryDeps): Promise<void> {
  const deadline = Date.now() + COLD_WAIT_MS;
  while (Date.now() < deadline) {
    if ((await reconcileInventory(deps)) !== 'busy') return;
    await sleep(COLD_POLL_MS);
    if ((await deps.inventory.syncedAt()) !== undefined) return;
  }
  throw new UpstreamError('The product inventory is still loading from Service Catalog; try again in a minute.', true);
}

/** Re-reads one product from Service Catalog into the inventory; undefined (and forgotten) when it is gone. */
export async function refreshProduct(deps: Pick<InventoryDeps, 'catalog' | 'inventory'>, id: string): Promise<ProvisionedProduct | undefined> {
  const fresh = await deps.catalog.describeProvisioned(id);
  if (fresh) await deps.inventory.upsert(fresh);
  else await deps.inventory.remove(id);
  return fresh;
}

/** A product just provisioned: in the inventory at once, as Service Catalog shows it while its record runs. */
export function provisioningProduct(
  plan: { name: string; productId: string; productName: string; versionId: string; versionName: string; tags: Record<string, string> },
  ids: { provisionedProductId: string; recordId: string },
  at: number,
): ProvisionedProduct {
  return {
    id: ids.provisionedProductId,
    name: plan.name,
    status: 'UNDER_CHANGE',
    productId: plan.productId,
    productName: plan.productName,
    versionId: plan.versionId,
    versionName: plan.versionName,
    lastRecordId: ids.recordId,
    createdTime: new Date(at).toISOString(),
    tags: { ...plan.tags },
  };
}

/** A record the bot started on a product (update, terminate): it is UNDER_CHANGE until the watch sees the record settle. */
export async function markChanging(deps: Pick<InventoryDeps, 'inventory'>, id: string, recordId: string): Promise<void> {
  const p = await deps.inventory.byId(id);
  if (p) await deps.inventory.upsert({ ...p, status: 'UNDER_CHANGE', lastRecordId: recordId });
}

/** A record settled: a terminated product leaves the inventory, any other is re-read as Service Catalog now has it. */
export async function recordSettled(deps: Pick<InventoryDeps, 'catalog' | 'inventory'>, id: string, action: string, succeeded: boolean): Promise<void> {
  if (action === 'terminate' && succeeded) await deps.inventory.remove(id);
  else await refreshProduct(deps, id);
}
