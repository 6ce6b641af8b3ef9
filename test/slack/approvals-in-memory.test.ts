// The whole app with its approvals state in memory, through Slack's own door: requests, decisions, confirmations, launch
// plans and archives go to the repositories the composition root is given, and Redis holds none of them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryApprovals } from '../../src/adapters/memory/approvals.js';
import { MemoryArchives } from '../../src/adapters/memory/archives.js';
import { MemoryConfirmations } from '../../src/adapters/memory/confirmations.js';
import { MemoryLaunchPlans } from '../../src/adapters/memory/launch-plans.js';
import { MemoryProductParameters } from '../../src/adapters/memory/product-parameters.js';
import { systemClock } from '../../src/core/ports.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually, Harness } from '../support/harness.js';
import { testPolicy } from '../support/policy.js';

const ALICE = 'UALICE';
const IT1 = 'UIT1';
const repositories = {
  approvals: new MemoryApprovals(systemClock),
  confirmations: new MemoryConfirmations(systemClock),
  launchPlans: new MemoryLaunchPlans(systemClock),
  archives: new MemoryArchives(),
  productParameters: new MemoryProductParameters(systemClock),
};
let h: Harness;

beforeAll(async () => {
  h = await Harness.start({ catalog: new SandboxCatalog({ provisionMs: 100 }), policy: testPolicy(), extra: repositories });
});

afterAll(async () => {
  await dropPrefix(h.app);
  await h.close();
});

const reply = (responseId: string, what: string) => eventually(() => h.replies(responseId).join('\n'), what);

/** Every key under the app's prefix. */
async function redisKeys(): Promise<string[]> {
  return h.app.store.redis.keys(`${h.app.config.SCICOMP_PREFIX}:*`);
}

describe('approvals state in memory', () => {
  it('a launch for IT, approved, and a bucket terminated and asked back: all of it kept where the app was told', async () => {
    const filed = await h.command(ALICE, 'launch "EC2 Linux" big InstanceType=c5.2xlarge');
    const id = /Request ([A-Za-z0-9_-]+) filed/.exec(await reply(filed.responseId, 'filed'))![1]!;
    expect((await repositories.approvals.pending(10)).ids).toEqual([id]);
    const approved = await h.click(IT1, 'approve', id);
    expect(await reply(approved.responseId, 'approved')).toContain(`Approved request ${id}`);
    expect((await repositories.approvals.load(id))!.decision).toMatchObject({ state: 'approved', decidedBy: `slack:${IT1}` });
    await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-big is ready')), 'provisioned');

    const bucket = await h.command(ALICE, 'launch "S3 Private Encrypted Bucket" keep');
    await reply(bucket.responseId, 'bucket launch');
    await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-keep is ready')), 'bucket ready');
    const ask = await h.command(ALICE, 'terminate keep');
    const asked = JSON.parse((await reply(ask.responseId, 'confirmation')).split('\n')[0]!) as { blocks: { elements?: { action_id: string; value: string }[] }[] };
    const confirmId = asked.blocks.flatMap((b) => b.elements ?? []).find((e) => e.action_id === 'scicomp:confirm')!.value;
    expect(await repositories.confirmations.get(confirmId)).toMatchObject({ sealed: expect.any(String) });
    const confirmed = await h.click(ALICE, 'confirm', confirmId);
    expect(await reply(confirmed.responseId, 'confirmed')).toContain('Terminating ualice-keep');
    await eventually(async () => (await repositories.archives.get('ualice@synapse.org', 'ualice-keep')) !== undefined, 'archived');
    const restore = await h.command(ALICE, 'restore keep');
    expect(await reply(restore.responseId, 'restore')).toMatch(/Request [A-Za-z0-9_-]+ filed: Restore bucket ualice-keep/);

    const kept = await redisKeys();
    for (const kind of ['request', 'requests', 'confirm', 'launch-plan', 'archive', 'record-parameters', 'product-parameters', 'begun']) {
      expect(kept.filter((k) => k.startsWith(`${h.app.config.SCICOMP_PREFIX}:${kind}:`)), kind).toEqual([]);
    }
  });
});
