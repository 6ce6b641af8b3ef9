// The inventory's contract, one test body run against the Redis implementation (real Redis) and the in-memory one.
import { describe, expect, it } from 'vitest';
import { MemoryInventory } from '../../src/adapters/memory/inventory.js';
import { RedisInventory } from '../../src/adapters/redis/inventory.js';
import type { Inventory } from '../../src/core/inventory.js';
import type { ProvisionedProduct } from '../../src/core/ports.js';
import { backends, testRedis } from '../support/backends.js';
import { eventually } from '../support/harness.js';

const redis = testRedis();

const implementations = backends<[], Inventory>(
  () => new MemoryInventory(),
  () => new RedisInventory(redis.store()),
);

function product(id: string, name: string, owner?: string, status = 'AVAILABLE'): ProvisionedProduct {
  return { id, name, status, productName: 'EC2 Linux', tags: owner ? { OwnerEmail: owner, Project: 'scicomp' } : {} };
}

const ids = (ps: ProvisionedProduct[]) => ps.map((p) => p.id).sort();

describe.each(implementations)('inventory %s', (_name, make) => {
  it('is cold until its first snapshot, then knows when it was taken', async () => {
    const inv = make();
    expect(await inv.syncedAt()).toBeUndefined();
    await inv.upsert(product('pp-1', 'jdoe-box', 'jdoe@synapse.org'));
    expect(await inv.syncedAt()).toBeUndefined();
    const mark = (await inv.beginSnapshot(10_000))!;
    await inv.replaceAll([], mark, 1234);
    expect(await inv.syncedAt()).toBe(1234);
  });

  it('finds products by id, by owner and by name, in any case', async () => {
    const inv = make();
    await inv.upsert(product('pp-1', 'jdoe-box', 'JDoe@Synapse.org'));
    await inv.upsert(product('pp-2', 'jdoe-data', 'jdoe@synapse.org'));
    await inv.upsert(product('pp-3', 'ann-box', 'ann@synapse.org'));
    await inv.upsert(product('pp-4', 'orphan'));
    expect(await inv.byId('pp-3')).toEqual(product('pp-3', 'ann-box', 'ann@synapse.org'));
    expect(await inv.byId('pp-9')).toBeUndefined();
    expect(ids(await inv.byOwner('jdoe@SYNAPSE.org'))).toEqual(['pp-1', 'pp-2']);
    expect(await inv.byOwner('nobody@synapse.org')).toEqual([]);
    expect(ids(await inv.byName('JDOE-Box'))).toEqual(['pp-1']);
    expect(ids(await inv.byName('orphan'))).toEqual(['pp-4']);
    expect(await inv.byName('jdoe')).toEqual([]);
  });

  it('moves a product between owners and names when it is upserted, and forgets it when removed', async () => {
    const inv = make();
    await inv.upsert(product('pp-1', 'jdoe-box', 'jdoe@synapse.org'));
    await inv.upsert({ ...product('pp-1', 'ann-box', 'ann@synapse.org'), status: 'UNDER_CHANGE' });
    expect(await inv.byOwner('jdoe@synapse.org')).toEqual([]);
    expect(await inv.byName('jdoe-box')).toEqual([]);
    expect(await inv.byOwner('ann@synapse.org')).toEqual([{ ...product('pp-1', 'ann-box', 'ann@synapse.org'), status: 'UNDER_CHANGE' }]);
    await inv.remove('pp-1');
    expect(await inv.byId('pp-1')).toBeUndefined();
    expect(await inv.byOwner('ann@synapse.org')).toEqual([]);
    expect(await inv.byName('ann-box')).toEqual([]);
  });

  it('replaces everything with a snapshot: adds, updates, removes, and re-indexes owners', async () => {
    const inv = make();
    await inv.upsert(product('pp-1', 'jdoe-box', 'jdoe@synapse.org'));
    await inv.upsert(product('pp-2', 'jdoe-gone', 'jdoe@synapse.org'));
    await inv.upsert(product('pp-3', 'ann-same', 'ann@synapse.org'));
    const mark = (await inv.beginSnapshot(10_000))!;
    const outcome = await inv.replaceAll(
      [product('pp-1', 'jdoe-box', 'ann@synapse.org'), product('pp-3', 'ann-same', 'ann@synapse.org'), product('pp-4', 'new-one', 'jdoe@synapse.org')],
      mark,
      5000,
    );
    expect(outcome).toEqual({ applied: true, added: 1, updated: 1, removed: 1, kept: 0, total: 3 });
    expect(ids(await inv.byOwner('jdoe@synapse.org'))).toEqual(['pp-4']);
    expect(ids(await inv.byOwner('ann@synapse.org'))).toEqual(['pp-1', 'pp-3']);
    expect(await inv.byName('jdoe-gone')).toEqual([]);
  });

  it('keeps what the bot wrote while a snapshot was being read', async () => {
    const inv = make();
    await inv.upsert(product('pp-old', 'jdoe-old', 'jdoe@synapse.org'));
    await inv.upsert(product('pp-ending', 'jdoe-ending', 'jdoe@synapse.org'));
    const mark = (await inv.beginSnapshot(10_000))!;
    // The scan is under way: the bot launches one product and sees another terminated.
    await inv.upsert(product('pp-new', 'jdoe-new', 'jdoe@synapse.org', 'UNDER_CHANGE'));
    await inv.remove('pp-ending');
    const outcome = await inv.replaceAll([product('pp-old', 'jdoe-old', 'jdoe@synapse.org'), product('pp-ending', 'jdoe-ending', 'jdoe@synapse.org')], mark, 6000);
    expect(outcome).toMatchObject({ applied: true, kept: 2, removed: 0, total: 2 });
    expect(ids(await inv.byOwner('jdoe@synapse.org'))).toEqual(['pp-new', 'pp-old']);
    // The next snapshot, begun after those writes, is the truth again.
    const next = (await inv.beginSnapshot(10_000))!;
    await inv.replaceAll([product('pp-old', 'jdoe-old', 'jdoe@synapse.org')], next, 7000);
    expect(ids(await inv.byOwner('jdoe@synapse.org'))).toEqual(['pp-old']);
  });

  it('refuses a snapshot older than the one in place', async () => {
    const inv = make();
    const older = (await inv.beginSnapshot(10_000))!;
    await inv.abandonSnapshot(older);
    const newer = (await inv.beginSnapshot(10_000))!;
    await inv.replaceAll([product('pp-1', 'jdoe-box', 'jdoe@synapse.org')], newer, 2000);
    const outcome = await inv.replaceAll([], older, 3000);
    expect(outcome.applied).toBe(false);
    expect(ids(await inv.byOwner('jdoe@synapse.org'))).toEqual(['pp-1']);
    expect(await inv.syncedAt()).toBe(2000);
  });

  it('lets one snapshot run at a time, until it ends or its lease lapses', async () => {
    const inv = make();
    const mark = (await inv.beginSnapshot(10_000))!;
    expect(await inv.beginSnapshot(10_000)).toBeUndefined();
    expect(await inv.holdSnapshot(mark, 10_000)).toBe(true);
    expect(await inv.holdSnapshot(mark + 1000, 10_000)).toBe(false);
    await inv.replaceAll([], mark, 1);
    const second = (await inv.beginSnapshot(10_000))!;
    expect(second).toBeGreaterThan(mark);
    await inv.abandonSnapshot(second);
    const third = (await inv.beginSnapshot(30))!;
    expect(third).toBeDefined();
    // Its holder died: the lease lapses and another may begin; the dead one can no longer hold it.
    const fourth = await eventually(() => inv.beginSnapshot(10_000), 'lease lapsed', 2000);
    expect(fourth).toBeGreaterThan(third);
    expect(await inv.holdSnapshot(third, 10_000)).toBe(false);
  });

  it('replaces tens of thousands of products in one step, then only what changed', async () => {
    const inv = make();
    const many = Array.from({ length: 50_000 }, (_, i) => product(`pp-${i}`, `u${i % 5000}-p${i}`, `u${i % 5000}@synapse.org`));
    const mark = (await inv.beginSnapshot(10_000))!;
    expect(await inv.replaceAll(many, mark, 1)).toMatchObject({ applied: true, added: 50_000, total: 50_000 });
    expect(ids(await inv.byOwner('u7@synapse.org'))).toHaveLength(10);
    const again = (await inv.beginSnapshot(10_000))!;
    many[7] = product('pp-7', 'u7-p7', 'u8@synapse.org');
    expect(await inv.replaceAll(many.slice(1), again, 2)).toMatchObject({ added: 0, updated: 1, removed: 1, total: 49_999 });
    // pp-7 went to u8, pp-0 (u0's) is gone.
    expect(ids(await inv.byOwner('u7@synapse.org'))).toHaveLength(9);
    expect(ids(await inv.byOwner('u8@synapse.org'))).toContain('pp-7');
    expect(ids(await inv.byOwner('u0@synapse.org'))).toHaveLength(9);
  });
});
