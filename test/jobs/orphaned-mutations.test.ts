// No AWS change goes unreported: a launch whose workers die after ProvisionProduct (twice, so BullMQ fails the job for
// good) is found by the reconcile, followed with the same token, and its owner hears how it went.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { Scicomp } from '../../src/app.js';
import type { CatalogPort } from '../../src/core/ports.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually, Harness } from '../support/harness.js';
import { SlackApi } from '../support/slack-api.js';

const started: Harness[] = [];
let slack: SlackApi | undefined;

afterEach(async () => {
  for (const h of started.splice(0).reverse()) {
    await dropPrefix(h.app).catch(() => {});
    await h.close();
  }
  await slack?.close();
  slack = undefined;
});

/** The sandbox, except that a ProvisionProduct succeeds and then its caller never hears back: the worker died there. */
function dyingAfterProvision(sandbox: SandboxCatalog, provisioned: () => void): CatalogPort {
  return new Proxy(sandbox, {
    get(target, key) {
      if (key === 'provision') {
        return async (input: Parameters<CatalogPort['provision']>[0]) => {
          await target.provision(input);
          provisioned();
          return new Promise(() => {});
        };
      }
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** As kill -9 would leave it for the others: its workers' connections cut, so its locks lapse and its jobs stall. */
function crashWorkers(app: Scicomp): void {
  for (const c of (app as unknown as { workerConnections: Redis[] }).workerConnections) c.disconnect();
}

describe('an AWS mutation whose job dies', () => {
  it('is reconciled: the owner hears the launch is ready, and that the command was interrupted', async () => {
    slack = await new SlackApi().start();
    const prefix = `t${randomBytes(5).toString('hex')}`;
    const sandbox = new SandboxCatalog({ provisionMs: 100 });
    let provisions = 0;
    const dying = dyingAfterProvision(sandbox, () => provisions++);
    // Short locks so a dead worker is noticed in a second; the dying processes never reconcile (their grace is long).
    const env = (reconcileMs: string) => ({ JOB_LOCK_MS: '300', MUTATION_RECONCILE_MS: reconcileMs, SHUTDOWN_TIMEOUT_MS: '100' });
    const first = await Harness.start({ catalog: dying, slack, prefix, env: env('600000') });
    started.push(first);
    const { res, responseId } = await first.command('UDORA', 'launch "EC2 Linux" orphan');
    expect(res.status).toBe(200);
    await eventually(() => provisions === 1, 'ProvisionProduct made by the first worker');
    crashWorkers(first.app);
    // BullMQ hands the stalled job to the next worker, which dies the same way.
    const second = await Harness.start({ catalog: dying, slack, prefix, env: env('600000') });
    started.push(second);
    await eventually(() => provisions === 2, 'ProvisionProduct made again by the second worker', 10_000);
    crashWorkers(second.app);
    expect(await sandbox.findProvisionedByName('udora-orphan')).toBeDefined();
    // A healthy worker: the job has stalled past its limit and fails for good; the reconcile finds the launch.
    const third = await Harness.start({ catalog: sandbox, slack, prefix, env: env('300') });
    started.push(third);
    await eventually(() => third.replies(responseId).some((r) => r.includes('could not be finished')), 'the person told the command was interrupted', 10_000);
    await eventually(() => third.dms('UDORA').some((m) => m.includes('udora-orphan is ready')), 'the owner told the launch is ready', 10_000);
    // Followed with the same token: one product, and nothing left to reconcile.
    expect((await sandbox.searchProvisioned()).filter((p) => p.name === 'udora-orphan')).toHaveLength(1);
    await eventually(async () => (await third.app.deps.mutations!.pending()).length === 0, 'the journal settled');
    const audit = await third.app.audit.recent(50);
    expect(audit.some((e) => e.action === 'aws.provision' && e.outcome.includes('carried on after its job was interrupted'))).toBe(true);
  }, 30_000);
});
