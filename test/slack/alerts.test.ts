// Alerts through the doors AWS and users come in by: signed SNS POSTs in, DMs and clicks out, on real Redis.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SecretName } from '../../src/core/ports.js';
import { SandboxAlarms, SandboxBudgets, SandboxTopics } from '../../src/sandbox/alerts.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually, Harness, SIGNING_SECRET } from '../support/harness.js';
import { alarmMessage, budgetMessage, CERT_URL, confirmation, forger, notification, sign, verifierForTests } from '../support/sns.js';

const ALICE = 'UALICE';
const BOB = 'UBOB';

let h: Harness;
const sandbox = new SandboxCatalog({ provisionMs: 100 });
const topics = new SandboxTopics();
const alarms = new SandboxAlarms();
const budgets = new SandboxBudgets();
const certFetches: string[] = [];
const feedPosts: { url: string; body: string }[] = [];
let ppId = '';
let topicArn = '';

// The admin feed webhooks: the Slack one was rotated, so its old URL now answers 404 until the secret is re-read.
let slackFeedUrl = 'https://hooks.slack.example/services/OLD';
const secrets = {
  get: async (n: SecretName) =>
    ({ slackSigningSecret: SIGNING_SECRET, slackBotToken: 'xoxb-test-token', slackFeedWebhookUrl: slackFeedUrl, teamsFeedWebhookUrl: 'https://teams.example/webhook/feed' })[n as string],
  invalidate: () => {
    slackFeedUrl = 'https://hooks.slack.example/services/NEW';
  },
};
const feedFetch = (async (url: string | URL | Request, init?: RequestInit) => {
  feedPosts.push({ url: String(url), body: String(init?.body) });
  return new Response('', { status: String(url).endsWith('/OLD') ? 404 : 200 });
}) as typeof fetch;

beforeAll(async () => {
  h = await Harness.start({
    catalog: sandbox,
    env: { SCICOMP_PUBLIC_URL: 'https://scicomp.example.org' },
    extra: { topics, alarms, budgets, secrets, fetch: feedFetch, snsVerifier: verifierForTests((u) => certFetches.push(u)) },
  });
  const { responseId } = await h.command(ALICE, 'launch "EC2 Linux" box');
  await eventually(() => h.replies(responseId).length > 0, 'launch reply');
  await eventually(() => h.dms(ALICE).some((m) => m.includes('ualice-box is ready')), 'box ready');
  ppId = (await sandbox.searchProvisioned()).find((p) => p.name === 'ualice-box')!.id;
  await eventually(() => alarms.alarms.size === 4, 'alarms created');
  topicArn = [...topics.topics.keys()][0]!;
});

afterAll(async () => {
  await dropPrefix(h.app);
  await h.close();
});

async function postSns(body: unknown): Promise<Response> {
  return fetch(`${h.url}/sns`, { method: 'POST', headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'Notification' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

const dmsWith = (text: string) => h.dms(ALICE).filter((m) => m.includes(text));

describe('wiring on AWS', () => {
  it('a first launch creates the user’s topic with email and HTTPS subscriptions, a budget, and the instance’s alarms', () => {
    expect(topicArn).toBe('arn:aws:sns:us-east-1:111122223333:scicomp-user-ualice-synapse-org');
    expect([...topics.topics.get(topicArn)!.subscriptions]).toEqual(['email:ualice@synapse.org', 'https:https://scicomp.example.org/sns']);
    expect(budgets.budgets.get('scicomp-ualice-synapse-org')).toMatchObject({ ownerEmail: 'ualice@synapse.org', topicArn, summary: { limitUsd: 500 } });
    expect([...alarms.alarms.keys()].sort()).toEqual([`scicomp-${ppId}-cpu-high`, `scicomp-${ppId}-cpu-idle`, `scicomp-${ppId}-disk-high`, `scicomp-${ppId}-memory-high`].sort());
    expect(alarms.alarms.get(`scicomp-${ppId}-cpu-high`)).toMatchObject({ AlarmActions: [topicArn], OKActions: [topicArn], Threshold: 95 });
  });
});

describe('POST /sns', () => {
  it('confirms a subscription to our own topic', async () => {
    const res = await postSns(sign(confirmation(topicArn, 'token-ours')));
    expect(res.status).toBe(200);
    await eventually(() => topics.topics.get(topicArn)!.confirmed.has('token-ours'), 'confirmed');
  });

  it('ignores a confirmation for a topic it does not own', async () => {
    const other = 'arn:aws:sns:us-east-1:999988887777:someone-else';
    const res = await postSns(sign(confirmation(other, 'token-theirs')));
    expect(res.status).toBe(403);
    expect([...topics.topics.values()].some((t) => t.confirmed.has('token-theirs'))).toBe(false);
  });

  it.each([
    ['a forged signature', () => sign(notification(topicArn, alarmMessage({ alarmName: `scicomp-${ppId}-cpu-high`, state: 'ALARM' })), '1', forger.key), 403],
    ['an altered message', () => ({ ...sign(notification(topicArn, alarmMessage({ alarmName: `scicomp-${ppId}-cpu-high`, state: 'ALARM' }))), Message: 'altered' }), 403],
    ['a certificate from elsewhere', () => sign(notification(topicArn, 'x'), '1', undefined, 'https://sns.us-east-1.amazonaws.com.evil.example/cert.pem'), 403],
    ['a certificate over http', () => sign(notification(topicArn, 'x'), '1', undefined, CERT_URL.replace('https:', 'http:')), 403],
    ['an unsigned message', () => ({ ...notification(topicArn, 'x') }), 400],
    ['malformed JSON', () => '{"Type":', 400],
    ['an oversized body', () => 'x'.repeat(300 * 1024), 413],
  ])('refuses %s and queues nothing', async (_what, make, status) => {
    const queued = async () => Object.values(await h.app.queues.sns.getJobCounts()).reduce((a, b) => a + b, 0);
    const before = await queued();
    const res = await postSns(make());
    expect(res.status).toBe(status);
    expect(await queued()).toBe(before);
  });
});

describe('alarms reach their owner', () => {
  it('CPU high: what, which product, the value against the threshold, when, what to do', async () => {
    const m = sign(notification(topicArn, alarmMessage({ alarmName: `scicomp-${ppId}-cpu-high`, state: 'ALARM', value: 97.5 }), 'ALARM: "cpu-high" in US East (N. Virginia)'));
    const first = await postSns(m);
    expect(first.status, await first.clone().text()).toBe(200);
    const dm = await eventually(() => dmsWith('ualice-box: CPU is above its threshold')[0], 'cpu alarm DM');
    expect(dm).toContain('97.5 against a threshold of 95');
    expect(dm).toContain('2026-11-23T10:03:12.345+0000');
    expect(dm).toContain('/scicomp update');
    // A redelivery of the same MessageId is one alert.
    expect((await postSns(m)).status).toBe(200);
    const again = sign(notification(topicArn, alarmMessage({ alarmName: `scicomp-${ppId}-cpu-high`, state: 'ALARM', value: 98 }), 'ALARM'));
    const second = await postSns(again);
    expect(second.status, await second.clone().text()).toBe(200);
    await eventually(() => h.slack.of('chat.update').find((c) => JSON.stringify(c.body).includes('2 alarms since')), 'coalesced into one message');
    expect(h.slack.of('chat.postMessage').filter((c) => JSON.stringify(c.body).includes('CPU is above its threshold'))).toHaveLength(1);
  });

  it('OK after ALARM updates the same message to recovered', async () => {
    await postSns(sign(notification(topicArn, alarmMessage({ alarmName: `scicomp-${ppId}-cpu-high`, state: 'OK' }))));
    const update = await eventually(() => h.slack.of('chat.update').find((c) => JSON.stringify(c.body).includes('ualice-box recovered')), 'recovered');
    expect(JSON.stringify(update.body)).toContain('CPU is back under its threshold');
    const posted = h.slack.of('chat.postMessage').find((c) => JSON.stringify(c.body).includes('CPU is above its threshold'))!;
    // The very message that announced the alarm, by the timestamp Slack gave it.
    expect(update.body.ts).toBe(posted.response?.ts);
  });

  it('memory (signature version 2) and disk alarms', async () => {
    await postSns(sign(notification(topicArn, alarmMessage({ alarmName: `scicomp-${ppId}-memory-high`, state: 'ALARM', metric: 'mem_used_percent', namespace: 'CWAgent', threshold: 85, value: 91.2 })), '2'));
    expect(await eventually(() => dmsWith('ualice-box: memory is nearly full')[0], 'memory DM')).toContain('91.2 against a threshold of 85');
    await postSns(sign(notification(topicArn, alarmMessage({ alarmName: `scicomp-${ppId}-disk-high`, state: 'ALARM', metric: 'disk_used_percent', namespace: 'CWAgent', threshold: 80, value: 88 }))));
    expect(await eventually(() => dmsWith('ualice-box: disk is filling up')[0], 'disk DM')).toContain('88.0 against a threshold of 80');
    expect(certFetches.length).toBe(1);
  });

  it('a budget notification, and /scicomp budget with a bar', async () => {
    await postSns(sign(notification(topicArn, budgetMessage('scicomp-ualice-synapse-org'), 'AWS Budgets: scicomp-ualice-synapse-org has exceeded your alert threshold')));
    const dm = await eventually(() => dmsWith('You have passed a budget threshold')[0], 'budget DM');
    expect(dm).toContain('$412.57');
    expect(dm).toContain('&gt; $400.00');
    budgets.setSpend('scicomp-ualice-synapse-org', 412.57, 530.1);
    const { responseId } = await h.command(ALICE, 'budget');
    const text = await eventually(() => h.replies(responseId).join(''), 'budget reply');
    expect(text).toContain('You have spent $412.57 of your $500.00 monthly budget (83%)');
    expect(text).toContain('$530.10');
    expect(text).toContain('█████████████████░░░ 83%');
  });
});

describe('idle pings', () => {
  const idle = () => sign(notification(topicArn, alarmMessage({ alarmName: `scicomp-${ppId}-cpu-idle`, state: 'ALARM', metric: 'CPUUtilization', threshold: 5, value: 0.4 })));

  it('carry Stop, Terminate, Snooze 24 h and Keep; only the owner may act', async () => {
    await postSns(idle());
    const dm = await eventually(() => dmsWith('ualice-box: is idle')[0], 'idle DM');
    for (const id of ['idle-stop', 'idle-terminate', 'idle-snooze', 'idle-keep']) expect(dm).toContain(`scicomp:${id}`);
    const bob = await h.click(BOB, 'idle-stop', ppId);
    expect(await eventually(() => h.replies(bob.responseId).join(''), 'refusal')).toContain('ualice-box is not yours');
    expect(sandbox.instanceState(ppId)).toBe('running');
  });

  it('Stop runs the product’s stop action', async () => {
    const { responseId } = await h.click(ALICE, 'idle-stop', ppId);
    expect(await eventually(() => h.replies(responseId).join(''), 'stop')).toContain('Stopping ualice-box (AWS-StopEC2Instance)');
    await eventually(async () => (await sandbox.searchProvisioned(), sandbox.instanceState(ppId) === 'stopped'), 'stopped');
  });

  it('Keep acknowledges, Terminate asks to confirm', async () => {
    const keep = await h.click(ALICE, 'idle-keep', ppId);
    expect(await eventually(() => h.replies(keep.responseId).join(''), 'keep')).toContain('Keeping ualice-box running');
    const term = await h.click(ALICE, 'idle-terminate', ppId);
    expect(await eventually(() => h.replies(term.responseId).join(''), 'terminate')).toContain('Terminate ualice-box?');
  });

  it('Snooze mutes the next idle pings; snooze by command too', async () => {
    const snooze = await h.click(ALICE, 'idle-snooze', ppId);
    expect(await eventually(() => h.replies(snooze.responseId).join(''), 'snooze')).toContain('Idle pings for ualice-box are muted until');
    // The OK ends the active alert; the next idle alarm would be a new message, but it is snoozed.
    await postSns(sign(notification(topicArn, alarmMessage({ alarmName: `scicomp-${ppId}-cpu-idle`, state: 'OK', threshold: 5 }))));
    await eventually(() => h.slack.of('chat.update').some((c) => JSON.stringify(c.body).includes('is busy again')), 'idle recovered');
    const before = dmsWith('is idle').length;
    await postSns(idle());
    await eventually(async () => (await h.app.audit.recent(50)).some((e) => e.action === 'alert.snoozed'), 'snoozed alert audited');
    expect(dmsWith('is idle').length).toBe(before);
    const cmd = await h.command(ALICE, 'snooze box 2h');
    expect(await eventually(() => h.replies(cmd.responseId).join(''), 'snooze cmd')).toContain('muted until');
    const bad = await h.command(ALICE, 'snooze box forever');
    expect(await eventually(() => h.replies(bad.responseId).join(''), 'bad duration')).toContain('\\"forever\\" is not a duration');
  });
});

describe('a 429 burst from Slack', () => {
  it('delays alerts without losing or doubling any', async () => {
    h.slack.failNext('chat.postMessage', { status: 429, retryAfter: 1 }, 3);
    const subjects = ['one', 'two', 'three', 'four'].map((n) => `Maintenance notice ${n}`);
    for (const s of subjects) expect((await postSns(sign(notification(topicArn, `${s}: the instance will be rebooted.`, s)))).status).toBe(200);
    await eventually(() => subjects.every((s) => dmsWith(s).length > 0), 'all four delivered', 20_000);
    for (const s of subjects) expect(dmsWith(s)).toHaveLength(1);
  });
});

describe('admin feeds', () => {
  it('go to the Slack and Teams webhooks; a refused post re-reads the rotated URL', async () => {
    await eventually(() => feedPosts.some((p) => p.url.endsWith('/NEW') && p.body.includes('[alarm]')), 'alarm in the Slack feed after rotation', 15_000);
    expect(feedPosts.some((p) => p.url.endsWith('/OLD'))).toBe(true);
    expect(feedPosts.some((p) => p.url === 'https://teams.example/webhook/feed' && p.body.includes('AdaptiveCard') && p.body.includes('[launched]'))).toBe(true);
    expect(feedPosts.some((p) => p.body.includes('[budget]'))).toBe(true);
  });
});
