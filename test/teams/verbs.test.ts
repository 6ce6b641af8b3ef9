// Every verb through Teams' own door: messages and Action.Execute clicks with real JWTs on POST /api/messages, cards
// out through the recording Bot Connector, the sandbox AWS behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually } from '../support/harness.js';
import { personalMessage, type TeamsPerson } from '../support/teams/activities.js';
import { button, TeamsScicomp } from '../support/teams/scicomp.js';

let t: TeamsScicomp;
let sandbox: SandboxCatalog;
let alice: TeamsPerson;
let bob: TeamsPerson;
let it1: TeamsPerson;
let it2: TeamsPerson;

beforeAll(async () => {
  sandbox = new SandboxCatalog({ provisionMs: 150 });
  t = await TeamsScicomp.start({ catalog: sandbox });
  alice = t.person('Alice Smith');
  bob = t.person('Bob Jones');
  // An approver (and admin) by email in the test policy.
  it1 = t.person('UIT1');
  it2 = t.person('UIT2');
  await t.say(alice, 'launch "EC2 Linux" box InstanceType=t3.large');
  await t.inChat(alice, 'alice-smith-box is ready', 'box ready', 15_000);
});

afterAll(async () => {
  await dropPrefix(t.h.app);
  await t.close();
});

/** The card the bot answered a message with, in the person's chat, after `since` cards. */
async function ask(p: TeamsPerson, text: string, match: RegExp | string): Promise<ReturnType<TeamsScicomp['cards']>[number]> {
  const since = t.cards(t.chatOf(p)).length;
  await t.say(p, text);
  return eventually(() => t.cards(t.chatOf(p)).slice(since).find((c) => (typeof match === 'string' ? c.text.includes(match) : match.test(c.text))), `${text} → ${String(match)}`);
}

/** A message with a person @mentioned as Teams sends it: `<at>Name</at>` and a mention entity (their 29: id). */
async function sayMentioning(from: TeamsPerson, before: string, who: TeamsPerson, after = ''): Promise<void> {
  const at = `<at>${who.name}</at>`;
  const activity = personalMessage(t.cloud.context, from, `${before} ${at}${after}`, { conversationId: t.chatOf(from) });
  activity.entities = [{ type: 'mention', text: at, mentioned: { id: who.id, name: who.name } }];
  expect((await t.send(activity)).status).toBe(200);
}

describe('every verb in Teams', () => {
  it('help and products', async () => {
    expect((await ask(alice, 'help launch', 'launch')).text).toContain('launch [product]');
    expect((await ask(alice, 'products', 'EC2 Linux')).text).toContain('S3 Private Encrypted Bucket');
  });

  it('launch with words, then list, status and connect', async () => {
    expect((await ask(alice, 'list', 'alice-smith-box')).text).toContain('alice-smith-box');
    expect((await ask(alice, 'status box', 'alice-smith-box')).text).toMatch(/AVAILABLE|InstanceId/);
    expect((await ask(alice, 'connect box', 'start-session')).text).toMatch(/aws ssm start-session --profile service-catalog --target i-[0-9a-f]{17}/);
  });

  it('launch with no words opens the form as a card; its picker re-draws it; a refusal is drawn in the card; it launches', async () => {
    const form = await ask(alice, 'launch', 'form-change:launch');
    const pick = button(form, 'Show parameters');
    const redraw = await t.click(alice, form, pick.verb, { ...pick.data, 'input:product': 'EC2 Linux' });
    expect(redraw.res.status).toBe(200);
    expect(redraw.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
    const drawn = await eventually(() => t.cards(t.chatOf(alice)).find((c) => c.updated && c.activityId === form.activityId && c.text.includes('form-submit:launch')), 'the form with its parameters');
    expect(drawn.text).toContain('input:InstanceType');
    const submit = button(drawn, 'Launch');
    // A parameter the product refuses: the core says so in the form's own card, not in a message apart.
    const refused = await t.click(alice, drawn, submit.verb, { ...submit.data, 'input:product': 'EC2 Linux', 'input:name': 'formed', 'input:InstanceType': 'x9.huge' });
    expect(refused.res.status).toBe(200);
    const withError = await eventually(
      () => t.cards(t.chatOf(alice)).find((c) => c.updated && c.activityId === form.activityId && c.text.includes('x9.huge') && c.text.includes('form-submit:launch')),
      'the form drawn again with the error',
    );
    expect(withError.text).toContain('Attention');
    await t.click(alice, withError, submit.verb, { ...submit.data, 'input:product': 'EC2 Linux', 'input:name': 'formed', 'input:InstanceType': 't3.small' });
    await t.inChat(alice, 'alice-smith-formed is ready', 'formed ready', 15_000);
  });

  it('update asks to confirm; the click answers at once and the card is updated in place when done', async () => {
    const confirm = await ask(alice, 'update box InstanceType=t3.medium', /Confirm|confirm/);
    const yes = button(confirm, 'confirm');
    const { res, body } = await t.click(alice, confirm, yes.verb, yes.data);
    expect(res.status).toBe(200);
    expect(JSON.stringify(body)).toContain('Working on it');
    const done = await eventually(() => t.cards(t.chatOf(alice)).find((c) => c.updated && c.activityId === confirm.activityId && !c.text.includes('Working on it')), 'the confirmation card updated');
    expect(done.text).toMatch(/Updating|update/i);
  });

  it('terminate asks to confirm and terminates on the click', async () => {
    const confirm = await ask(alice, 'terminate formed', /confirm/);
    const yes = button(confirm, 'confirm');
    await t.click(alice, confirm, yes.verb, yes.data);
    await eventually(async () => !(await sandbox.searchProvisioned()).some((p) => p.name === 'alice-smith-formed' && p.status !== 'TERMINATED'), 'formed terminated', 15_000);
  });

  it('budget, snooze and restore answer', async () => {
    expect((await ask(alice, 'budget', /budget/i)).text).toMatch(/\$/);
    expect((await ask(alice, 'snooze box 24h', /snooze|quiet|until/i)).text).toContain('alice-smith-box');
    expect((await ask(alice, 'restore nothing-here', /restore|archive|bucket|not/i)).text).toMatch(/nothing-here|archive|bucket/i);
  });

  it('transfer @person: the mention is resolved to the person, IT approves in the Teams channel, the new owner owns it', async () => {
    await sayMentioning(alice, 'transfer box', bob);
    await t.inChat(alice, /filed|IT/, 'transfer request filed');
    const request = await t.card(t.venue.channelId, 'bob.jones@synapse.org', 'the request in the Teams approvals channel');
    const approve = button(request, 'Approve');
    const { res, body } = await t.click(it1, request, approve.verb, approve.data);
    expect(res.status).toBe(200);
    // The request card is the channel's: the click leaves it, and the decision updates it for everyone.
    expect(body).toMatchObject({ type: 'application/vnd.microsoft.activity.message' });
    await eventually(async () => (await sandbox.searchProvisioned()).find((p) => p.name === 'alice-smith-box')?.tags.OwnerEmail === bob.email, 'box owned by Bob', 15_000);
    await eventually(() => t.cards(t.venue.channelId).find((c) => c.updated && c.activityId === request.activityId && /Approved|approved/.test(c.text)), 'the request card shows the decision');
  });

  it('approvals, offboard (its "transfer to…" form in the card) and audit, for IT', async () => {
    expect((await ask(it1, 'approvals', /request|pending|Nothing|No /i)).text).toBeTruthy();
    await sayMentioning(it1, 'offboard', bob);
    const request = await t.card(t.venue.channelId, /offboard|Offboard/, 'the offboard request in the channel');
    const approve = button(request, 'Approve');
    // Never on one's own request: the other approver decides.
    await t.click(it2, request, approve.verb, approve.data);
    const decided = await eventually(() => t.cards(t.venue.channelId).find((c) => c.text.includes('offboard-transfer') && c.text.includes('alice-smith-box')), 'the offboard card with its transfer buttons');
    const transfer = button(decided, 'offboard-transfer');
    const { body } = await t.click(it2, decided, transfer.verb, transfer.data);
    // The form opens in the card at once: a people picker for the new owner.
    expect(body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
    expect(JSON.stringify(body)).toContain('graph.microsoft.com/users');
    const audit = await ask(it1, `audit ${alice.email}`, /audit/i);
    expect(audit.text).toContain('command.transfer');
  });
});
