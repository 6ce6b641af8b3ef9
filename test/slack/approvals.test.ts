// IT approvals through Slack's own door: requests filed by signed commands, decided by signed clicks, carried out in the sandbox.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually, Harness, SIGNING_SECRET } from '../support/harness.js';
import { buttonClick, interactionBody, sign } from '../support/signed.js';
import { APPROVALS_CHANNEL, testPolicy } from '../support/policy.js';

const ALICE = 'UALICE';
const BOB = 'UBOB';
const IT1 = 'UIT1';
const IT2 = 'UIT2';
const CHANNEL = APPROVALS_CHANNEL;

let h: Harness;
let sandbox: SandboxCatalog;
const clock = { offsetMs: 0, now() { return Date.now() + this.offsetMs; } };

beforeAll(async () => {
  sandbox = new SandboxCatalog({ provisionMs: 200 });
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
    const bobs = await h.command(BOB, `transfer ualice-box <@${BOB}>`);
    expect(await reply(bobs.responseId, 'not owner')).toContain('You cannot transfer a product to yourself');
  });

  it('on approval, sets OWNER and the OwnerEmail tag: the new owner sees it, the old one does not, both are told', async () => {
    const id = await file(ALICE, `transfer box <@${BOB}|bob>`);
    await click(IT1, 'approve', id);
    const pp = await eventually(async () => (await sandbox.searchProvisioned()).find((p) => p.name === 'ualice-box' && p.tags.OwnerEmail === 'ubob@synapse.org'), 'retagged');
    expect(sandbox.ownerOf(pp.id)).toBe('arn:aws:iam::111122223333:role/SC-Endusers/ubob@synapse.org');
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
  });

  it('refuses a bucket never owned, and one archived more than 30 days ago', async () => {
    const never = await h.command(BOB, 'restore keep');
    expect(await reply(never.responseId, 'never owned')).toContain('You have no archived bucket called \\"keep\\"');
    clock.offsetMs = 31 * 86400_000;
    try {
      const old = await h.command(ALICE, 'restore ualice-keep');
      expect(await reply(old.responseId, 'too old')).toContain('more than 30 days ago: it has been purged');
    } finally {
      clock.offsetMs = 0;
    }
  });
});

describe('offboarding', () => {
  it('is for IT only; once another approver approves, lists what the user owns, and Terminate all carries it out', async () => {
    const notIt = await h.command(ALICE, `offboard <@${BOB}>`);
    expect(await reply(notIt.responseId, 'refusal')).toContain('Only members of the IT approver group can offboard people');
    const id = await file(IT1, `offboard <@${BOB}|bob>`);
    expect(channelPosts().find((p) => p.text.includes(`"value":"${id}"`))!.text).toContain('ualice-box');
    await click(IT2, 'approve', id);
    const list = await eventually(() => channelPosts().find((p) => p.body.thread_ts && p.text.includes('scicomp:offboard-terminate-all')), 'item list');
    expect(list.text).toContain('Transfer ualice-box to…');
    expect(await click(IT2, 'offboard-terminate-all', id)).toContain('Terminating 1 product of ubob');
    await eventually(async () => !(await sandbox.searchProvisioned()).some((p) => p.name === 'ualice-box'), 'terminated');
    await eventually(() => channelPosts().find((p) => p.body.thread_ts && p.text.includes('is terminating ualice-box')), 'reported in thread');
  });
});

describe('abuse', () => {
  it('a click on a request that does not exist', async () => {
    expect(await click(IT1, 'approve', 'no-such-request')).toContain('There is no request no-such-request');
  });

  it('a forged button payload is rejected before anything runs', async () => {
    const body = interactionBody(buttonClick({ userId: IT1, actionId: 'scicomp:approve', value: 'x', responseUrl: h.slack.responseUrl('forged') }));
    const res = await h.post('/slack/events', body, sign(`${SIGNING_SECRET}-wrong`, body));
    expect(res.status).toBe(401);
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
