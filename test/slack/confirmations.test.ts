// Confirmed and approved changes through Slack's own door: an update follows the launch policy on what the product would
// become, and every confirmed or approved action re-checks the product (owner, state) when it is carried out.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { productParametersKey, recordParametersKey } from '../../src/adapters/redis/product-parameters.js';
import type { StoredAuditEntry } from '../../src/core/context.js';
import type { ProvisionedProduct, UpdateInput } from '../../src/core/ports.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually, Harness } from '../support/harness.js';
import { APPROVALS_CHANNEL, testPolicy } from '../support/policy.js';

/** The sandbox, with products that can be held in the middle of a change for as long as a test needs. */
class HeldCatalog extends SandboxCatalog {
  readonly changing = new Set<string>();
  private held(p: ProvisionedProduct): ProvisionedProduct {
    return this.changing.has(p.name) ? { ...p, status: 'UNDER_CHANGE' } : p;
  }
  override async searchProvisioned(): Promise<ProvisionedProduct[]> {
    return (await super.searchProvisioned()).map((p) => this.held(p));
  }
  override async describeProvisioned(id: string): Promise<ProvisionedProduct | undefined> {
    const p = await super.describeProvisioned(id);
    return p && this.held(p);
  }
}

const ALICE = 'UALICE';
const BOB = 'UBOB';
const FRANK = 'UFRANK';
const IT1 = 'UIT1';
const IT2 = 'UIT2';

let h: Harness;
let sandbox: HeldCatalog;

beforeAll(async () => {
  sandbox = new HeldCatalog({ provisionMs: 150 });
  h = await Harness.start({ catalog: sandbox, policy: testPolicy() });
});

afterAll(async () => {
  await dropPrefix(h.app);
  await h.close();
});

const reply = (responseId: string, what: string) => eventually(() => h.replies(responseId).join('\n'), what);

async function command(user: string, text: string): Promise<string> {
  const { responseId } = await h.command(user, text);
  return reply(responseId, text);
}

async function click(user: string, action: string, value: string): Promise<string> {
  const { responseId } = await h.click(user, action, value);
  return reply(responseId, `answer to ${action}`);
}

function button(text: string, actionId = 'confirm'): string {
  const body = JSON.parse(text.split('\n')[0]!) as { blocks: { elements?: { action_id: string; value: string }[] }[] };
  const b = body.blocks.flatMap((x) => x.elements ?? []).find((e) => e.action_id === `scicomp:${actionId}`);
  if (!b) throw new Error(`no ${actionId} button in ${text}`);
  return b.value;
}

function requestIdIn(text: string): string {
  const m = /Request ([A-Za-z0-9_-]+) filed/.exec(text);
  if (!m) throw new Error(`no request id in ${text}`);
  return m[1]!;
}

function channelPosts(): { body: Record<string, unknown>; text: string; method: string }[] {
  return h.slack.calls
    .filter((c) => (c.method === 'chat.postMessage' || c.method === 'chat.update') && c.body.channel === APPROVALS_CHANNEL)
    .map((c) => ({ body: c.body, text: JSON.stringify(c.body), method: c.method }));
}

const parentOf = (id: string) => eventually(() => channelPosts().find((p) => p.method === 'chat.postMessage' && p.text.includes(`"value":"${id}"`)), `parent of ${id}`);
const product = async (name: string) => (await sandbox.searchProvisioned()).find((p) => p.name === name);
const audited = (match: (e: StoredAuditEntry) => boolean, what: string) => eventually(async () => (await h.app.audit.recent(1000)).find(match), `audit entry: ${what}`);

async function launched(user: string, text: string, name: string): Promise<ProvisionedProduct> {
  expect(await command(user, text)).toContain(`Launching ${name}`);
  await eventually(() => h.dms(user).find((m) => m.includes(`${name} is ready`)), `${name} ready`);
  // The watcher has settled the record: what the product runs with is known.
  await eventually(async () => (await product(name))?.status === 'AVAILABLE', `${name} available`);
  return (await product(name))!;
}

/** What the sandbox has been asked to update, while `run` runs. */
async function updatesDuring(run: () => Promise<void>): Promise<UpdateInput[]> {
  const spy = vi.spyOn(sandbox, 'update');
  try {
    await run();
    return spy.mock.calls.map(([input]) => input);
  } finally {
    spy.mockRestore();
  }
}

describe('an update follows the approval rules of a launch', () => {
  it('one that would make a product launching needs approval for goes to IT after Confirm, and is made once approved', async () => {
    const before = await launched(ALICE, 'launch "EC2 Linux" small InstanceType=t3.micro', 'ualice-small');
    const ask = await command(ALICE, 'update small InstanceType=c5.2xlarge VolumeSize=1000');
    expect(ask).toContain('replaces');
    expect(ask).toContain('will be lost');
    expect(ask).toContain('This change needs IT approval (InstanceType=c5.2xlarge needs IT approval)');
    let id = '';
    const calls = await updatesDuring(async () => {
      id = requestIdIn(await click(ALICE, 'confirm', button(ask)));
    });
    expect(calls).toEqual([]);
    const parent = await parentOf(id);
    expect(parent.text).toContain('Update ualice-small (EC2 Linux)');
    expect(parent.text).toContain('InstanceType=c5.2xlarge needs IT approval');
    expect(parent.text).toContain('t3.micro → c5.2xlarge');
    expect(parent.text).toContain('30 → 1000');
    expect(parent.text).toMatch(/afterwards one c5.2xlarge instance: up to about \$248\/month on demand; the update usually replaces the instance/);
    await eventually(() => h.dms(ALICE).find((m) => m.includes('Sent to IT for approval') && m.includes('Update ualice-small')), 'requester told');
    expect((await product('ualice-small'))!.lastRecordId).toBe(before.lastRecordId);
    await audited((e) => e.action === 'request.update' && e.target === id, 'request audited');

    const approved = await updatesDuring(async () => {
      expect(await click(IT1, 'approve', id)).toContain(`Approved request ${id}`);
      await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-small is updated')), 'updated DM');
    });
    expect(approved).toHaveLength(1);
    expect(approved[0]).toMatchObject({ provisionedProductId: before.id, parameters: { InstanceType: 'c5.2xlarge', VolumeSize: '1000' }, token: `update-${id}` });
    await eventually(() => channelPosts().find((p) => p.body.thread_ts && p.text.includes('Updating ualice-small: record')), 'carried out in the thread');
    const aws = await audited((e) => e.action === 'aws.update' && e.target === 'ualice-small' && e.requestId === id, 'update audited');
    expect(aws.parameters).toEqual({ InstanceType: 'c5.2xlarge', VolumeSize: '1000' });
  });

  it('judges the product as it would be: a small change to a product that needed approval needs it again', async () => {
    await eventually(async () => (await product('ualice-small'))?.status === 'AVAILABLE', 'settled');
    const ask = await command(ALICE, 'update small VolumeSize=40');
    expect(ask).toContain('This change needs IT approval (InstanceType=c5.2xlarge needs IT approval)');
    let id = '';
    const calls = await updatesDuring(async () => {
      id = requestIdIn(await click(ALICE, 'confirm', button(ask)));
    });
    expect(calls).toEqual([]);
    expect((await parentOf(id)).text).toContain('1000 → 40');
  });

  it('an update the policy does not flag is made at once, as before', async () => {
    const small = await launched(BOB, 'launch "EC2 Linux" tiny InstanceType=t3.micro', 'ubob-tiny');
    const ask = await command(BOB, 'update tiny VolumeSize=40');
    expect(ask).not.toContain('needs IT approval');
    expect(await click(BOB, 'confirm', button(ask))).toContain('Updating ubob-tiny');
    await eventually(() => h.dms(BOB).find((m) => m.includes('ubob-tiny is updated')), 'updated');
    expect((await product('ubob-tiny'))!.lastRecordId).not.toBe(small.lastRecordId);
  });

  it('a value the policy does not allow is refused before anything is asked', async () => {
    const ask = await command(BOB, 'update tiny InstanceType=c5.4xlarge');
    expect(ask).toContain('InstanceType: \\"c5.4xlarge\\" is not allowed by policy');
    expect(ask).not.toContain('scicomp:confirm');
  });

  it('current values scicomp does not know count as needing IT (fail closed)', async () => {
    const tiny = (await product('ubob-tiny'))!;
    // As for a product launched before scicomp kept what its products run with.
    await h.app.store.del(recordParametersKey(h.app.store, tiny.lastSuccessfulRecordId!), productParametersKey(h.app.store, tiny.id));
    const ask = await command(BOB, 'update tiny AmiId=ami-0123456789abcdef0');
    expect(ask).toContain('This change needs IT approval (the current InstanceType is not known to scicomp, so IT must check it)');
    const id = requestIdIn(await click(BOB, 'confirm', button(ask)));
    expect((await parentOf(id)).text).toContain('? → ami-0123456789abcdef0');
  });
});

describe('a stale confirmation', () => {
  it('does not terminate a product that changed hands since: the old Confirm is refused and changes nothing', async () => {
    const box = await launched(ALICE, 'launch "EC2 Linux" box', 'ualice-box');
    const ask = await command(ALICE, 'terminate box');
    const transfer = requestIdIn(await command(ALICE, `transfer box <@${BOB}|bob>`));
    await click(IT1, 'approve', transfer);
    await eventually(async () => (await product('ualice-box'))?.tags.OwnerEmail === 'ubob@synapse.org', 'transferred');
    await eventually(async () => (await product('ualice-box'))?.status === 'AVAILABLE', 'retag settled');
    const terminate = vi.spyOn(sandbox, 'terminate');
    try {
      expect(await click(ALICE, 'confirm', button(ask))).toContain('ualice-box is no longer yours (it changed hands after you asked); nothing was done');
      expect(terminate).not.toHaveBeenCalled();
    } finally {
      terminate.mockRestore();
    }
    expect((await product('ualice-box'))?.id).toBe(box.id);
    await audited((e) => e.action === 'click.confirm' && e.actor === `slack:${ALICE}` && e.outcome.startsWith('refused: ualice-box is no longer yours'), 'refusal audited');
  });

  it('waits out a product in the middle of a change: refused while it changes, carried out on a later click', async () => {
    await launched(FRANK, 'launch "S3 Private Encrypted Bucket" data', 'ufrank-data');
    const ask = await command(FRANK, 'terminate data');
    sandbox.changing.add('ufrank-data');
    try {
      expect(await click(FRANK, 'confirm', button(ask))).toContain('ufrank-data is changing right now (UNDER_CHANGE); nothing was done');
    } finally {
      sandbox.changing.delete('ufrank-data');
    }
    expect(await product('ufrank-data')).toBeDefined();
    expect(await click(FRANK, 'confirm', button(ask))).toContain('Terminating ufrank-data');
    await eventually(() => h.dms(FRANK).find((m) => m.includes('ufrank-data is terminated')), 'terminated');
  });

  it('does not act on a product that no longer exists', async () => {
    await launched(FRANK, 'launch "S3 Private Encrypted Bucket" gone', 'ufrank-gone');
    const first = await command(FRANK, 'terminate gone');
    const second = await command(FRANK, 'terminate gone');
    await click(FRANK, 'confirm', button(first));
    await eventually(() => h.dms(FRANK).find((m) => m.includes('ufrank-gone is terminated')), 'terminated');
    expect(await click(FRANK, 'confirm', button(second))).toContain('ufrank-gone no longer exists; nothing was done');
  });

  it('an approved update of a product that changed hands meanwhile is not carried out; IT and the requester are told', async () => {
    await launched(ALICE, 'launch "EC2 Linux" moved InstanceType=t3.micro', 'ualice-moved');
    const ask = await command(ALICE, 'update moved InstanceType=m5.xlarge');
    const update = requestIdIn(await click(ALICE, 'confirm', button(ask)));
    const transfer = requestIdIn(await command(ALICE, `transfer moved <@${BOB}|bob>`));
    await click(IT1, 'approve', transfer);
    await eventually(async () => (await product('ualice-moved'))?.tags.OwnerEmail === 'ubob@synapse.org', 'transferred');
    await eventually(async () => (await product('ualice-moved'))?.status === 'AVAILABLE', 'retag settled');
    const calls = await updatesDuring(async () => {
      await click(IT2, 'approve', update);
      await eventually(() => channelPosts().find((p) => p.body.thread_ts && p.text.includes('Approved, but not carried out: ualice-moved no longer belongs to ualice@synapse.org')), 'IT told');
      await eventually(() => h.dms(ALICE).find((m) => m.includes('Approved, but not carried out')), 'requester told');
    });
    expect(calls).toEqual([]);
  });
});

describe('approved transfers and offboarding actions', () => {
  it('a second transfer approved after the first gave the product away is not carried out', async () => {
    await launched(ALICE, 'launch "S3 Private Encrypted Bucket" twice', 'ualice-twice');
    const toBob = requestIdIn(await command(ALICE, `transfer twice <@${BOB}|bob>`));
    const toFrank = requestIdIn(await command(ALICE, `transfer twice <@${FRANK}|frank>`));
    await click(IT1, 'approve', toBob);
    await eventually(async () => (await product('ualice-twice'))?.tags.OwnerEmail === 'ubob@synapse.org', 'given to Bob');
    await eventually(async () => (await product('ualice-twice'))?.status === 'AVAILABLE', 'retag settled');
    await click(IT1, 'approve', toFrank);
    await eventually(() => channelPosts().find((p) => p.body.thread_ts && p.text.includes('Approved, but not carried out: ualice-twice no longer belongs to ualice@synapse.org')), 'IT told');
    await audited((e) => e.action === 'request.not-carried-out' && e.target === toFrank, 'audited');
    expect((await product('ualice-twice'))?.tags.OwnerEmail).toBe('ubob@synapse.org');
    expect(h.dms(FRANK).some((m) => m.includes('handed ualice-twice'))).toBe(false);
  });

  it('refuse a product in the middle of a change, changing nothing; Terminate all refuses as a whole', async () => {
    await launched(FRANK, 'launch "S3 Private Encrypted Bucket" one', 'ufrank-one');
    await launched(FRANK, 'launch "S3 Private Encrypted Bucket" two', 'ufrank-two');
    const id = requestIdIn(await command(IT1, `offboard <@${FRANK}|frank>`));
    await click(IT2, 'approve', id);
    await eventually(() => channelPosts().find((p) => p.body.thread_ts && p.text.includes('scicomp:offboard-terminate-all') && p.text.includes(id)), 'item list');
    const one = (await product('ufrank-one'))!;
    const terminate = vi.spyOn(sandbox, 'terminate');
    sandbox.changing.add('ufrank-one');
    try {
      expect(await click(IT2, 'offboard-terminate', `${id}|${one.id}`)).toContain('ufrank-one is changing right now (UNDER_CHANGE); nothing was done');
      expect(await click(IT2, 'offboard-terminate-all', id)).toContain('These are changing right now: ufrank-one (UNDER_CHANGE). Nothing was done');
      expect(terminate).not.toHaveBeenCalled();
    } finally {
      sandbox.changing.delete('ufrank-one');
      terminate.mockRestore();
    }
    expect(await click(IT2, 'offboard-terminate-all', id)).toContain('Terminating 2 products of ufrank');
    await eventually(async () => !(await product('ufrank-one')) && !(await product('ufrank-two')), 'both terminated');
  });
});
