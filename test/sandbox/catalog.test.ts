import { describe, expect, it, vi } from 'vitest';
import { NotFoundError, UpstreamError, UserInputError } from '../../src/core/errors.js';
import { MemorySandboxAccount, type SandboxAccount } from '../../src/sandbox/account.js';
import { SANDBOX_PRODUCT_IDS, SandboxCatalog, type SandboxCatalogOptions } from '../../src/sandbox/catalog.js';
import { RedisSandboxAccount } from '../../src/sandbox/redis-account.js';
import { backends, testRedis } from '../support/backends.js';

const redis = testRedis();

/** The same account behaviour kept in this process and in Redis. */
const accounts = backends<[], SandboxAccount>(
  () => new MemorySandboxAccount(),
  () => new RedisSandboxAccount(redis.connection, redis.prefix()),
);

describe.each(accounts)('SandboxCatalog, its account %s', (_where, account) => {
  const make = (o: SandboxCatalogOptions = {}) => new SandboxCatalog({ account: account(), ...o });

  function setup() {
    const clock = { t: 1_000_000, now() { return this.t; } };
    const sc = make({ provisionMs: 1000, clock });
    return { sc, clock };
  }

  async function launch(sc: SandboxCatalog, name: string, token = name) {
    const product = await sc.getProduct(SANDBOX_PRODUCT_IDS['EC2 Linux']!);
    const version = product.versions.find((v) => v.active)!;
    const options = await sc.launchOptions(product.id, version.id);
    return sc.provision({ productId: product.id, versionId: version.id, pathId: options.pathId, name, parameters: {}, tags: { OwnerEmail: 'a@x.org' }, token });
  }

  it('moves a record CREATED → IN_PROGRESS → SUCCEEDED with outputs', async () => {
    const { sc, clock } = setup();
    const { recordId } = await launch(sc, 'a-box');
    expect((await sc.describeRecord(recordId)).status).toBe('CREATED');
    clock.t += 500;
    expect((await sc.describeRecord(recordId)).status).toBe('IN_PROGRESS');
    expect((await sc.searchProvisioned())[0]!.status).toBe('UNDER_CHANGE');
    clock.t += 500;
    const done = await sc.describeRecord(recordId);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.outputs.find((o) => o.key === 'InstanceId')?.value).toMatch(/^i-[0-9a-f]{17}$/);
    expect((await sc.searchProvisioned())[0]).toMatchObject({ status: 'AVAILABLE', lastSuccessfulRecordId: recordId });
  });

  it('fails on request, with a CloudFormation-like error', async () => {
    const { sc, clock } = setup();
    sc.failNext('provision');
    const { recordId } = await launch(sc, 'a-box');
    clock.t += 1000;
    const r = await sc.describeRecord(recordId);
    expect(r.status).toBe('FAILED');
    expect(r.errors[0]!.description).toMatch(/InsufficientInstanceCapacity/);
    expect((await sc.searchProvisioned())[0]!.status).toBe('ERROR');
  });

  it('makes a provision with the same token one provision', async () => {
    const { sc } = setup();
    const a = await launch(sc, 'a-box', 'tok');
    const b = await launch(sc, 'a-box', 'tok');
    expect(b).toEqual(a);
    expect(await sc.searchProvisioned()).toHaveLength(1);
  });

  it('refuses a duplicate name and bad parameters', async () => {
    const { sc } = setup();
    await launch(sc, 'a-box', 't1');
    await expect(launch(sc, 'a-box', 't2')).rejects.toThrow(UserInputError);
    const id = SANDBOX_PRODUCT_IDS['EC2 Linux']!;
    const v = (await sc.getProduct(id)).versions.at(-1)!;
    const { pathId } = await sc.launchOptions(id, v.id);
    await expect(sc.provision({ productId: id, versionId: v.id, pathId, name: 'x', parameters: { VolumeSize: '1' }, tags: {}, token: 't3' })).rejects.toThrow(/below the minimum/);
    await expect(sc.getProduct('prod-nope')).rejects.toThrow(NotFoundError);
  });

  it('has a product in two portfolios, each launch path with its own constraints and usage instructions', async () => {
    const { sc } = setup();
    const id = SANDBOX_PRODUCT_IDS['EC2 RStudio']!;
    const v = (await sc.getProduct(id)).versions.at(-1)!;
    const first = await sc.launchOptions(id, v.id);
    expect(first.paths?.map((p) => p.name)).toEqual(['Research Computing', 'Teaching']);
    expect(first.pathId).toBe(first.paths![0]!.id);
    const teaching = await sc.launchOptions(id, v.id, first.paths![1]!.id);
    expect(teaching.parameters.find((p) => p.key === 'InstanceType')?.allowedValues).toEqual(['t3.medium', 't3.large']);
    expect(teaching.usageInstructions?.map((u) => u.type)).toEqual(['connect', 'schedule']);
    const params = { InstanceType: 'r5.xlarge' };
    await expect(sc.provision({ productId: id, versionId: v.id, pathId: teaching.pathId, name: 'r', parameters: params, tags: {}, token: 'r1' })).rejects.toThrow(/not allowed/);
    await sc.provision({ productId: id, versionId: v.id, pathId: first.pathId, name: 'r', parameters: params, tags: {}, token: 'r2' });
    await expect(sc.launchOptions(id, v.id, 'lpv3-nope')).rejects.toThrow(NotFoundError);
  });

  it('replaces the instance on update and forgets it after terminate', async () => {
    const { sc, clock } = setup();
    const { recordId, provisionedProductId } = await launch(sc, 'a-box');
    clock.t += 1000;
    const before = (await sc.describeRecord(recordId)).outputs.find((o) => o.key === 'InstanceId')!.value;
    const pp = (await sc.searchProvisioned())[0]!;
    const up = await sc.update({ provisionedProductId: provisionedProductId!, productId: pp.productId!, versionId: pp.versionId!, parameters: { InstanceType: 't3.large' }, parameterKeys: [], token: 'u1' });
    expect((await sc.update({ provisionedProductId: provisionedProductId!, productId: pp.productId!, versionId: pp.versionId!, parameters: {}, parameterKeys: [], token: 'u1' })).recordId).toBe(up.recordId);
    clock.t += 1000;
    const after = (await sc.describeRecord(up.recordId)).outputs.find((o) => o.key === 'InstanceId')!.value;
    expect(after).not.toBe(before);
    const t = await sc.terminate({ provisionedProductId: provisionedProductId!, token: 't1' });
    expect((await sc.terminate({ provisionedProductId: provisionedProductId!, token: 't1' })).recordId).toBe(t.recordId);
    clock.t += 1000;
    expect(await sc.searchProvisioned()).toEqual([]);
  });

  it('offers stop/start actions on instances and throttles on request', async () => {
    const { sc, clock } = setup();
    const { provisionedProductId } = await launch(sc, 'a-box');
    clock.t += 1000;
    const pp = (await sc.searchProvisioned())[0]!;
    const actions = await sc.listServiceActions(pp.productId!, pp.versionId!);
    const stop = actions.find((a) => a.name === 'AWS-StopEC2Instance')!;
    await sc.executeServiceAction({ provisionedProductId: provisionedProductId!, serviceActionId: stop.id, token: 's1' });
    clock.t += 1000;
    await sc.searchProvisioned();
    expect(await sc.instanceState(provisionedProductId!)).toBe('stopped');
    sc.throttleNext(1);
    await expect(sc.listProducts()).rejects.toThrow(UpstreamError);
    expect((await sc.listProducts()).length).toBe(7);
  });

  it('seeds the account with SANDBOX_PRODUCTS products, ten to an owner, available, at no call', async () => {
    const sc = make({ products: 250 });
    expect(sc.callCount()).toBe(0);
    const all = await sc.searchProvisioned();
    expect(all).toHaveLength(250);
    expect(new Set(all.map((p) => p.tags.OwnerEmail)).size).toBe(25);
    expect(all.filter((p) => p.tags.OwnerEmail === 'useed3@synapse.org').map((p) => p.name)).toEqual(Array.from({ length: 10 }, (_, i) => `useed3-p${i}`));
    expect(new Set(all.map((p) => p.productName)).size).toBeGreaterThan(3);
    expect(all.every((p) => p.status === 'AVAILABLE' && p.lastSuccessfulRecordId && p.lastRecordId === p.lastSuccessfulRecordId)).toBe(true);
    // Seeded products act like any other: their record has outputs, and they can be terminated.
    expect((await sc.describeRecord(all[0]!.lastRecordId!)).status).toBe('SUCCEEDED');
  });

  it('pages the account by 100, each page a SearchProvisionedProducts call, and counts every call by operation', async () => {
    const sc = make({ products: 250 });
    let pages = 0;
    await sc.searchProvisioned({ beforePage: async () => void pages++ });
    expect(pages).toBe(3);
    expect(sc.calls).toEqual({ SearchProvisionedProducts: 3 });
    expect(sc.searches).toEqual(['', '', '']);
    const one = await sc.describeProvisioned((await sc.findProvisionedByName('USEED7-P3'))!.id);
    expect(one).toMatchObject({ name: 'useed7-p3', tags: { OwnerEmail: 'useed7@synapse.org' } });
    expect(await sc.describeProvisioned('pp-nosuchthing')).toBeUndefined();
    await sc.describeRecord(one!.lastRecordId!);
    expect(sc.calls).toEqual({ SearchProvisionedProducts: 6, DescribeRecord: 1 });
    expect(sc.searches.slice(3)).toEqual(['name:USEED7-P3', `id:${one!.id}`, 'id:pp-nosuchthing']);
    expect(sc.callCount()).toBe(7);
  });

  it('makes every call take SANDBOX_API_LATENCY_MS', async () => {
    const sc = make({ products: 150, apiLatencyMs: 60 });
    const t0 = performance.now();
    await sc.searchProvisioned();
    // Two pages, one after the other.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(115);
    const t1 = performance.now();
    await sc.listProducts();
    expect(performance.now() - t1).toBeGreaterThanOrEqual(55);
  });

  it('answers a mutation SANDBOX_MUTATION_ANSWER_MS after it took effect', async () => {
    const sc = make({ mutationAnswerMs: 1000 });
    const t0 = performance.now();
    let answered = false;
    const launched = launch(sc, 'slow-answer').then(() => (answered = true));
    // Made before it answers: a caller that dies now leaves the product behind.
    await vi.waitFor(async () => expect(await sc.findProvisionedByName('slow-answer')).toBeDefined(), { timeout: 900, interval: 5 });
    expect(answered).toBe(false);
    await launched;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(995);
  });

  it('says a terminated product is gone when it is re-read', async () => {
    const { sc, clock } = setup();
    const { provisionedProductId } = await launch(sc, 'a-box');
    expect((await sc.describeProvisioned(provisionedProductId!))?.status).toBe('UNDER_CHANGE');
    clock.t += 1000;
    expect((await sc.describeProvisioned(provisionedProductId!))?.status).toBe('AVAILABLE');
    await sc.terminate({ provisionedProductId: provisionedProductId!, token: 't1' });
    clock.t += 1000;
    expect(await sc.describeProvisioned(provisionedProductId!)).toBeUndefined();
    expect(await sc.findProvisionedByName('a-box')).toBeUndefined();
  });
});
