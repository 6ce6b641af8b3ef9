// Approvals in two venues, a Slack channel and a Teams channel: a request filed through Slack's own door appears in both,
// and a decision made in either (a signed Slack click, or a Teams click queued as the Teams channel queues it) shows in
// both, exactly once. Teams is a recording chat here: what is under test is what scicomp asks of each platform.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRequestId } from '../../src/core/ids.js';
import { Policy } from '../../src/core/policy.js';
import type { Address } from '../../src/core/ports.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually, Harness } from '../support/harness.js';
import { APPROVALS_CHANNEL, testPolicy } from '../support/policy.js';
import { RecordingChannel, RecordingChat } from '../support/recording-channel.js';

const TEAMS_CHANNEL = '19:approvals@thread.tacv2';

/** The test policy with a Teams venue beside the Slack one, and approvers as a group on each platform. */
class TwoVenues extends Policy {
  override approvalVenues(): Address[] {
    return [...super.approvalVenues(), { platform: 'teams', kind: 'channel', channel: TEAMS_CHANNEL }];
  }
}

const ALICE = 'UALICE';
const IT1 = 'UIT1';
const IT2 = 'UIT2';
/** The same people on Teams: the Slack sandbox names them u<id>@synapse.org. */
const teams = new RecordingChat(
  'teams',
  {
    '29:uit1': { email: 'uit1@synapse.org', name: 'uit1 (Teams)', username: 'uit1' },
    '29:uit2': { email: 'uit2@synapse.org', name: 'uit2 (Teams)', username: 'uit2' },
  },
  { SITGROUP: ['29:uit1', '29:uit2'] },
  false,
);

let h: Harness;
let sandbox: SandboxCatalog;

beforeAll(async () => {
  sandbox = new SandboxCatalog({ provisionMs: 200 });
  h = await Harness.start({ catalog: sandbox, policy: new TwoVenues(testPolicy(72, { userGroup: 'SITGROUP', teamsGroup: 'SITGROUP' }).doc), extra: { channels: [new RecordingChannel('teams', (words) => words, 0, teams)] } });
  h.slack.groups = { SITGROUP: [IT1, IT2] };
});

afterAll(async () => {
  await dropPrefix(h.app);
  await h.close();
});

const reply = (responseId: string, what: string) => eventually(() => h.replies(responseId).join('\n'), what);
const slackChannel = () =>
  h.slack.calls.filter((c) => (c.method === 'chat.postMessage' || c.method === 'chat.update') && c.body.channel === APPROVALS_CHANNEL).map((c) => ({ ...c, text: JSON.stringify(c.body) }));

async function file(user: string, text: string): Promise<string> {
  const { responseId } = await h.command(user, text);
  const answer = await reply(responseId, `request for ${text}`);
  const id = /Request ([A-Za-z0-9_-]+) filed/.exec(answer)?.[1];
  if (!id) throw new Error(`no request filed: ${answer}`);
  return id;
}

/** A click on a Teams card, queued as a Teams channel queues it; the answer goes to the clicker's Teams reply. */
async function teamsClick(userId: string, action: string, value: string): Promise<string> {
  const ref = `reply-${newRequestId()}`;
  await h.app.inbox.push({ requestId: newRequestId(), platform: 'teams', userId, reply: { platform: 'teams', kind: 'reply', ref }, interaction: { type: 'action', id: action, value } });
  return (await eventually(() => teams.posts.find((p) => p.to.kind === 'reply' && p.to.ref === ref), `Teams answer to ${action}`)).text;
}

const teamsParent = (id: string) => teams.channel(TEAMS_CHANNEL).find((p) => !p.thread && p.text.includes(`"value":"${id}"`));

describe('a request in two venues', () => {
  it('is posted in the Slack channel and the Teams channel, each with Approve and Deny', async () => {
    const id = await file(ALICE, 'launch "EC2 Linux" big InstanceType=c5.2xlarge');
    await eventually(() => slackChannel().find((p) => p.method === 'chat.postMessage' && p.text.includes(`"value":"${id}"`)), 'Slack parent');
    const parent = await eventually(() => teamsParent(id), 'Teams parent');
    expect(parent.message.title).toBe('Launch EC2 Linux ualice-big');
    expect(parent.message.actions?.map((a) => a.id)).toEqual(['approve', 'deny']);
    // The requester's link is to the parent in their own platform's venue.
    expect(await eventually(() => h.dms(ALICE).find((m) => m.includes('Sent to IT for approval')), 'pending DM')).toContain(`Link: https://example.slack.com/archives/${APPROVALS_CHANNEL}/p`);
  });

  it('approved in Slack: both parents lose their buttons and both threads hear it; the requester is told in Slack', async () => {
    const id = await file(ALICE, 'launch "EC2 Linux" wide InstanceType=c5.2xlarge');
    const parent = await eventually(() => teamsParent(id), 'Teams parent');
    const { responseId } = await h.click(IT1, 'approve', id);
    expect(await reply(responseId, 'approval')).toContain(`Approved request ${id}`);
    await eventually(() => slackChannel().find((p) => p.method === 'chat.update' && p.text.includes('ualice-wide') && p.text.includes('Approved by uit1')), 'Slack parent updated');
    const updated = await eventually(() => teams.updates.find((u) => u.ref === parent.ref), 'Teams parent updated');
    expect(updated.text).toContain('Approved by uit1');
    expect(updated.message.actions).toBeUndefined();
    const threaded = await eventually(() => teams.posts.find((p) => p.thread === parent.ref), 'decision in the Teams thread');
    expect(threaded.text).toContain('Approved by uit1');
    await eventually(() => h.dms(ALICE).find((m) => m.includes('Approved: Launch EC2 Linux ualice-wide')), 'requester told in Slack');
    await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-wide is ready')), 'provisioned');
  });

  it('decided from Teams, on a request filed in Slack: the Slack parent and thread show it, the requester is told in Slack', async () => {
    const id = await file(ALICE, 'launch "EC2 Linux" tall InstanceType=c5.2xlarge');
    const parent = await eventually(() => teamsParent(id), 'Teams parent');
    expect(await teamsClick('29:uit2', 'approve', id)).toContain(`Approved request ${id}`);
    await eventually(() => slackChannel().find((p) => p.method === 'chat.update' && p.text.includes('ualice-tall') && p.text.includes('Approved by uit2 (Teams)')), 'Slack parent updated');
    await eventually(() => slackChannel().find((p) => p.method === 'chat.postMessage' && p.body.thread_ts && p.text.includes('Approved by uit2 (Teams)')), 'decision in the Slack thread');
    await eventually(() => teams.updates.find((u) => u.ref === parent.ref && u.text.includes('Approved by uit2')), 'Teams parent updated');
    await eventually(() => h.dms(ALICE).find((m) => m.includes('Approved: Launch EC2 Linux ualice-tall')), 'requester told in Slack');
    // A second approver, in Slack, is too late.
    const late = await h.click(IT1, 'approve', id);
    expect(await reply(late.responseId, 'late click')).toMatch(/already decided: approved by uit2 \(Teams\)/);
    await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-tall is ready')), 'provisioned');
    expect((await sandbox.searchProvisioned()).filter((p) => p.name === 'ualice-tall')).toHaveLength(1);
  });

  it('refuses an approver deciding their own Slack request from Teams: a person is their email', async () => {
    const id = await file(IT1, 'launch "EC2 Linux" mine InstanceType=c5.2xlarge');
    expect(await teamsClick('29:uit1', 'approve', id)).toContain('You cannot decide your own request; another approver must.');
    expect((await h.app.deps.approvals.load(id))!.decision.state).toBe('pending');
    expect(slackChannel().some((p) => p.method === 'chat.update' && p.text.includes('uit1-mine'))).toBe(false);
  });
});
