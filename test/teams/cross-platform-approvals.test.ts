// One process serving Slack and Teams at once, approvals in both venues: a request filed in Teams and decided in Slack
// (and the reverse) is carried out once, and both copies show the decision. Signed Slack HTTP and Teams activities
// with real JWTs, each through its own door.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually } from '../support/harness.js';
import { APPROVALS_CHANNEL } from '../support/policy.js';
import type { TeamsPerson } from '../support/teams/activities.js';
import { button, TeamsScicomp } from '../support/teams/scicomp.js';

let t: TeamsScicomp;
let sandbox: SandboxCatalog;
let alice: TeamsPerson;
let it1: TeamsPerson;

beforeAll(async () => {
  sandbox = new SandboxCatalog({ provisionMs: 100 });
  t = await TeamsScicomp.start({ catalog: sandbox });
  alice = t.person('Alice Smith');
  // The same approver on both platforms: uit1@synapse.org is UIT1 in Slack's sandbox and this Teams member.
  it1 = t.person('UIT1');
  await t.say(it1, 'help');
  await t.inChat(it1, 'scicomp commands');
});

afterAll(async () => {
  await dropPrefix(t.h.app);
  await t.close();
});

/** The Slack copies of a request (its product's name is in each), posted and updated. */
const slackCopies = (name: string) =>
  t.h.slack.calls.filter((c) => (c.method === 'chat.postMessage' || c.method === 'chat.update') && c.body.channel === APPROVALS_CHANNEL && !c.body.thread_ts && JSON.stringify(c.body).includes(name));
const provisioned = async (name: string) => (await sandbox.searchProvisioned()).filter((p) => p.name === name);

async function fileInTeams(name: string): Promise<string> {
  await t.say(alice, `launch "EC2 Linux" ${name} InstanceType=m5.xlarge`);
  const filed = await t.inChat(alice, new RegExp(`Request [A-Za-z0-9_-]+ filed[^"]*alice-smith-${name}`), 'the request filed');
  return /Request ([A-Za-z0-9_-]+) filed/.exec(filed.text)![1]!;
}

describe('approvals across Slack and Teams', () => {
  it('a request from Teams appears in both venues; decided in Slack, it is carried out once and both copies show it', async () => {
    const id = await fileInTeams('big');
    const teamsCopy = await t.card(t.venue.channelId, id, 'the Teams copy');
    await eventually(() => slackCopies('alice-smith-big').length > 0, 'the Slack copy');

    const { res } = await t.h.click('UIT2', 'approve', id);
    expect(res.status).toBe(200);
    await t.inChat(alice, 'alice-smith-big is ready', 'provisioned', 15_000);
    await eventually(() => t.cards(t.venue.channelId).find((c) => c.updated && c.activityId === teamsCopy.activityId && /[Aa]pproved/.test(c.text)), 'the Teams copy shows the decision');
    await eventually(() => slackCopies('alice-smith-big').some((c) => c.method === 'chat.update' && /[Aa]pproved/.test(JSON.stringify(c.body))), 'the Slack copy shows the decision');

    // A late click in Teams changes nothing: one product, one decision.
    const approve = button(teamsCopy, 'Approve');
    await t.click(it1, teamsCopy, approve.verb, approve.data);
    await t.inChat(it1, /already|decided|no longer/i, 'the late approver is told');
    expect(await provisioned('alice-smith-big')).toHaveLength(1);
  });

  it('a request from Slack decided in Teams is carried out once, both copies showing it', async () => {
    const { responseId } = await t.h.command('UALICE', 'launch "EC2 Linux" wide InstanceType=c5.2xlarge');
    const answer = await eventually(() => t.h.replies(responseId).join('\n'), 'the Slack answer');
    const id = /Request ([A-Za-z0-9_-]+) filed/.exec(answer)![1]!;
    const teamsCopy = await t.card(t.venue.channelId, id, 'the Teams copy');
    const approve = button(teamsCopy, 'Approve');
    const { res } = await t.click(it1, teamsCopy, approve.verb, approve.data);
    expect(res.status).toBe(200);
    await eventually(async () => (await provisioned('ualice-wide')).length === 1, 'provisioned', 15_000);
    await eventually(() => t.cards(t.venue.channelId).find((c) => c.updated && c.activityId === teamsCopy.activityId && /[Aa]pproved/.test(c.text)), 'the Teams copy shows the decision');
    await eventually(() => slackCopies('ualice-wide').some((c) => c.method === 'chat.update' && /[Aa]pproved/.test(JSON.stringify(c.body))), 'the Slack copy shows the decision');
    // The same click again, from Slack: already decided.
    const late = await t.h.click('UIT2', 'approve', id);
    await eventually(() => /already|decided|no longer/i.test(t.h.replies(late.responseId).join('\n')), 'the late Slack approver is told');
    expect(await provisioned('ualice-wide')).toHaveLength(1);
  });

  it('Deny in Teams asks for a reason in the card; an empty reason is refused in the card; the reason given denies it everywhere', async () => {
    const id = await fileInTeams('huge');
    const copy = await t.card(t.venue.channelId, id, 'the Teams copy');
    const deny = button(copy, 'Deny');
    const opened = await t.click(it1, copy, deny.verb, deny.data);
    expect(opened.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
    expect(JSON.stringify(opened.body)).toContain('input:reason');
    const form = { ...copy, body: { attachments: [{ content: opened.body.value }] } };
    const submit = button(form, 'form-submit:deny');
    const empty = await t.click(it1, copy, submit.verb, { ...submit.data, 'input:reason': '' });
    // Said in the card at once, the form drawn again with the error in red; nothing queued.
    expect(empty.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
    expect(JSON.stringify(empty.body)).toMatch(/"text":"Reason: Reason is required\.","wrap":true,"color":"Attention"/);
    await t.click(it1, copy, submit.verb, { ...submit.data, 'input:reason': 'too big for this project' });
    await eventually(() => t.cards(t.venue.channelId).find((c) => c.updated && c.activityId === copy.activityId && c.text.includes('too big for this project')), 'the Teams copy shows the denial');
    await eventually(() => slackCopies('alice-smith-huge').some((c) => c.method === 'chat.update' && JSON.stringify(c.body).includes('too big for this project')), 'the Slack copy shows the denial');
    await t.inChat(alice, 'too big for this project', 'Alice is told why');
    expect(await provisioned('alice-smith-huge')).toHaveLength(0);
  });
});
