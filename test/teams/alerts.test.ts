// Alerts for a person who works in Teams: signed SNS POSTs in, their 1:1 chat out (Action.Execute clicks back in with
// real JWTs); a person Teams refuses to reach still gets their email, and the admin feed is told.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeedEvent } from '../../src/core/context.js';
import { SandboxAlarms, SandboxBudgets, SandboxTopics } from '../../src/sandbox/alerts.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually } from '../support/harness.js';
import { alarmMessage, notification, sign, verifierForTests } from '../support/sns.js';
import { installationUpdate, type TeamsPerson } from '../support/teams/activities.js';
import { button, TeamsScicomp } from '../support/teams/scicomp.js';

let t: TeamsScicomp;
const sandbox = new SandboxCatalog({ provisionMs: 100 });
const topics = new SandboxTopics();
const feed: FeedEvent[] = [];
let alice: TeamsPerson;
let ppId = '';

const topicOf = (p: TeamsPerson) => [...topics.topics.entries()].find(([, v]) => v.ownerEmail === p.email)?.[0];
const alarm = (pp: string, kind: string, state: 'ALARM' | 'OK', o: { threshold?: number; value?: number } = {}) => alarmMessage({ alarmName: `scicomp-${pp}-${kind}`, state, ...o });

async function postSns(body: unknown): Promise<void> {
  const res = await fetch(`${t.h.url}/sns`, { method: 'POST', headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'Notification' }, body: JSON.stringify(body) });
  expect(res.status, await res.clone().text()).toBe(200);
}

async function launch(p: TeamsPerson, name: string): Promise<string> {
  await t.say(p, `launch "EC2 Linux" ${name}`);
  const full = `${p.email.split('@')[0]!.replace(/\./g, '-')}-${name}`;
  await t.inChat(p, `${full} is ready`, `${full} ready`, 15_000);
  return (await sandbox.searchProvisioned()).find((x) => x.name === full)!.id;
}

beforeAll(async () => {
  t = await TeamsScicomp.start({
    catalog: sandbox,
    env: { SCICOMP_PUBLIC_URL: 'https://scicomp.example.org' },
    extra: { topics, alarms: new SandboxAlarms(), budgets: new SandboxBudgets(), snsVerifier: verifierForTests(), feed: { publish: async (e) => void feed.push(e) } },
  });
  alice = t.person('Alice Smith');
  ppId = await launch(alice, 'box');
  await eventually(() => topicOf(alice), "Alice's topic");
});

afterAll(async () => {
  await dropPrefix(t.h.app);
  await t.close();
});

describe('alerts in Teams', () => {
  it('an alarm reaches the owner\'s 1:1 chat as a card, and its OK edits that card', async () => {
    await postSns(sign(notification(topicOf(alice)!, alarm(ppId, 'cpu-high', 'ALARM'))));
    const card = await t.inChat(alice, /CPU|cpu/, 'the alarm card');
    expect(card.updated).toBe(false);
    await postSns(sign(notification(topicOf(alice)!, alarm(ppId, 'cpu-high', 'OK'))));
    const edited = await eventually(() => t.cards(t.chatOf(alice)).find((c) => c.updated && c.activityId === card.activityId), 'the alarm card edited');
    expect(edited.text).toMatch(/OK|back to normal|resolved/i);
  });

  it('an idle ping offers Stop; the click answers at once and the card shows it was stopped', async () => {
    await postSns(sign(notification(topicOf(alice)!, alarm(ppId, 'cpu-idle', 'ALARM', { threshold: 5, value: 0.4 }))));
    const ping = await t.inChat(alice, 'is idle', 'the idle ping');
    const stop = button(ping, 'idle-stop');
    const { res, body } = await t.click(alice, ping, stop.verb, stop.data);
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
    await eventually(() => t.cards(t.chatOf(alice)).find((c) => c.updated && c.activityId === ping.activityId && /[Ss]top/.test(c.text) && !c.text.includes('Working on it')), 'the ping updated with the stop');
  });

  it('a person Teams will not reach still gets the alert by email, and the admin feed says they could not be reached in Teams', async () => {
    const dan = t.person('Dan Gone');
    const danBox = await launch(dan, 'gone');
    await eventually(() => topicOf(dan), "Dan's topic");
    // Dan removes the app: his chat is forgotten, and Teams refuses to open a new one.
    expect((await t.send({ ...installationUpdate(t.cloud.context, dan, 'remove'), conversation: { id: t.chatOf(dan), conversationType: 'personal', tenantId: t.cloud.app.tenantId, isGroup: false, name: '' } })).status).toBe(200);
    t.cloud.connector.failNext(dan.aadObjectId, { status: 403, code: 'BotNotInConversationRoster' }, 5);
    await postSns(sign(notification(topicOf(dan)!, alarm(danBox, 'cpu-high', 'ALARM'))));
    const said = await eventually(() => feed.find((e) => e.summary.includes(dan.aadObjectId) && e.summary.includes('could not reach')), 'the admin feed told');
    expect(said.summary).toContain('teams');
    expect(said.summary).toContain('email');
    // The email is SNS's own subscription, beside the bot's HTTPS endpoint.
    expect([...topics.topics.get(topicOf(dan)!)!.subscriptions]).toContain(`email:${dan.email}`);
  });
});
