// One sandbox account in Redis seen by several catalogs, as by several scicomp processes: shared, idempotent across them,
// safe when they race, and still there for a catalog made after the others are gone (a restart).
import { describe, expect, it } from 'vitest';
import { UserInputError } from '../../src/core/errors.js';
import { SANDBOX_PRODUCT_IDS, SandboxCatalog } from '../../src/sandbox/catalog.js';
import { RedisSandboxAccount } from '../../src/sandbox/redis-account.js';
import { testRedis } from '../support/backends.js';

const redis = testRedis();

/** Catalogs on one prefix, as separate processes have them; one clock for all. */
function processes(n: number) {
  const prefix = redis.prefix();
  const clock = { t: 1_000_000, now() { return this.t; } };
  const start = () => new SandboxCatalog({ provisionMs: 1000, clock, account: new RedisSandboxAccount(redis.connection, prefix) });
  return { catalogs: Array.from({ length: n }, start), clock, start, prefix };
}

const LINUX = SANDBOX_PRODUCT_IDS['EC2 Linux']!;

async function launch(sc: SandboxCatalog, name: string, token: string) {
  const version = (await sc.getProduct(LINUX)).versions.find((v) => v.active)!;
  const { pathId } = await sc.launchOptions(LINUX, version.id);
  return sc.provision({ productId: LINUX, versionId: version.id, pathId, name, parameters: {}, tags: { OwnerEmail: 'a@x.org' }, token });
}

describe('the sandbox account in Redis', () => {
  it('is one account: a launch through one process is seen, finished and terminated through another', async () => {
    const { catalogs: [a, b], clock } = processes(2);
    const { recordId, provisionedProductId } = await launch(a!, 'a-box', 'tok1');
    expect((await b!.describeRecord(recordId)).status).toBe('CREATED');
    // Nobody finishes a record: its status follows from when it started.
    clock.t += 1000;
    expect((await b!.describeRecord(recordId)).status).toBe('SUCCEEDED');
    expect(await b!.findProvisionedByName('A-BOX')).toMatchObject({ id: provisionedProductId, status: 'AVAILABLE', lastSuccessfulRecordId: recordId });
    const t = await b!.terminate({ provisionedProductId: provisionedProductId!, token: 'term1' });
    expect((await a!.describeProvisioned(provisionedProductId!))?.status).toBe('UNDER_CHANGE');
    clock.t += 1000;
    expect((await a!.describeRecord(t.recordId)).status).toBe('SUCCEEDED');
    expect(await a!.searchProvisioned()).toEqual([]);
  });

  it('honours ProvisionToken across processes: the same token is the same record, whoever asks', async () => {
    const { catalogs: [a, b], clock } = processes(2);
    const first = await launch(a!, 'a-box', 'same');
    expect(await launch(b!, 'a-box', 'same')).toEqual(first);
    clock.t += 1000;
    const pp = (await a!.searchProvisioned())[0]!;
    const update = { provisionedProductId: pp.id, productId: LINUX, versionId: pp.versionId!, parameters: { InstanceType: 't3.large' }, parameterKeys: [], token: 'up' };
    const u = await a!.update(update);
    expect(await b!.update({ ...update, parameters: { InstanceType: 'm5.large' } })).toEqual(u);
    const owner = { provisionedProductId: pp.id, ownerArn: 'arn:aws:iam::111122223333:role/SC-Endusers/b@x.org', token: 'own' };
    expect(await b!.setOwner(owner)).toEqual(await a!.setOwner(owner));
    expect(await b!.terminate({ provisionedProductId: pp.id, token: 'end' })).toEqual(await a!.terminate({ provisionedProductId: pp.id, token: 'end' }));
    expect(await b!.ownerOf(pp.id)).toBe(owner.ownerArn);
  });

  it('gives a name to one of two processes racing to launch it, and one record to a token raced for', async () => {
    const { catalogs } = processes(4);
    const names = await Promise.allSettled(catalogs.map((sc, i) => launch(sc, 'contested', `tok${i}`)));
    expect(names.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of names.filter((x) => x.status === 'rejected')) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(UserInputError);
    const tokens = await Promise.all(catalogs.map((sc) => launch(sc, 'once', 'one-token')));
    expect(new Set(tokens.map((t) => t.recordId)).size).toBe(1);
    expect((await catalogs[0]!.searchProvisioned()).map((p) => p.name).sort()).toEqual(['contested', 'once']);
  });

  it('answers the record of a token another process used while it looked at the name', async () => {
    const { catalogs: [a], clock, prefix } = processes(1);
    const first = await launch(a!, 'late', 'tok');
    // Its first look at the token came before the other process's write; its look at the name, after.
    const account = new RedisSandboxAccount(redis.connection, prefix);
    let looks = 0;
    const late: RedisSandboxAccount = Object.assign(Object.create(account) as RedisSandboxAccount, {
      tokenRecord: (token: string) => (looks++ === 0 ? Promise.resolve(undefined) : account.tokenRecord(token)),
    });
    expect(await launch(new SandboxCatalog({ provisionMs: 1000, clock, account: late }), 'late', 'tok')).toEqual(first);
  });

  it('keeps every change when processes change one product at once', async () => {
    const { catalogs, clock } = processes(4);
    const { provisionedProductId } = await launch(catalogs[0]!, 'busy', 'p');
    clock.t += 1000;
    const pp = (await catalogs[0]!.describeProvisioned(provisionedProductId!))!;
    const types = ['t3.small', 't3.medium', 't3.large', 'm5.large'];
    const records = await Promise.all(
      catalogs.map((sc, i) => sc.update({ provisionedProductId: pp.id, productId: LINUX, versionId: pp.versionId!, parameters: { InstanceType: types[i]! }, parameterKeys: [], token: `u${i}` })),
    );
    expect(new Set(records.map((r) => r.recordId)).size).toBe(4);
    for (const r of records) expect((await catalogs[1]!.describeRecord(r.recordId)).type).toBe('UPDATE_PROVISIONED_PRODUCT');
  });

  it('survives a restart: a catalog made afresh on the same Redis has the products, records and tokens', async () => {
    const { catalogs: [before], clock, start } = processes(1);
    const launched = await launch(before!, 'kept', 'k1');
    clock.t += 1000;
    const after = start();
    expect(await after.describeRecord(launched.recordId)).toMatchObject({ status: 'SUCCEEDED', provisionedProductName: 'kept' });
    expect(await launch(after, 'kept', 'k1')).toEqual(launched);
    await expect(launch(after, 'kept', 'k2')).rejects.toThrow(/already exists/);
  });

  it('seeds the account once, whichever process starts first', async () => {
    const { start, prefix } = processes(0);
    const seeded = () => new SandboxCatalog({ products: 30, account: new RedisSandboxAccount(redis.connection, prefix) });
    const [a, b] = [seeded(), seeded()];
    await Promise.all([a.ready, b.ready]);
    expect(await start().searchProvisioned()).toHaveLength(30);
    expect(a.callCount() + b.callCount()).toBe(0);
  });
});
