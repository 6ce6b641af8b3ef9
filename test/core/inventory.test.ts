// Keeping the inventory true: paced reconciles, one snapshot at a time, and a cold start that never answers "nothing".
import { describe, expect, it } from 'vitest';
import { MemoryInventory } from '../../src/adapters/memory/inventory.js';
import { UpstreamError } from '../../src/core/errors.js';
import { reconcileInventory, warmInventory, type InventoryDeps } from '../../src/core/inventory.js';
import { productsOwnedBy } from '../../src/core/ownership.js';
import { systemClock } from '../../src/core/ports.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';

function deps(o: { products?: number; pagesPerSecond?: number; apiLatencyMs?: number } = {}) {
  const catalog = new SandboxCatalog({ products: o.products ?? 250, apiLatencyMs: o.apiLatencyMs });
  const inventory = new MemoryInventory();
  const d: InventoryDeps = { catalog, inventory, clock: systemClock, inventoryPacing: { pagesPerSecond: o.pagesPerSecond ?? 100 } };
  return { d, catalog, inventory };
}

describe('reconcileInventory', () => {
  it('reads the account at most pagesPerSecond pages a second', async () => {
    const { d, catalog } = deps({ products: 250, pagesPerSecond: 10 });
    const t0 = performance.now();
    expect(await reconcileInventory(d)).toMatchObject({ applied: true, added: 250, total: 250 });
    // Three pages, 100 ms apart at least.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(195);
    expect(catalog.calls).toEqual({ SearchProvisionedProducts: 3 });
  });

  it('is busy, and reads nothing, while another replica takes a snapshot', async () => {
    const { d, catalog, inventory } = deps();
    await inventory.beginSnapshot(10_000);
    expect(await reconcileInventory(d)).toBe('busy');
    expect(catalog.callCount()).toBe(0);
  });

  it('gives up a snapshot whose lease another took, and leaves the inventory alone', async () => {
    const { d, inventory } = deps({ products: 250, pagesPerSecond: 100 });
    const held = inventory.holdSnapshot.bind(inventory);
    let pages = 0;
    inventory.holdSnapshot = async (mark, leaseMs) => (++pages === 2 ? false : held(mark, leaseMs));
    await expect(reconcileInventory(d)).rejects.toThrow(UpstreamError);
    expect(await inventory.syncedAt()).toBeUndefined();
    // The failed snapshot was ended: the next one need not wait out its lease.
    inventory.holdSnapshot = held;
    expect(await reconcileInventory(d)).toMatchObject({ applied: true });
  });
});

describe('a cold inventory', () => {
  it('takes the first snapshot itself before answering', async () => {
    const { d } = deps();
    const mine = await productsOwnedBy(d, 'USEED4@synapse.org');
    expect(mine.map((p) => p.name)).toEqual(Array.from({ length: 10 }, (_, i) => `useed4-p${i}`));
  });

  it('waits for the snapshot another replica is taking, then answers from it', async () => {
    const { d, catalog, inventory } = deps();
    const other = (await inventory.beginSnapshot(10_000))!;
    const answer = productsOwnedBy(d, 'useed4@synapse.org');
    const snapshot = await catalog.searchProvisioned();
    await inventory.replaceAll(snapshot, other, Date.now());
    expect(await answer).toHaveLength(10);
    // The other replica's scan only.
    expect(catalog.calls).toEqual({ SearchProvisionedProducts: 3 });
  });

  it('takes the snapshot itself when the replica that began one died', async () => {
    const { d, inventory } = deps();
    await inventory.beginSnapshot(150);
    expect(await productsOwnedBy(d, 'useed4@synapse.org')).toHaveLength(10);
  });

  it('scans once for many commands at once', async () => {
    const { d, catalog } = deps({ apiLatencyMs: 20 });
    await Promise.all(Array.from({ length: 10 }, () => warmInventory(d)));
    expect(catalog.calls).toEqual({ SearchProvisionedProducts: 3 });
  });
});
