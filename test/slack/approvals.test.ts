// IT approvals through Slack's own door: requests filed by signed commands, decided by signed clicks, carried out in the sandbox.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expire, loadRequest, openRequest, when, type ApprovalRequest } from '../../src/core/approvals.js';
import type { Outbox, StoredAuditEntry } from '../../src/core/context.js';
import { UpstreamError } from '../../src/core/errors.js';
import type { LaunchOptions } from '../../src/core/ports.js';
import { MASK } from '../../src/core/products.js';
import { sealJson } from '../../src/core/sealed.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually, Harness, SIGNING_SECRET } from '../support/harness.js';
import { buttonClick, interactionBody, sign } from '../support/signed.js';
import { APPROVALS_CHANNEL, testPolicy } from '../support/policy.js';

/** The sandbox with EC2 Linux's AmiId marked NoEcho, as a template with a secret parameter declares it. */
class NoEchoCatalog extends SandboxCatalog {
  override async launchOptions(productId: string, versionId: string): Promise<LaunchOptions> {
    const o = await super.launchOptions(productId, versionId);
    return { ...o, parameters: o.parameters.map((s) => (s.key === 'AmiId' ? { ...s, noEcho: true } : s)) };
  }
}

const ALICE = 'UALICE';
const BOB = 'UBOB';
const CAROL = 'UCAROL';
const IT1 = 'UIT1';
const IT2 = 'UIT2';
const CHANNEL = APPROVALS_CHANNEL;

let h: Harness;
let sandbox: SandboxCatalog;
const clock = { offsetMs: 0, now() { return Date.now() + this.offsetMs; } };

beforeAll(async () => {
  sandbox = new NoEchoCatalog({ provisionMs: 200 });
  h = await Harness.start({ catalog: sandbox, policy: testPolicy(), clock });
  h.slack.unknownUsers.add('UGHOST');
});

afterAll(async () => {
  await dropPrefix(h.app);
  await h.close();
});

const reply = (responseId: string, what: string) => eventually(() => h.replies(responseId).join('\n'), what);

function channelPosts(): { body: Record<string, unknown>; text: string; method: string }[] {
  return h.slack.calls
    .filter((c) => (c.method === 'chat.postMessage' || c.method === 'chat.update') && c.body.channel === CHANNEL)
    .map((c) => ({ body: c.body, text: JSON.stringify(c.body), method: c.method }));
}

function requestIdIn(text: string): string {
  const m = /Request ([A-Za-z0-9_-]+) filed/.exec(text);
  if (!m) throw new Error(`no request id in ${text}`);
  return m[1]!;
}

async function file(user: string, text: string): Promise<string> {
  const { responseId } = await h.command(user, text);
  const id = requestIdIn(await reply(responseId, `request for ${text}`));
  await eventually(() => channelPosts().find((p) => p.method === 'chat.postMessage' && p.text.includes(`"value":"${id}"`)), 'parent message with buttons');
  return id;
}

async function click(user: string, action: string, value: string): Promise<string> {
  const { responseId } = await h.click(user, action, value);
  return reply(responseId, `answer to ${action}`);
}

/** Waits for the audit entry a refusal or an action leaves. */
function audited(match: (e: StoredAuditEntry) => boolean, what: string): Promise<StoredAuditEntry> {
  return eventually(async () => (await h.app.audit.recent(1000)).find(match), `audit entry: ${what}`);
}

/** A modal submitted by a user, as Slack posts it (view_submission). */
function submitView(user: string, callbackId: string, privateMetadata: string, values: Record<string, Record<string, unknown>>): Promise<Response> {
  return h.interaction({
    type: 'view_submission',
    team: { id: 'T0001' },
    user: { id: user, username: user.toLowerCase(), team_id: 'T0001' },
    api_app_id: 'A1',
    token: 't',
    trigger_id: `1.2.${Math.random().toString(16).slice(2)}`,
    view: { id: `V${Math.random().toString(36).slice(2, 10)}`, hash: 'h1', type: 'modal', callback_id: `scicomp:${callbackId}`, private_metadata: privateMetadata, state: { values } },
  });
}

const pickUser = (userId: string) => ({ to: { to: { type: 'users_select', selected_user: userId } } });

async function ppId(name: string): Promise<string> {
  return eventually(async () => (await sandbox.searchProvisioned()).find((p) => p.name === name)?.id, `${name} provisioned`);
}

describe('a launch that policy sends to IT', () => {
  let id: string;

  it('files a request: parent in the approvals channel with Approve / Deny, the requester told with a link', async () => {
    id = await file(ALICE, 'launch "EC2 Linux" big InstanceType=c5.2xlarge');
    const parent = channelPosts().find((p) => p.text.includes(`"value":"${id}"`))!;
    expect(parent.text).toContain('Launch EC2 Linux ualice-big');
    expect(parent.text).toContain('InstanceType=c5.2xlarge needs IT approval');
    expect(parent.text).toMatch(/up to about \$248\/month on demand/);
    expect(parent.text).toContain('"action_id":"scicomp:approve"');
    expect(parent.text).toContain('"action_id":"scicomp:deny"');
    const pending = await eventually(() => h.dms(ALICE).find((m) => m.includes('Sent to IT for approval')), 'pending DM');
    expect(pending).toContain('Link: https://example.slack.com/archives/CAPPROVE/p');
    expect((await sandbox.searchProvisioned()).some((p) => p.name === 'ualice-big')).toBe(false);
  });

  it('refuses a non-approver and changes nothing', async () => {
    expect(await click(BOB, 'approve', id)).toContain('Only members of the IT approver group can decide requests');
    expect(await click(ALICE, 'approve', id)).toContain('Only members of the IT approver group');
    await audited((e) => e.action === 'click.approve' && e.actor === `slack:${BOB}` && e.target === id && e.outcome.startsWith('refused: Only members'), 'non-approver refused');
  });

  it('lists it among pending requests, for approvers only', async () => {
    const { responseId } = await h.command(IT1, 'approvals');
    const text = await reply(responseId, 'approvals');
    expect(text).toContain('Launch EC2 Linux ualice-big');
    expect(text).toContain('https://example.slack.com/archives/CAPPROVE/');
    const bob = await h.command(BOB, 'approvals');
    expect(await reply(bob.responseId, 'refusal')).toContain('Only members of the IT approver group can list pending requests');
  });

  it('approval updates the parent, posts in the thread, tells the requester and provisions', async () => {
    expect(await click(IT1, 'approve', id)).toContain(`Approved request ${id}`);
    const updated = await eventually(() => channelPosts().find((p) => p.method === 'chat.update' && p.text.includes('Approved by uit1')), 'parent updated');
    expect(updated.text).not.toContain('scicomp:approve');
    const threaded = await eventually(() => channelPosts().find((p) => p.method === 'chat.postMessage' && p.body.thread_ts && p.text.includes('Approved by uit1')), 'decision in thread');
    expect(threaded.body.thread_ts).toBeDefined();
    await eventually(() => h.dms(ALICE).find((m) => m.includes('Approved: Launch EC2 Linux ualice-big')), 'requester told');
    await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-big is ready')), 'provisioned');
  });

  it('tells a late click who decided and when, and does nothing more', async () => {
    expect(await click(IT2, 'approve', id)).toMatch(/already decided: approved by uit1 at \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    expect((await sandbox.searchProvisioned()).filter((p) => p.name === 'ualice-big')).toHaveLength(1);
  });

  it('refuses self-approval', async () => {
    const own = await file(IT1, 'launch "HPC Cluster" hpc MaxNodes=50');
    expect(await click(IT1, 'approve', own)).toContain('You cannot decide your own request');
    await audited((e) => e.action === 'click.approve' && e.actor === `slack:${IT1}` && e.target === own && e.outcome.startsWith('refused: You cannot decide your own'), 'self-approval refused');
  });
});

describe('deny', () => {
  it('asks for a reason in a modal and sends it to the requester', async () => {
    const id = await file(ALICE, 'launch "EC2 Linux" huge InstanceType=m5.xlarge');
    const opened = h.slack.of('views.open').length;
    const res = await h.interaction(buttonClick({ userId: IT2, actionId: 'scicomp:deny', value: id, responseUrl: h.slack.responseUrl('deny') }));
    expect(res.status).toBe(200);
    const modal = await eventually(() => h.slack.of('views.open').slice(opened).find((c) => JSON.stringify(c.body).includes('scicomp:deny')), 'deny modal');
    expect((modal.body.view as { private_metadata: string }).private_metadata).toBe(id);
    const submit = await h.interaction({
      type: 'view_submission',
      team: { id: 'T0001' },
      user: { id: IT2, username: 'uit2', team_id: 'T0001' },
      api_app_id: 'A1',
      token: 't',
      trigger_id: '1.2.5',
      view: { id: 'VDENY', hash: 'h1', type: 'modal', callback_id: 'scicomp:deny', private_metadata: id, state: { values: { reason: { reason: { type: 'plain_text_input', value: 'Use t3.large for this workload' } } } } },
    });
    expect(submit.status).toBe(200);
    const told = await eventually(() => h.dms(ALICE).find((m) => m.includes('Denied: Launch EC2 Linux ualice-huge')), 'denial DM');
    expect(told).toContain('Reason: Use t3.large for this workload');
    await eventually(() => channelPosts().find((p) => p.method === 'chat.update' && p.text.includes('Denied by uit2') && p.text.includes('Use t3.large')), 'parent shows denial');
    expect((await sandbox.searchProvisioned()).some((p) => p.name === 'ualice-huge')).toBe(false);
  });

  it('opens no modal for a non-approver, the requester or a decided request: the refusal instead, audited', async () => {
    const id = await file(ALICE, 'launch "EC2 Linux" wide InstanceType=m5.xlarge');
    const own = await file(IT1, 'launch "EC2 Linux" mine InstanceType=m5.xlarge');
    const opened = h.slack.of('views.open').length;
    expect(await click(BOB, 'deny', id)).toContain('Only members of the IT approver group can decide requests');
    expect(await click(IT1, 'deny', own)).toContain('You cannot decide your own request');
    expect(await click(IT1, 'deny', 'no-such-request')).toContain('There is no request no-such-request');
    expect(await click(IT1, 'approve', id)).toContain(`Approved request ${id}`);
    expect(await click(IT2, 'deny', id)).toMatch(/already decided: approved by uit1/);
    expect(h.slack.of('views.open').length).toBe(opened);
    await audited((e) => e.action === 'click.deny' && e.actor === `slack:${BOB}` && e.target === id && e.outcome.startsWith('refused: Only members'), 'non-approver deny');
    await audited((e) => e.action === 'click.deny' && e.actor === `slack:${IT1}` && e.target === own && e.outcome.startsWith('refused: You cannot decide your own'), 'own deny');
  });
});

describe('NoEcho parameters', () => {
  const SECRET = 'ami-5ec7e75ec7e75ec7';

  it('never reach the approvals channel, the requester or the audit trail', async () => {
    const id = await file(ALICE, `launch "EC2 Linux" sec InstanceType=c5.2xlarge AmiId=${SECRET}`);
    const parent = channelPosts().find((p) => p.text.includes(`"value":"${id}"`))!;
    expect(parent.text).toContain('AmiId');
    expect(parent.text).toContain(MASK);
    await click(IT1, 'approve', id);
    // The launch-started message (with the parameters), not the watcher's progress message that may come first.
    const started = await eventually(() => h.dms(ALICE).find((m) => m.includes('Launching ualice-sec') && m.includes('AmiId')), 'launch started DM');
    expect(started).toContain(MASK);
    await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-sec is ready')), 'provisioned');
    const provision = await audited((e) => e.action === 'aws.provision' && e.target === 'ualice-sec', 'provision');
    expect(provision.parameters).toMatchObject({ AmiId: MASK, InstanceType: 'c5.2xlarge' });
    const bad = await h.command(ALICE, 'launch "EC2 Linux" sec2 AmiId=ami-zz5ec7e75ec7');
    expect(await reply(bad.responseId, 'refusal')).toContain('AmiId: the value given does not match');
    expect(h.slack.texts().filter((t) => t.includes('5ec7e75ec7'))).toEqual([]);
    expect((await h.app.audit.recent(1000)).filter((e) => JSON.stringify(e).includes('5ec7e75ec7'))).toEqual([]);
  });
});

describe('transfer', () => {
  it('refuses bad transfers with clear messages', async () => {
    const launch = await h.command(ALICE, 'launch "EC2 Linux" box');
    await reply(launch.responseId, 'launch');
    await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-box is ready')), 'box ready');
    for (const [text, message] of [
      [`transfer box <@${ALICE}|alice>`, 'You cannot transfer a product to yourself'],
      ['transfer box <@UGHOST|ghost>', "I don't know the user UGHOST"],
      [`transfer nothing-here <@${BOB}>`, 'You have no product called \\"nothing-here\\"'],
      ['transfer box bob', '\\"bob\\" is not a user'],
    ]) {
      const { responseId } = await h.command(ALICE, text!);
      expect(await reply(responseId, text!)).toContain(message);
    }
    const bobs = await h.command(BOB, `transfer ualice-box <@${CAROL}>`);
    expect(await reply(bobs.responseId, 'not owner')).toContain('You have no product called \\"ualice-box\\"');
    const refusals = await eventually(async () => {
      const r = (await h.app.audit.recent(1000)).filter((e) => e.action === 'command.transfer' && e.outcome.startsWith('refused'));
      return r.length >= 5 ? r : undefined;
    }, 'every refused transfer audited');
    expect(refusals.some((e) => e.actor === `slack:${BOB}` && e.outcome.includes('You have no product called "ualice-box"'))).toBe(true);
  });

  it('an approver who would receive the product cannot approve the transfer', async () => {
    const id = await file(ALICE, `transfer box <@${IT2}>`);
    expect(await click(IT2, 'approve', id)).toContain('You cannot decide a transfer to yourself');
    expect(await sandbox.ownerOf(await ppId('ualice-box'))).toBeUndefined();
  });

  it('on approval, sets OWNER and the OwnerEmail tag: the new owner sees it, the old one does not, both are told', async () => {
    const id = await file(ALICE, `transfer box <@${BOB}|bob>`);
    await click(IT1, 'approve', id);
    const pp = await eventually(async () => (await sandbox.searchProvisioned()).find((p) => p.name === 'ualice-box' && p.tags.OwnerEmail === 'ubob@synapse.org'), 'retagged');
    expect(await sandbox.ownerOf(pp.id)).toBe('arn:aws:iam::111122223333:role/SC-Endusers/ubob@synapse.org');
    await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-box now belongs to ubob')), 'old owner told');
    await eventually(() => h.dms(BOB).find((m) => m.includes('handed ualice-box (EC2 Linux) over to you')), 'new owner told');
    const bob = await h.command(BOB, 'list');
    expect(await reply(bob.responseId, 'bob list')).toContain('ualice-box');
    const alice = await h.command(ALICE, 'list');
    expect(await reply(alice.responseId, 'alice list')).not.toContain('ualice-box');
  });
});

describe('restore', () => {
  it('files a request for a bucket terminated within 30 days; approval hands IT a task whose Done tells the requester', async () => {
    const launch = await h.command(ALICE, 'launch "S3 Private Encrypted Bucket" keep');
    await reply(launch.responseId, 'launch');
    await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-keep is ready')), 'bucket ready');
    const t = await h.command(ALICE, 'terminate keep');
    const ask = JSON.parse((await reply(t.responseId, 'confirm')).split('\n')[0]!) as { blocks: { elements?: { action_id: string; value: string }[] }[] };
    const confirm = ask.blocks.flatMap((b) => b.elements ?? []).find((e) => e.action_id === 'scicomp:confirm')!;
    await click(ALICE, 'confirm', confirm.value);
    await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-keep is terminated')), 'terminated');

    const id = await file(ALICE, 'restore keep');
    await click(IT1, 'approve', id);
    const task = await eventually(() => channelPosts().find((p) => p.body.thread_ts && p.text.includes('Task for IT: restore ualice-keep')), 'task in thread');
    expect(task.text).toContain('scicomp:restore-done');
    expect(await click(BOB, 'restore-done', id)).toContain('Only members of the IT approver group');
    expect(await click(IT2, 'restore-done', id)).toContain('Marked ualice-keep as restored');
    await eventually(() => h.dms(ALICE).find((m) => m.includes('IT restored your bucket ualice-keep')), 'requester told');
    expect(await click(IT2, 'restore-done', id)).toContain('already done');
    const again = await h.command(ALICE, 'restore keep');
    expect(await reply(again.responseId, 'restored once')).toContain('You have no archived bucket called \\"keep\\"');
  });

  /** A bucket the watcher archived when its termination settled (what terminate writes), at the given time. */
  async function archived(name: string, terminatedAt = Date.now()): Promise<void> {
    await h.app.deps.archives.add('ualice@synapse.org', name, { terminatedAt, productName: 'S3 Private Encrypted Bucket' });
  }

  it('refuses a bucket never owned, and one archived more than 30 days ago', async () => {
    const never = await h.command(BOB, 'restore keep');
    expect(await reply(never.responseId, 'never owned')).toContain('You have no archived bucket called \\"keep\\"');
    await archived('ualice-old');
    clock.offsetMs = 31 * 86400_000;
    try {
      const old = await h.command(ALICE, 'restore ualice-old');
      expect(await reply(old.responseId, 'too old')).toContain('more than 30 days ago: it has been purged');
    } finally {
      clock.offsetMs = 0;
    }
    await audited((e) => e.action === 'command.restore' && e.target === 'ualice-old' && e.outcome.includes('has been purged'), 'too old refused');
  });

  it('re-checks the 30 days when the approval is carried out and when IT clicks Done', async () => {
    // Terminated 29 days ago, so restorable when filed; two days on (within the requests' 72 h) the archive has purged them.
    await archived('ualice-late', Date.now() - 29 * 86400_000);
    await archived('ualice-slow', Date.now() - 29 * 86400_000);
    const late = await file(ALICE, 'restore ualice-late');
    const slow = await file(ALICE, 'restore ualice-slow');
    await click(IT1, 'approve', slow);
    await eventually(() => channelPosts().find((p) => p.body.thread_ts && p.text.includes('Task for IT: restore ualice-slow')), 'task in thread');
    clock.offsetMs = 2 * 86400_000;
    try {
      await click(IT1, 'approve', late);
      await eventually(() => channelPosts().find((p) => p.body.thread_ts && p.text.includes('ualice-late was terminated') && p.text.includes('cannot be restored')), 'purged in thread');
      await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-late was terminated') && m.includes('cannot be restored')), 'requester told');
      expect(channelPosts().some((p) => p.text.includes('Task for IT: restore ualice-late'))).toBe(false);
      expect(await click(IT2, 'restore-done', slow)).toContain('the archive has purged it, so it cannot be marked restored');
    } finally {
      clock.offsetMs = 0;
    }
    expect(h.dms(ALICE).some((m) => m.includes('IT restored your bucket ualice-slow'))).toBe(false);
  });
});

describe('offboarding', () => {
  let id: string;
  const owned: Record<string, string> = {};

  it('is for IT only; once another approver approves, lists what the user owns with per-item and all-at-once actions', async () => {
    for (const name of ['b1', 'b2', 'b3']) {
      const { responseId } = await h.command(BOB, `launch "S3 Private Encrypted Bucket" ${name}`);
      await reply(responseId, `launch ${name}`);
    }
    for (const name of ['ubob-b1', 'ubob-b2', 'ubob-b3', 'ualice-box']) {
      await eventually(() => name === 'ualice-box' || h.dms(BOB).some((m) => m.includes(`${name} is ready`)), `${name} ready`);
      owned[name] = await ppId(name);
    }
    const notIt = await h.command(ALICE, `offboard <@${BOB}>`);
    expect(await reply(notIt.responseId, 'refusal')).toContain('Only members of the IT approver group can offboard people');
    id = await file(IT1, `offboard <@${BOB}|bob>`);
    expect(channelPosts().find((p) => p.text.includes(`"value":"${id}"`))!.text).toContain('ualice-box');
    await click(IT2, 'approve', id);
    const list = await eventually(() => channelPosts().find((p) => p.body.thread_ts && p.text.includes('scicomp:offboard-terminate-all')), 'item list');
    expect(list.text).toContain('Transfer ualice-box to…');
    expect(list.text).toContain('"action_id":"scicomp:offboard-transfer-all"');
    expect(list.text).toContain(`"value":"${id}|${owned['ubob-b2']}"`);
  });

  it('Terminate on one item: the outcome is reported in the thread', async () => {
    expect(await click(IT2, 'offboard-terminate', `${id}|${owned['ubob-b1']}`)).toContain('Terminating ubob-b1');
    await eventually(() => channelPosts().find((p) => p.body.thread_ts && p.text.includes('ubob-b1 is terminated (record')), 'outcome in thread');
    expect((await sandbox.searchProvisioned()).some((p) => p.name === 'ubob-b1')).toBe(false);
  });

  it('Transfer on one item: a modal for approvers only, then OWNER and tag, keyed by request and product', async () => {
    const value = `${id}|${owned['ubob-b2']}`;
    const opened = h.slack.of('views.open').length;
    expect(await click(BOB, 'offboard-transfer', value)).toContain('Only members of the IT approver group can carry out offboarding');
    expect(h.slack.of('views.open').length).toBe(opened);
    const res = await h.interaction(buttonClick({ userId: IT2, actionId: 'scicomp:offboard-transfer', value, responseUrl: h.slack.responseUrl('pick') }));
    expect(res.status).toBe(200);
    const modal = await eventually(() => h.slack.of('views.open').slice(opened).find((c) => JSON.stringify(c.body).includes('scicomp:offboard-transfer')), 'transfer modal');
    expect((modal.body.view as { private_metadata: string }).private_metadata).toBe(value);
    expect((await submitView(IT2, 'offboard-transfer', value, pickUser(CAROL))).status).toBe(200);
    await eventually(() => h.dms(IT2).find((m) => m.includes('Transferred ubob-b2 to ucarol')), 'IT told');
    await eventually(() => channelPosts().find((p) => p.body.thread_ts && p.text.includes('transferred ubob-b2 to ucarol')), 'thread told');
    await eventually(async () => (await sandbox.searchProvisioned()).find((p) => p.name === 'ubob-b2')?.tags.OwnerEmail === 'ucarol@synapse.org', 'retagged');
    expect(await sandbox.ownerOf(owned['ubob-b2']!)).toBe('arn:aws:iam::111122223333:role/SC-Endusers/ucarol@synapse.org');
    const setOwner = await audited((e) => e.action === 'aws.set-owner' && e.target === 'ubob-b2', 'set-owner');
    expect(setOwner.requestId).toBe(`${id}-${owned['ubob-b2']}`);
  });

  it('Transfer all to…: everything left goes to one person', async () => {
    const opened = h.slack.of('views.open').length;
    await h.interaction(buttonClick({ userId: IT2, actionId: 'scicomp:offboard-transfer-all', value: id, responseUrl: h.slack.responseUrl('pick-all') }));
    await eventually(() => h.slack.of('views.open').slice(opened).find((c) => JSON.stringify(c.body).includes('scicomp:offboard-transfer-all')), 'transfer-all modal');
    await submitView(IT2, 'offboard-transfer-all', id, pickUser(CAROL));
    await eventually(() => h.dms(IT2).find((m) => m.includes('Transferred 2 products of ubob to ucarol')), 'IT told');
    await eventually(async () => {
      const all = await sandbox.searchProvisioned();
      return ['ubob-b3', 'ualice-box'].every((n) => all.find((p) => p.name === n)?.tags.OwnerEmail === 'ucarol@synapse.org');
    }, 'both retagged');
  });

  it('Terminate all carries out a second offboarding', async () => {
    const next = await file(IT1, `offboard <@${CAROL}|carol>`);
    await click(IT2, 'approve', next);
    await eventually(() => channelPosts().find((p) => p.body.thread_ts && p.text.includes(`"value":"${next}"`) && p.text.includes('scicomp:offboard-terminate-all')), 'item list');
    // The transfers just made are still settling (their retag records run): Terminate all refuses a changing product.
    await eventually(async () => (await sandbox.searchProvisioned()).filter((p) => ['ualice-box', 'ubob-b2', 'ubob-b3'].includes(p.name)).every((p) => p.status === 'AVAILABLE'), 'the transfers settled');
    expect(await click(IT2, 'offboard-terminate-all', next)).toContain('Terminating 3 products of ucarol');
    await eventually(async () => !(await sandbox.searchProvisioned()).some((p) => ['ualice-box', 'ubob-b2', 'ubob-b3'].includes(p.name)), 'terminated');
    await eventually(() => channelPosts().find((p) => p.body.thread_ts && p.text.includes('is terminating ualice-box')), 'reported in thread');
    await eventually(() => channelPosts().find((p) => p.body.thread_ts && p.text.includes('ualice-box is terminated (record')), 'outcome in thread');
  });
});

describe('expiry after a partial failure', () => {
  it('a retry finishes what the first attempt could not send', async () => {
    const id = await file(ALICE, 'launch "EC2 Linux" flaky InstanceType=c5.2xlarge');
    const real = h.app.deps.outbox;
    let failures = 0;
    const flaky: Outbox = {
      permalink: (key) => real.permalink(key),
      send: async (item) => {
        if (failures++ === 0) throw new UpstreamError('chat is down', true);
        await real.send(item);
      },
    };
    await expect(expire(id, { ...h.app.deps, outbox: flaky })).rejects.toThrow('chat is down');
    expect(await expire(id, h.app.deps)).toBe(true);
    await eventually(() => channelPosts().find((p) => p.method === 'chat.update' && p.text.includes('ualice-flaky') && p.text.includes('without a decision')), 'parent expired');
    await eventually(() => h.dms(ALICE).find((m) => m.includes('Your request expired without a decision: Launch EC2 Linux ualice-flaky')), 'requester told');
    expect((await h.app.audit.recent(1000)).filter((e) => e.action === 'request.expired' && e.target === id)).toHaveLength(1);
    expect(await click(IT1, 'approve', id)).toMatch(/already decided: expired at/);
  });
});

describe('a decision after the expiry, when the expiry job is late', () => {
  it('is refused, and the request is expired then and there: parent, thread and requester told, nothing launched', async () => {
    const approveLate = await file(ALICE, 'launch "EC2 Linux" tardy InstanceType=c5.2xlarge');
    const denyLate = await file(ALICE, 'launch "EC2 Linux" tardier InstanceType=c5.2xlarge');
    const expiresAt = (await loadRequest(h.app.deps, approveLate))!.request.expiresAt;
    const opened = h.slack.of('views.open').length;
    // The expiry jobs are due in 72 real hours: to the bot's clock they are now a day late.
    clock.offsetMs = 96 * 3600_000;
    try {
      const approved = await click(IT1, 'approve', approveLate);
      expect(approved).toContain(`This request expired at ${when(expiresAt)}, before it was decided: nothing was approved or denied`);
      expect(await click(IT2, 'deny', denyLate)).toMatch(/expired at \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    } finally {
      clock.offsetMs = 0;
    }
    expect(h.slack.of('views.open').length).toBe(opened);
    for (const [id, name] of [[approveLate, 'ualice-tardy'], [denyLate, 'ualice-tardier']] as const) {
      expect((await loadRequest(h.app.deps, id))!.decision.state).toBe('expired');
      await eventually(() => channelPosts().find((p) => p.method === 'chat.update' && p.text.includes(name) && p.text.includes('without a decision')), `${name} parent expired`);
      await eventually(() => channelPosts().find((p) => p.body.thread_ts && p.text.includes('without a decision') && p.text.includes('Expired at')), 'thread told');
      await eventually(() => h.dms(ALICE).find((m) => m.includes(`Your request expired without a decision: Launch EC2 Linux ${name}`)), `${name} requester told`);
      await audited((e) => e.action === 'request.expired' && e.target === id, `${name} expiry audited`);
    }
    await audited((e) => e.action === 'click.approve' && e.target === approveLate && e.outcome.startsWith('refused: This request expired at'), 'late approval refused');
    expect((await h.app.audit.recent(1000)).some((e) => e.action === 'decision.approved' && e.target === approveLate)).toBe(false);
    expect(await click(IT2, 'approve', approveLate)).toMatch(/already decided: expired at/);
    expect((await sandbox.searchProvisioned()).some((p) => p.name === 'ualice-tardy')).toBe(false);
  });
});

describe('a limit on open requests', () => {
  const DAVE = 'UDAVE';
  const parents = (name: string) => channelPosts().filter((p) => p.method === 'chat.postMessage' && !p.body.thread_ts && p.text.includes(name));

  it('a burst of requests from one person files the first five; the rest are refused, naming those waiting', async () => {
    const sent = await Promise.all(Array.from({ length: 8 }, (_, i) => h.command(DAVE, `launch "EC2 Linux" burst${i} InstanceType=c5.2xlarge`)));
    const answers = await Promise.all(sent.map(({ responseId }, i) => reply(responseId, `burst ${i}`)));
    const filed = answers.filter((a) => /Request [A-Za-z0-9_-]+ filed/.test(a));
    const refused = answers.filter((a) => a.includes('You have 5 requests waiting for IT, the most one person may have open'));
    expect([filed.length, refused.length]).toEqual([5, 3]);
    expect(refused[0]).toContain('Wait for a decision on one of them, or ask IT in the approvals channel');
    expect(refused[0]).toMatch(/Launch EC2 Linux udave-burst\d \(request [A-Za-z0-9_-]+, expires \d{4}-\d{2}-\d{2}/);
    await eventually(() => parents('udave-burst').length === 5, 'five parents');
    await audited((e) => e.actor === `slack:${DAVE}` && e.action === 'command.launch' && e.outcome.startsWith('refused: You have 5 requests waiting'), 'refusal audited');
    // Nothing of a refused request was kept, posted or told.
    expect((await h.app.audit.recent(1000)).filter((e) => e.action === 'request.launch' && e.actor === `slack:${DAVE}`)).toHaveLength(5);
    await eventually(() => h.dms(DAVE).filter((m) => m.includes('Sent to IT for approval')).length === 5, 'five pending notes');
    expect(parents('udave-burst')).toHaveLength(5);

    // A decision frees a place.
    const first = requestIdIn(filed[0]!);
    await click(IT1, 'approve', first);
    const again = await h.command(DAVE, 'launch "EC2 Linux" burst9 InstanceType=c5.2xlarge');
    expect(await reply(again.responseId, 'after a decision')).toMatch(/Request [A-Za-z0-9_-]+ filed/);
  });

  it('is kept when requests are filed at the very same moment', async () => {
    const requester = { platform: 'slack' as const, userId: 'UERIN', email: 'uerin@synapse.org', name: 'uerin' };
    const actor = { ...requester, username: 'uerin', handles: [{ platform: 'slack' as const, userId: requester.userId }] };
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        openRequest(
          { requester, title: `Restore bucket uerin-b${i}`, why: 'test', fields: [], impact: 'none', payload: { kind: 'restore', restore: { bucket: `uerin-b${i}`, productName: 'S3 Private Encrypted Bucket', terminatedAt: Date.now() } } },
          { actor, requestId: `same-moment-${i}`, reply: { platform: 'slack', kind: 'user', userId: 'UERIN' } },
          h.app.deps,
          async () => {},
        ),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    const refusals = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
    expect(refusals).toHaveLength(5);
    for (const m of refusals) expect(m).toContain('You have 5 requests waiting for IT');
  });
});

describe('abuse', () => {
  it('a click on a request that does not exist', async () => {
    expect(await click(IT1, 'approve', 'no-such-request')).toContain('There is no request no-such-request');
    await audited((e) => e.action === 'click.approve' && e.target === 'no-such-request' && e.outcome.startsWith('refused: There is no request'), 'missing request');
  });

  it('a forged button payload is rejected before anything runs, and audited', async () => {
    const before = h.slack.calls.length;
    const body = interactionBody(buttonClick({ userId: IT1, actionId: 'scicomp:approve', value: 'forged-request-value', responseUrl: h.slack.responseUrl('forged') }));
    const res = await h.post('/slack/events', body, sign(`${SIGNING_SECRET}-wrong`, body));
    expect(res.status).toBe(401);
    const entry = await audited((e) => e.action === 'slack.signature-rejected', 'signature rejected');
    expect(entry).toMatchObject({ actor: 'unknown', outcome: 'rejected: 401' });
    // Bolt's own reason, read from its log line: a Bolt that words it differently fails here, not silently.
    expect(String(entry.parameters?.reason)).toMatch(/signature mismatch/i);
    expect(JSON.stringify(entry)).not.toContain('forged-request-value');
    expect(h.slack.calls.slice(before).filter((c) => c.body.responseId === 'forged')).toEqual([]);
  });
});

describe('audit', () => {
  it('records requests, decisions, refusals and AWS mutations, readable by approvers', async () => {
    const entries = await h.app.audit.recent(500);
    const actions = new Set(entries.map((e) => e.action));
    for (const a of ['request.launch', 'request.transfer', 'request.restore', 'request.offboard', 'decision.approved', 'decision.denied', 'aws.provision', 'aws.set-owner', 'aws.retag', 'aws.terminate', 'restore.done']) {
      expect(actions, a).toContain(a);
    }
    expect(entries.some((e) => e.action === 'click.approve' && e.actor === `slack:${BOB}` && e.outcome.startsWith('refused'))).toBe(true);
    const { responseId } = await h.command(IT1, `audit <@${ALICE}>`);
    const text = await reply(responseId, 'audit');
    expect(text).toContain('Audit trail');
    expect(text).toContain(`slack:${ALICE}`);
    expect(text).not.toContain(`slack:${BOB} →`);
    const bob = await h.command(BOB, 'audit');
    expect(await reply(bob.responseId, 'refusal')).toContain('Only members of the IT approver group can read the audit trail');
  });
});

describe('a long queue of pending requests', () => {
  it('says how many more there are beyond the first fifty', async () => {
    for (let i = 0; i < 55; i++) {
      const id = `seeded-${i}`;
      const request: ApprovalRequest = {
        id,
        requester: { platform: 'slack', userId: ALICE, email: 'ualice@synapse.org', name: 'ualice' },
        title: `Restore bucket ualice-seed-${i}`,
        why: 'seeded',
        fields: [],
        impact: 'none',
        payload: { kind: 'restore', restore: { bucket: `ualice-seed-${i}`, productName: 'S3 Private Encrypted Bucket', terminatedAt: 0 } },
        createdAt: i,
        expiresAt: Date.now() + 3600_000,
      };
      await h.app.deps.approvals.file({ ...request, payload: await sealJson(h.app.sealer, request.payload) }, { limit: 0, keepMs: 3600_000 });
    }
    const { total } = await h.app.deps.approvals.pending(0);
    const { responseId } = await h.command(IT1, 'approvals');
    const text = await reply(responseId, 'approvals');
    expect(text).toContain(`${total} requests waiting for a decision`);
    expect(text).toContain(`…and ${total - 50} more`);
  });
});

describe('approvers as a Slack user group', () => {
  let g: Harness;

  beforeAll(async () => {
    g = await Harness.start({ catalog: new SandboxCatalog({ provisionMs: 100 }), policy: testPolicy(72, { userGroup: 'SITGROUP' }) });
    g.slack.groups = { SITGROUP: [IT1, IT2] };
  });

  afterAll(async () => {
    await dropPrefix(g.app);
    await g.close();
  });

  it('asks Slack who is in the group, and only its members decide', async () => {
    const filed = await g.command(ALICE, 'launch "EC2 Linux" grp InstanceType=c5.2xlarge');
    const id = requestIdIn(await eventually(() => g.replies(filed.responseId).join(''), 'filed'));
    const bob = await g.click(BOB, 'approve', id);
    expect(await eventually(() => g.replies(bob.responseId).join(''), 'refusal')).toContain('Only members of the IT approver group can decide requests');
    const it2 = await g.click(IT2, 'approve', id);
    expect(await eventually(() => g.replies(it2.responseId).join(''), 'approval')).toContain(`Approved request ${id}`);
    expect(g.slack.of('usergroups.users.list').map((c) => c.body.usergroup)).toContain('SITGROUP');
  });
});
