// Commands read the inventory, not the account: counted Service Catalog calls behind signed Slack commands, and the
// reconcile job picking up changes made outside the bot.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ProvisionedProduct } from '../../src/core/ports.js';
import { SANDBOX_PRODUCT_IDS, SandboxCatalog } from '../../src/sandbox/catalog.js';
import * as reconcileJob from '../../jobs/reconcile-inventory.js';
import { dropPrefix, eventually, Harness, stopReplicas } from '../support/harness.js';
import { testPolicy } from '../support/policy.js';
import { SlackApi } from '../support/slack-api.js';

/** A seeded owner (useed<k>@synapse.org, as the recording Slack API answers for USEED<k>) and their products. */
const seeded = (k: number) => ({ user: `USEED${k}`, email: `useed${k}@synapse.org`, product: (i: number) => `useed${k}-p${i}` });

function confirmationId(text: string): string {
  const body = JSON.parse(text) as { blocks: { elements?: { action_id: string; value: string }[] }[] };
  const button = body.blocks.flatMap((b) => b.elements ?? []).find((e) => e.action_id === 'scicomp:confirm');
  if (!button) throw new Error(`no confirm button in ${text}`);
  return button.value;
}

async function byName(sandbox: SandboxCatalog, name: string): Promise<ProvisionedProduct> {
  const p = await sandbox.findProvisionedByName(name);
  if (!p) throw new Error(`no ${name} in the sandbox`);
  return p;
}

/** What the account is asked while `run` runs: Service Catalog calls, and the SearchQuery of each search. */
async function counted<T>(sandbox: SandboxCatalog, run: () => Promise<T>): Promise<{ value: T; calls: number; byOperation: Record<string, number>; searches: string[] }> {
  const before = { ...sandbox.calls };
  const searches = sandbox.searches.length;
  const value = await run();
  const byOperation: Record<string, number> = {};
  for (const [op, n] of Object.entries(sandbox.calls)) if (n !== (before[op] ?? 0)) byOperation[op] = n - (before[op] ?? 0);
  return { value, calls: Object.values(byOperation).reduce((a, b) => a + b, 0), byOperation, searches: sandbox.searches.slice(searches) };
}

describe('commands read the inventory', () => {
  let h: Harness;
  let sandbox: SandboxCatalog;

  async function answer(user: string, text: string): Promise<string> {
    const { responseId } = await h.command(user, text);
    return eventually(() => h.replies(responseId).join('\n'), `answer to ${text}`);
  }

  beforeAll(async () => {
    // Three pages of account: a scan is three searches of the whole account, a re-read one search by id.
    sandbox = new SandboxCatalog({ provisionMs: 300, products: 250 });
    h = await Harness.start({ catalog: sandbox, policy: testPolicy() });
    await eventually(() => h.app.deps.inventory.syncedAt(), 'the first snapshot');
    // Warm the actors' profiles, so the counts below are the commands' own.
    for (const k of [1, 2, 3, 4, 5, 6, 7]) await answer(seeded(k).user, 'help');
  });

  afterAll(async () => {
    await dropPrefix(h.app);
    await h.close();
  });

  it('list makes no Service Catalog call at all, and lists the caller’s products', async () => {
    const { user, product } = seeded(1);
    const { value: text, calls, searches } = await counted(sandbox, () => answer(user, 'list'));
    expect(text).toContain('You have 10 provisioned products');
    for (let i = 0; i < 10; i++) expect(text).toContain(product(i));
    expect(text).not.toContain('useed2-');
    expect(calls).toBe(0);
    expect(searches).toEqual([]);
  });

  it('status scans nothing: only the product’s records are read', async () => {
    const { user, product } = seeded(2);
    const { value: text, searches, byOperation } = await counted(sandbox, () => answer(user, `status ${product(4)}`));
    expect(text).toContain(`${product(4)}: AVAILABLE`);
    expect(searches).toEqual([]);
    expect(byOperation).toEqual({ DescribeRecord: 1 });
  });

  it('terminate, update and transfer re-read the one product by id before acting', async () => {
    const { user, product } = seeded(3);
    const asked: [string, string][] = [
      [`terminate ${product(1)}`, `Terminate ${product(1)}?`],
      [`update ${product(5)} InstanceType=t3.medium`, `Update ${product(5)}?`],
      [`transfer ${product(3)} <@UBOB>`, `Transfer ${product(3)} to ubob`],
    ];
    for (const [text, expected] of asked) {
      const { id } = await byName(sandbox, /useed3-p\d/.exec(text)![0]);
      const { value, searches } = await counted(sandbox, () => answer(user, text));
      expect(value).toContain(expected);
      expect(searches).toEqual([`id:${id}`]);
    }
  });

  it('acts on Service Catalog’s word, not the inventory’s: a product given away outside the bot is refused', async () => {
    const { user, product } = seeded(4);
    const p = await byName(sandbox, product(5));
    // Retagged in the console: the inventory still says it is useed4's.
    await sandbox.update({ provisionedProductId: p.id, productId: p.productId!, versionId: p.versionId!, parameters: {}, parameterKeys: [], tags: { ...p.tags, OwnerEmail: 'someone@synapse.org' }, token: 'console-retag' });
    expect(await answer(user, 'list')).toContain(product(5));
    const refused = await answer(user, `terminate ${product(5)}`);
    // Given away: answered as a product the user does not have, as for any other person's product.
    expect(refused).toContain('You have no product called');
    expect(refused).toContain(product(5));
    expect(refused).not.toContain('scicomp:confirm');
    // The re-read corrected the inventory too.
    expect(await answer(user, 'list')).not.toContain(product(5));
  });

  it('a product terminated outside the bot is gone when acted on, and from the list after', async () => {
    const { user, product } = seeded(5);
    const p = await byName(sandbox, product(6));
    await sandbox.terminate({ provisionedProductId: p.id, token: 'console-terminate' });
    await eventually(async () => !(await sandbox.describeProvisioned(p.id)), 'terminated in the account');
    const refused = await answer(user, `update ${product(6)} InstanceType=t3.medium`);
    expect(refused).toContain('You have no product called');
    expect(refused).toContain(product(6));
    expect(await answer(user, 'list')).not.toContain(product(6));
  });

  it('a launch checks a name the inventory does not know with Service Catalog', async () => {
    const { user, email } = seeded(6);
    const linux = await sandbox.getProduct(SANDBOX_PRODUCT_IDS['EC2 Linux']!);
    const version = linux.versions.find((v) => v.active)!;
    const { pathId } = await sandbox.launchOptions(linux.id, version.id);
    // Launched from the console a moment ago: the next reconcile is minutes away.
    await sandbox.provision({ productId: linux.id, versionId: version.id, pathId, name: 'useed6-console', parameters: {}, tags: { OwnerEmail: email }, token: 'console-launch' });
    const { value, searches } = await counted(sandbox, () => answer(user, 'launch "EC2 Linux" console'));
    expect(value).toContain('You already have a product called useed6-console');
    expect(searches).toEqual(['name:useed6-console']);
  });

  it('a launch re-reads the product the inventory knows by that name: a name freed outside the bot can be used again', async () => {
    const { user, product } = seeded(6);
    const old = await byName(sandbox, product(3));
    await sandbox.terminate({ provisionedProductId: old.id, token: 'console-free-name' });
    await eventually(async () => !(await sandbox.describeProvisioned(old.id)), 'terminated in the account');
    const { value, searches } = await counted(sandbox, () => answer(user, 'launch "EC2 Linux" p3'));
    expect(value).toContain(`Launching ${product(3)}`);
    expect(searches).toEqual([`id:${old.id}`, `name:${product(3)}`]);
    // And a name that is taken is refused on Service Catalog's word, with one call.
    const taken = await counted(sandbox, () => answer(user, `launch "EC2 Linux" p5`));
    expect(taken.value).toContain(`You already have a product called ${product(5)}`);
    expect(taken.searches).toEqual([`id:${(await byName(sandbox, product(5))).id}`]);
  });

  it('what the bot launches is listed at once, available once ready, and gone once terminated, with no scan', async () => {
    const { user } = seeded(7);
    const { value: text, searches } = await counted(sandbox, async () => {
      const started = await answer(user, 'launch "EC2 Linux" fresh');
      expect(started).toContain('Launching useed7-fresh');
      expect(await answer(user, 'list')).toMatch(/useed7-fresh[^"]*UNDER_CHANGE/);
      await eventually(() => h.dms(user).find((m) => m.includes('useed7-fresh is ready')), 'ready DM');
      expect(await answer(user, 'list')).toMatch(/useed7-fresh[^"]*AVAILABLE/);
      const ask = await answer(user, 'terminate fresh');
      const click = await h.click(user, 'confirm', confirmationId(ask));
      await eventually(() => h.replies(click.responseId).join(''), 'terminating');
      expect(await answer(user, 'list')).toMatch(/useed7-fresh[^"]*UNDER_CHANGE/);
      await eventually(() => h.dms(user).find((m) => m.includes('useed7-fresh is terminated')), 'terminated DM');
      return answer(user, 'list');
    });
    expect(text).not.toContain('useed7-fresh');
    expect(text).toContain('You have 10 provisioned products');
    expect(searches.filter((q) => q === '')).toEqual([]);
  });

  it('a cold inventory (Redis emptied) takes a snapshot before it answers, never "you have no products"', async () => {
    const keys = await h.app.redis.keys(h.app.store.key('inventory', '*'));
    await h.app.redis.del(...keys);
    expect(await h.app.deps.inventory.syncedAt()).toBeUndefined();
    const { value: text, searches } = await counted(sandbox, () => answer(seeded(1).user, 'list'));
    expect(text).toContain('You have 10 provisioned products');
    expect(searches).toEqual(['', '', '']);
    expect(await h.app.deps.inventory.syncedAt()).toBeDefined();
  });
});

describe('the reconcile job', () => {
  const harnesses: Harness[] = [];
  let slack: SlackApi;

  beforeAll(async () => {
    slack = await new SlackApi().start();
  });

  afterEach(async () => {
    await stopReplicas(harnesses);
  });

  afterAll(async () => {
    await slack.close();
  });

  it('picks up products added, removed and given away outside the bot within its interval', async () => {
    const sandbox = new SandboxCatalog({ provisionMs: 100, products: 30 });
    const h = await Harness.start({ catalog: sandbox, slack, env: { INVENTORY_RECONCILE_MS: '1000', INVENTORY_PAGES_PER_SECOND: '100' } });
    harnesses.push(h);
    const list = async (user: string) => {
      const { responseId } = await h.command(user, 'list');
      return eventually(() => h.replies(responseId).join('\n'), 'list');
    };
    expect(await list('USEED1')).toContain('useed1-p0');
    const linux = await sandbox.getProduct(SANDBOX_PRODUCT_IDS['EC2 Linux']!);
    const version = linux.versions.find((v) => v.active)!;
    const { pathId } = await sandbox.launchOptions(linux.id, version.id);
    // From the console and the CLI, not through the bot:
    await sandbox.provision({ productId: linux.id, versionId: version.id, pathId, name: 'useed1-from-cli', parameters: {}, tags: { OwnerEmail: 'useed1@synapse.org' }, token: 'cli-1' });
    await sandbox.terminate({ provisionedProductId: (await byName(sandbox, 'useed1-p0')).id, token: 'cli-2' });
    const given = await byName(sandbox, 'useed1-p1');
    await sandbox.update({ provisionedProductId: given.id, productId: given.productId!, versionId: given.versionId!, parameters: {}, parameterKeys: [], tags: { ...given.tags, OwnerEmail: 'useed2@synapse.org' }, token: 'cli-3' });
    const after = await eventually(async () => {
      const text = await list('USEED1');
      return text.includes('useed1-from-cli') && !text.includes('useed1-p0') && !text.includes('useed1-p1') ? text : undefined;
    }, 'the outside changes in the list', 15_000);
    expect(after).toContain('useed1-p2');
    expect(await list('USEED2')).toContain('useed1-p1');
  });

  it('two replicas share one job scheduler', async () => {
    const sandbox = new SandboxCatalog({ provisionMs: 100, products: 10 });
    const prefix = `inv${Math.random().toString(36).slice(2, 10)}`;
    for (let i = 0; i < 2; i++) harnesses.push(await Harness.start({ catalog: sandbox, slack, prefix, env: { INVENTORY_RECONCILE_MS: '120000' } }));
    await Promise.all(harnesses.map((h) => h.app.inventoryScheduled));
    const schedulers = await harnesses[0]!.app.queues.reconcile.getJobSchedulers();
    expect(schedulers.map((s) => [s.key, s.every])).toEqual([[reconcileJob.SCHEDULER_ID, 120000]]);
    // Both replicas' first runs are done or skipped: one snapshot is in place.
    await eventually(() => harnesses[1]!.app.deps.inventory.syncedAt(), 'a snapshot');
  });
});
