// The journal of AWS mutations and its reconcile, on the in-memory repository and the sandbox catalog, by a fake clock.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { MemoryMutations } from '../../src/adapters/memory/mutations.js';
import type { AuditEntry, FeedEvent, WatchRequest } from '../../src/core/context.js';
import { UserInputError } from '../../src/core/errors.js';
import { RECONCILE_LANES, reconcileMutations, startMutation, type Mutation, type Watches } from '../../src/core/mutations.js';
import type { CatalogPort } from '../../src/core/ports.js';
import { Sealer } from '../../src/core/sealed.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';

const GRACE = 60_000;

function world(catalog: CatalogPort) {
  let now = 1_000_000;
  const audit: AuditEntry[] = [];
  const feed: FeedEvent[] = [];
  const started: WatchRequest[] = [];
  const states = new Map<string, 'running' | 'done' | 'failed' | 'missing'>();
  const watches: Watches = {
    state: async (recordId) => states.get(recordId) ?? 'missing',
    restart: async (w) => void started.push(w),
  };
  const deps = {
    catalog,
    sealer: new Sealer({ get: async () => undefined }, { ephemeral: true }),
    clock: { now: () => now },
    log: pino({ level: 'silent' }),
    mutations: new MemoryMutations(),
    audit: { append: async (e: AuditEntry) => void audit.push(e), recent: async () => [] },
    feed: { publish: async (e: FeedEvent) => void feed.push(e) },
  };
  return { deps, watches, states, started, audit, feed, later: (ms: number) => (now += ms) };
}

async function launchMutation(catalog: SandboxCatalog, token: string): Promise<Mutation> {
  const product = (await catalog.listProducts()).find((p) => p.name === 'EC2 Linux')!;
  const version = product.versions[0]!;
  const options = await catalog.launchOptions(product.id, version.id);
  return {
    call: { op: 'provision', input: { productId: product.id, versionId: version.id, pathId: options.pathId, name: 'jdoe-journal', parameters: {}, tags: { OwnerEmail: 'jdoe@synapse.org' }, token } },
    watch: { name: 'jdoe-journal', productName: 'EC2 Linux', kind: 'instance', action: 'provision', owner: { platform: 'slack', userId: 'UJDOE', email: 'jdoe@synapse.org' }, requestId: token },
    actor: 'slack:UJDOE',
  };
}

describe('reconcileMutations', () => {
  it('calls again with the same token where the job never got the record, and starts its watch', async () => {
    const sandbox = new SandboxCatalog();
    const w = world(sandbox);
    const m = await launchMutation(sandbox, 'launch-t1');
    // The job dies inside ProvisionProduct: AWS has it, the journal has no record.
    await w.deps.mutations.begin('provision:launch-t1', { sealed: await w.deps.sealer.seal(JSON.stringify(m)) }, w.deps.clock.now());
    const first = await sandbox.provision(m.call.input as never);
    expect(await reconcileMutations(w.deps, w.watches, GRACE)).toMatchObject({ checked: 0 });
    w.later(GRACE + 1);
    expect(await reconcileMutations(w.deps, w.watches, GRACE)).toMatchObject({ checked: 1, called: 1, watched: 1 });
    expect(w.started).toEqual([expect.objectContaining({ recordId: first.recordId, mutationId: 'provision:launch-t1', name: 'jdoe-journal' })]);
    expect(w.audit.map((e) => e.action)).toEqual(['aws.provision']);
    // Its watch runs now: nothing to do until it reports; once it has, the journal is settled.
    w.states.set(first.recordId, 'running');
    expect(await reconcileMutations(w.deps, w.watches, GRACE)).toMatchObject({ called: 0, watched: 0, settled: 0 });
    w.states.set(first.recordId, 'done');
    expect(await reconcileMutations(w.deps, w.watches, GRACE)).toMatchObject({ settled: 1 });
    expect(await w.deps.mutations.pending()).toEqual([]);
  });

  it('follows several mutations at once: one slow AWS answer does not hold back the others', async () => {
    const sandbox = new SandboxCatalog();
    // Each call again answers only once RECONCILE_LANES of them are waiting: one after another, the first never would.
    let waiting = 0;
    let open!: () => void;
    const allIn = new Promise<void>((r) => (open = r));
    const slow = new Proxy(sandbox, {
      get(target, key) {
        if (key === 'provision') {
          return async (input: Parameters<CatalogPort['provision']>[0]) => {
            if (++waiting === RECONCILE_LANES) open();
            await allIn;
            return target.provision(input);
          };
        }
        const v = Reflect.get(target, key, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const w = world(slow);
    for (let i = 0; i < RECONCILE_LANES + 2; i++) {
      const m = await launchMutation(sandbox, `lane-${i}`);
      m.call.input = { ...(m.call.input as object), name: `jdoe-lane-${i}` } as never;
      await w.deps.mutations.begin(`provision:lane-${i}`, { sealed: await w.deps.sealer.seal(JSON.stringify(m)) }, w.deps.clock.now());
    }
    w.later(GRACE + 1);
    expect(await reconcileMutations(w.deps, w.watches, GRACE)).toMatchObject({ checked: RECONCILE_LANES + 2, called: RECONCILE_LANES + 2, watched: RECONCILE_LANES + 2 });
    expect(waiting).toBe(RECONCILE_LANES + 2);
  });

  it('journals before the call, keeps the record, and forgets a call AWS refused', async () => {
    const sandbox = new SandboxCatalog();
    const w = world(sandbox);
    const m = await launchMutation(sandbox, 'launch-t2');
    const { recordId, watch } = await startMutation(m, w.deps);
    expect(watch).toMatchObject({ recordId, mutationId: 'provision:launch-t2' });
    expect((await w.deps.mutations.pending())[0]).toMatchObject({ id: 'provision:launch-t2', recordId });
    // The sealed entry holds no parameter in clear.
    expect(JSON.stringify(await w.deps.mutations.pending())).not.toContain('jdoe-journal');
    const refusing = { ...sandbox, provision: async () => Promise.reject(new UserInputError('no')) } as unknown as CatalogPort;
    const r = world(refusing);
    await expect(startMutation(m, r.deps)).rejects.toThrow('no');
    expect(await r.deps.mutations.pending()).toEqual([]);
  });

  it('calls a stop (a service action) again with its token after its job died, and follows the same record', async () => {
    const sandbox = new SandboxCatalog({ provisionMs: 0 });
    const w = world(sandbox);
    const launched = await sandbox.provision((await launchMutation(sandbox, 'launch-t3')).call.input as never);
    const ppId = launched.provisionedProductId!;
    const product = (await sandbox.describeProvisioned(ppId))!;
    const stop = (await sandbox.listServiceActions(product.productId!, product.versionId!)).find((a) => /stop/i.test(a.name))!;
    const m: Mutation = {
      call: { op: 'action', input: { provisionedProductId: ppId, serviceActionId: stop.id, token: 'stop-t3' } },
      watch: { provisionedProductId: ppId, name: 'jdoe-journal', productName: 'EC2 Linux', kind: 'instance', action: 'service-action', owner: { platform: 'slack', userId: 'UJDOE', email: 'jdoe@synapse.org' }, requestId: 'stop-t3' },
      actor: 'slack:UJDOE',
    };
    // The job dies inside ExecuteProvisionedProductServiceAction: AWS has it, the journal has no record.
    await w.deps.mutations.begin('action:stop-t3', { sealed: await w.deps.sealer.seal(JSON.stringify(m)) }, w.deps.clock.now());
    const first = await sandbox.executeServiceAction(m.call.input as never);
    w.later(GRACE + 1);
    expect(await reconcileMutations(w.deps, w.watches, GRACE)).toMatchObject({ checked: 1, called: 1, watched: 1 });
    expect(w.started).toEqual([expect.objectContaining({ recordId: first.recordId, provisionedProductId: ppId, action: 'service-action', mutationId: 'action:stop-t3' })]);
  });
});
