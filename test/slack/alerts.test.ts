// Alerts through the doors AWS and users come in by: signed SNS POSTs in, DMs and clicks out, on real Redis.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Job } from 'bullmq';
import type { BatchPayload } from '../../jobs/process-sns.js';
import { jobIdFor } from '../../jobs/queues.js';
import { pino } from 'pino';
import { deliver, type Outcome } from '../../jobs/deliver-message.js';
import { alertKey, knownTopicsKey, topicOwnerKey } from '../../src/adapters/redis/alert-state.js';
import { deliverAlert } from '../../src/core/alerts.js';
import type { OutboxItem } from '../../src/core/context.js';
import type { SecretName } from '../../src/core/ports.js';
import { SandboxAlarms, SandboxBudgets, SandboxTopics } from '../../src/sandbox/alerts.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually, Harness, SIGNING_SECRET } from '../support/harness.js';
import { alarmMessage, budgetMessage, CERT_URL, confirmation, forger, notification, sign, snsToken, verifierForTests } from '../support/sns.js';

const ALICE = 'UALICE';
const BOB = 'UBOB';
/** A topic named in SCICOMP_SNS_TOPICS, e.g. one an admin points existing alarms at: it has no owner of its own. */
const SHARED_TOPIC = 'arn:aws:sns:us-east-1:111122223333:scicomp-shared-alarms';

let h: Harness;
const sandbox = new SandboxCatalog({ provisionMs: 100 });
const topics = new SandboxTopics();
const alarms = new SandboxAlarms();
const budgets = new SandboxBudgets();
const certFetches: string[] = [];
const feedPosts: { url: string; body: string }[] = [];
/** Moved forward by tests that need days to pass. */
let clockOffset = 0;
let ppId = '';
let bobBox = '';
let bobBucket = '';
let topicArn = '';
let bobTopic = '';

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

async function launch(user: string, text: string, ready: string): Promise<string> {
  const { responseId } = await h.command(user, text);
  await eventually(() => h.replies(responseId).length > 0, `${text} reply`);
  await eventually(() => h.dms(user).some((m) => m.includes(`${ready} is ready`)), `${ready} ready`);
  return (await sandbox.searchProvisioned()).find((p) => p.name === ready)!.id;
}

beforeAll(async () => {
  h = await Harness.start({
    catalog: sandbox,
    clock: { now: () => Date.now() + clockOffset },
    env: { SCICOMP_PUBLIC_URL: 'https://scicomp.example.org', SCICOMP_SNS_TOPICS: SHARED_TOPIC },
    extra: { topics, alarms, budgets, secrets, fetch: feedFetch, snsVerifier: verifierForTests((u) => certFetches.push(u)) },
  });
  ppId = await launch(ALICE, 'launch "EC2 Linux" box', 'ualice-box');
  bobBox = await launch(BOB, 'launch "EC2 Linux" bbox', 'ubob-bbox');
  bobBucket = await launch(BOB, 'launch "S3 Private Encrypted Bucket" bdata', 'ubob-bdata');
  await eventually(() => alarms.alarms.size === 8, 'alarms created');
  topicArn = 'arn:aws:sns:us-east-1:111122223333:scicomp-user-ualice-synapse-org';
  bobTopic = 'arn:aws:sns:us-east-1:111122223333:scicomp-user-ubob-synapse-org';
});

afterAll(async () => {
  await dropPrefix(h.app);
  await h.close();
});

async function postSns(body: unknown): Promise<Response> {
  return fetch(`${h.url}/sns`, { method: 'POST', headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'Notification' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

/** Posts a signed message and waits until its job has run: SNS gives no order, so a test that needs one waits. */
async function postSettled(m: { MessageId: string }): Promise<void> {
  const res = await postSns(m);
  expect(res.status, await res.clone().text()).toBe(200);
  await eventually(async () => (await h.app.queues.sns.getJob(jobIdFor('sns', m.MessageId)))?.isCompleted(), `job of ${m.MessageId} done`);
}

const dmsOf = (user: string, text: string) => h.dms(user).filter((m) => m.includes(text));
const dmsWith = (text: string) => dmsOf(ALICE, text);
const posts = (user: string, text: string) => h.slack.of('chat.postMessage').filter((c) => c.body.channel === `D${user}` && JSON.stringify(c.body).includes(text));
const updatesOf = (ts: unknown) => h.slack.of('chat.update').filter((c) => c.body.ts === ts);
const alarm = (pp: string, kind: string, state: 'ALARM' | 'OK', o: { metric?: string; namespace?: string; threshold?: number; value?: number } = {}) =>
  alarmMessage({ alarmName: `scicomp-${pp}-${kind}`, state, ...o });

function button(text: string, actionId: string): string {
  const body = JSON.parse(text) as { blocks?: { elements?: { action_id: string; value: string }[] }[] };
  const b = (body.blocks ?? []).flatMap((x) => x.elements ?? []).find((e) => e.action_id === `scicomp:${actionId}`);
  if (!b) throw new Error(`no ${actionId} button in ${text}`);
  return b.value;
}

describe('wiring on AWS', () => {
  it('a first launch creates the user’s topic with email and HTTPS subscriptions, a budget, and the instance’s alarms', () => {
    expect([...topics.topics.keys()].sort()).toEqual([bobTopic, topicArn].sort());
    expect([...topics.topics.get(topicArn)!.subscriptions]).toEqual(['email:ualice@synapse.org', 'https:https://scicomp.example.org/sns']);
    expect(budgets.budgets.get('scicomp-ualice-synapse-org')).toMatchObject({ ownerEmail: 'ualice@synapse.org', topicArn, summary: { limitUsd: 500 } });
    const mine = [...alarms.alarms.keys()].filter((n) => n.includes(ppId)).sort();
    expect(mine).toEqual([`scicomp-${ppId}-cpu-high`, `scicomp-${ppId}-cpu-idle`, `scicomp-${ppId}-disk-high`, `scicomp-${ppId}-memory-high`].sort());
    expect(alarms.alarms.get(`scicomp-${ppId}-cpu-high`)).toMatchObject({ AlarmActions: [topicArn], OKActions: [topicArn], Threshold: 95 });
    expect(alarms.alarms.get(`scicomp-${bobBox}-cpu-high`)).toMatchObject({ AlarmActions: [bobTopic] });
  });
});

describe('POST /sns', () => {
  it('confirms a subscription to our own topic', async () => {
    const ours = snsToken();
    const res = await postSns(sign(confirmation(topicArn, ours)));
    expect(res.status).toBe(200);
    await eventually(() => topics.topics.get(topicArn)!.confirmed.has(ours), 'confirmed');
  });

  it('ignores a confirmation for a topic it does not own', async () => {
    const other = 'arn:aws:sns:us-east-1:999988887777:someone-else';
    const theirs = snsToken();
    const res = await postSns(sign(confirmation(other, theirs)));
    expect(res.status).toBe(403);
    expect([...topics.topics.values()].some((t) => t.confirmed.has(theirs))).toBe(false);
  });

  const cpu = () => notification(topicArn, alarm(ppId, 'cpu-high', 'ALARM'));
  it.each([
    ['a forged signature', () => sign(cpu(), '1', forger.key), 403],
    ['a forged signature (version 2)', () => sign(cpu(), '2', forger.key), 403],
    ['an altered message', () => ({ ...sign(cpu()), Message: 'altered' }), 403],
    ['an altered message (version 2)', () => ({ ...sign(cpu(), '2'), Message: 'altered' }), 403],
    ['a certificate from elsewhere', () => sign(notification(topicArn, 'x'), '1', undefined, 'https://sns.us-east-1.amazonaws.com.evil.example/cert.pem'), 403],
    ['a certificate over http', () => sign(notification(topicArn, 'x'), '1', undefined, CERT_URL.replace('https:', 'http:')), 403],
    ['an unsigned message', () => ({ ...notification(topicArn, 'x') }), 400],
    ['malformed JSON', () => '{"Type":', 400],
    ['an oversized body', () => 'x'.repeat(300 * 1024), 413],
  ])('refuses %s and queues nothing', async (_what, make, status) => {
    const queued = async () => (await Promise.all([h.app.queues.sns, h.app.queues.snsBatchQueue].map((q) => q.getJobCounts()))).flatMap((c) => Object.values(c)).reduce((a, b) => a + b, 0);
    const before = await queued();
    const res = await postSns(make());
    expect(res.status).toBe(status);
    expect(await queued()).toBe(before);
  });
});

describe('POST /sns, spelled as express would route it', () => {
  it.each(['/SNS', '/sns/', '/sns?source=aws'])('%s is the SNS endpoint; GET /sns is not', async (path) => {
    const res = await fetch(`${h.url}${path}`, { method: 'POST', body: '{"Type":' });
    expect([res.status, await res.json()]).toEqual([400, { error: 'not JSON' }]);
    expect((await fetch(`${h.url}/sns`)).status).toBe(404);
  });
});

describe('alarms reach their owner', () => {
  it('CPU high: what, which product, the value against the threshold, when, what to do; a redelivery is one alert; OK after ALARM updates the same message to recovered', async () => {
    const m = sign(notification(topicArn, alarm(ppId, 'cpu-high', 'ALARM', { value: 97.5 }), 'ALARM: "cpu-high" in US East (N. Virginia)'));
    await postSettled(m);
    const dm = await eventually(() => dmsWith('ualice-box: CPU is above its threshold')[0], 'cpu alarm DM');
    expect(dm).toContain('97.5 against a threshold of 95');
    expect(dm).toContain('2026-11-23T10:03:12.345+0000');
    expect(dm).toContain('/scicomp update');
    // SNS redelivers the same MessageId: one job, one DM.
    await postSettled(m);
    const jobs = await h.app.queues.sns.getJobs(['completed', 'waiting', 'active', 'delayed', 'failed', 'prioritized']);
    expect(jobs.filter((j) => j.data.MessageId === m.MessageId)).toHaveLength(1);
    const again = sign(notification(topicArn, alarm(ppId, 'cpu-high', 'ALARM', { value: 98 }), 'ALARM'));
    await postSettled(again);
    await eventually(() => h.slack.of('chat.update').find((c) => JSON.stringify(c.body).includes('2 alarms since')), 'coalesced into one message');
    expect(posts(ALICE, 'CPU is above its threshold')).toHaveLength(1);
    expect(h.dms(BOB).some((d) => d.includes('ualice-box'))).toBe(false);

    // OK after ALARM updates the same message to recovered.
    const edited = h.slack.of('chat.update').length;
    await postSettled(sign(notification(topicArn, alarm(ppId, 'cpu-high', 'OK'))));
    const update = await eventually(() => h.slack.of('chat.update').slice(edited).find((c) => JSON.stringify(c.body).includes('ualice-box recovered')), 'recovered');
    expect(JSON.stringify(update.body)).toContain('CPU is back under its threshold');
    // The very message that announced the alarm, by the timestamp Slack gave it.
    expect(update.body.ts).toBe(posts(ALICE, 'CPU is above its threshold')[0]!.response?.ts);
  });

  it('memory (signature version 2) and disk alarms; one open for days still gets its recovery', async () => {
    await postSns(sign(notification(topicArn, alarm(ppId, 'memory-high', 'ALARM', { metric: 'mem_used_percent', namespace: 'CWAgent', threshold: 85, value: 91.2 })), '2'));
    expect(await eventually(() => dmsWith('ualice-box: memory is nearly full')[0], 'memory DM')).toContain('91.2 against a threshold of 85');
    await postSns(sign(notification(topicArn, alarm(ppId, 'disk-high', 'ALARM', { metric: 'disk_used_percent', namespace: 'CWAgent', threshold: 80, value: 88 }))));
    expect(await eventually(() => dmsWith('ualice-box: disk is filling up')[0], 'disk DM')).toContain('88.0 against a threshold of 80');
    expect(certFetches.length).toBe(1);

    // An alarm open for days still gets its recovery.
    // The open alarm's message key lives until OK (Redis time cannot be moved: its expiry is asserted directly).
    const ttl = await h.app.store.redis.pttl(alertKey(h.app.store, `${ppId}:disk-high`));
    expect(ttl).toBeGreaterThan(29 * 86400_000);
    clockOffset += 2 * 86400_000;
    const edited = h.slack.of('chat.update').length;
    await postSettled(sign(notification(topicArn, alarm(ppId, 'disk-high', 'OK', { threshold: 80 }))));
    const update = await eventually(() => h.slack.of('chat.update').slice(edited).find((c) => JSON.stringify(c.body).includes('disk use is back under its threshold')), 'disk recovered');
    expect(update.body.ts).toBe(posts(ALICE, 'disk is filling up')[0]!.response?.ts);
  });

  it('a flapping alarm (ALARM, OK, ALARM, OK, ALARM) is one message that counts 3, in the right DM', async () => {
    const mem = (state: 'ALARM' | 'OK') => sign(notification(bobTopic, alarm(bobBox, 'memory-high', state, { metric: 'mem_used_percent', namespace: 'CWAgent', threshold: 85, value: 90 })));
    for (const state of ['ALARM', 'OK', 'ALARM', 'OK', 'ALARM'] as const) await postSettled(mem(state));
    const first = await eventually(() => posts(BOB, 'ubob-bbox: memory is nearly full')[0], 'memory DM to Bob');
    // Edits of one message, paced at one a second; an edit overtaken by a newer one may be skipped, so only the last counts.
    const last = await eventually(() => {
      const u = updatesOf(first.response?.ts);
      return u.length > 0 && JSON.stringify(u.at(-1)!.body).includes('3 alarms since') ? u : undefined;
    }, 'the one message, edited to count 3', 20_000);
    expect(JSON.stringify(last.at(-1)!.body)).toContain('memory is nearly full');
    expect(posts(BOB, 'memory is nearly full')).toHaveLength(1);
    expect(h.dms(ALICE).some((d) => d.includes('ubob-bbox'))).toBe(false);
    // Past the window, the next flap is news again: a new message.
    clockOffset += 7 * 3600_000;
    await postSettled(mem('OK'));
    await postSettled(mem('ALARM'));
    await eventually(() => posts(BOB, 'ubob-bbox: memory is nearly full').length === 2, 'a new message after the window', 20_000);
  });

  it('an alarm from a configured topic, or from a topic whose owner record is lost, still reaches the product’s owner', async () => {
    await postSettled(sign(notification(SHARED_TOPIC, alarm(bobBox, 'cpu-high', 'ALARM'))));
    await eventually(() => posts(BOB, 'ubob-bbox: CPU is above its threshold')[0], 'alarm via the shared topic');
    const key = topicOwnerKey(h.app.store, bobTopic);
    const saved = await h.app.store.redis.get(key);
    await h.app.store.redis.del(key);
    try {
      await postSettled(sign(notification(bobTopic, alarm(bobBox, 'disk-high', 'ALARM', { metric: 'disk_used_percent', namespace: 'CWAgent', threshold: 80, value: 93 }))));
      await eventually(() => posts(BOB, 'ubob-bbox: disk is filling up')[0], 'alarm with the topic owner lost');
    } finally {
      await h.app.store.redis.set(key, saved!);
    }
    expect(h.dms(ALICE).some((d) => d.includes('ubob-bbox'))).toBe(false);
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

  it('a forecast budget notification says it is a forecast', async () => {
    await postSns(sign(notification(bobTopic, budgetMessage('scicomp-ubob-synapse-org', 'FORECASTED'), 'AWS Budgets: scicomp-ubob-synapse-org has exceeded your alert threshold')));
    const dm = await eventually(() => dmsOf(BOB, 'Your spend is forecast to pass your budget')[0], 'forecast DM');
    expect(dm).toContain('Forecast');
    expect(dm).toContain('$530.10');
    expect(dm).toContain('&gt; $500.00');
    expect(dmsWith('forecast to pass')).toHaveLength(0);
  });
});

describe('idle pings', () => {
  const idle = () => sign(notification(topicArn, alarm(ppId, 'cpu-idle', 'ALARM', { threshold: 5, value: 0.4 })));

  it('Stop on a product with no stop action says so plainly', async () => {
    const { responseId } = await h.click(BOB, 'idle-stop', bobBucket);
    const reply = await eventually(() => h.replies(responseId).join(''), 'no stop');
    expect(reply).toContain('ubob-bdata has no Stop action in the catalog');
    expect(reply).not.toContain('Stopping');
  });

  // One ping through its life: refused to others, stopped, kept, asked to terminate, snoozed.
  it('carry Stop, Terminate, Snooze 24 h and Keep; only the owner may act on any of them; Stop runs once, Keep acknowledges, Terminate asks to confirm, Snooze mutes the next pings', async () => {
    await postSns(idle());
    const dm = await eventually(() => dmsWith('ualice-box: is idle')[0], 'idle DM');
    for (const id of ['idle-stop', 'idle-terminate', 'idle-snooze', 'idle-keep']) expect(dm).toContain(`scicomp:${id}`);
    const ping = button(dm, 'idle-stop');
    const auditBefore = (await h.app.audit.recent(500)).length;
    for (const id of ['idle-stop', 'idle-terminate', 'idle-snooze', 'idle-keep']) {
      const bob = await h.click(BOB, id, button(dm, id));
      expect(await eventually(() => h.replies(bob.responseId).join(''), `${id} refusal`)).toContain('ualice-box is not yours');
    }
    expect(await sandbox.instanceState(ppId)).toBe('running');
    expect(await h.app.deps.snoozes.until(ppId)).toBeUndefined();
    const acted = (await h.app.audit.recent(500)).slice(0, (await h.app.audit.recent(500)).length - auditBefore);
    expect(acted.filter((e) => ['aws.service-action', 'alert.snooze', 'alert.keep'].includes(e.action))).toEqual([]);

    // Stop runs the product's stop action once, even on a double click.
    const begun = vi.spyOn(h.app.deps.mutations!, 'begin');
    const [one, two] = [await h.click(ALICE, 'idle-stop', ping), await h.click(ALICE, 'idle-stop', ping)];
    expect(await eventually(() => h.replies(one.responseId).join(''), 'stop')).toContain('Stopping ualice-box (AWS-StopEC2Instance)');
    expect(await eventually(() => h.replies(two.responseId).join(''), 'second stop')).toContain('Stopping ualice-box');
    await eventually(async () => (await sandbox.instanceState(ppId)) === 'stopped', 'stopped');
    const records = (await h.app.audit.recent(500)).filter((e) => e.action === 'aws.service-action' && e.target === 'ualice-box').map((e) => e.outcome);
    expect(records).toHaveLength(2);
    expect(records[0]).toBe(records[1]);
    // Journaled as an AWS mutation (a stop whose job dies is reconciled), and settled once its owner has heard.
    expect(new Set(begun.mock.calls.map(([id]) => id.split(':')[0]))).toEqual(new Set(['action']));
    begun.mockRestore();
    await eventually(async () => (await h.app.deps.mutations!.pending()).length === 0, 'the stop settled in the journal');

    // Keep acknowledges, Terminate asks to confirm.
    const keep = await h.click(ALICE, 'idle-keep', ping);
    expect(await eventually(() => h.replies(keep.responseId).join(''), 'keep')).toContain('Keeping ualice-box running');
    const term = await h.click(ALICE, 'idle-terminate', ping);
    expect(await eventually(() => h.replies(term.responseId).join(''), 'terminate')).toContain('Terminate ualice-box?');

    // Snooze mutes the next idle pings; snooze by command too.
    const snooze = await h.click(ALICE, 'idle-snooze', ping);
    expect(await eventually(() => h.replies(snooze.responseId).join(''), 'snooze')).toContain('Idle pings for ualice-box are muted until');
    await postSns(sign(notification(topicArn, alarm(ppId, 'cpu-idle', 'OK', { threshold: 5 }))));
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
    // An alarm and a budget notification of its own, whatever the other tests have posted.
    await postSettled(sign(notification(bobTopic, alarm(bobBox, 'cpu-idle', 'ALARM', { threshold: 5, value: 0.2 }))));
    await postSettled(sign(notification(bobTopic, budgetMessage('scicomp-ubob-synapse-org'), 'AWS Budgets: scicomp-ubob-synapse-org has exceeded your alert threshold')));
    await eventually(() => feedPosts.some((p) => p.url.endsWith('/NEW') && p.body.includes('[alarm]')), 'alarm in the Slack feed after rotation', 15_000);
    expect(feedPosts.some((p) => p.url.endsWith('/OLD'))).toBe(true);
    expect(feedPosts.some((p) => p.url === 'https://teams.example/webhook/feed' && p.body.includes('AdaptiveCard') && p.body.includes('[launched]'))).toBe(true);
    expect(feedPosts.some((p) => p.body.includes('[budget]'))).toBe(true);
  });
});

describe('terminating from an idle ping', () => {
  // An instance of its own to terminate: Alice's box stays for the other tests.
  let doomed = '';
  beforeAll(async () => {
    doomed = await launch(ALICE, 'launch "EC2 Linux" doomed', 'ualice-doomed');
    await eventually(() => alarms.alarms.has(`scicomp-${doomed}-cpu-high`), 'its alarms created');
  });

  async function confirmTerminate(user: string, start: () => Promise<{ responseId: string }>): Promise<void> {
    const ask = await start();
    const text = await eventually(() => h.replies(ask.responseId).find((r) => r.includes('scicomp:confirm')), 'terminate confirmation');
    const done = await h.click(user, 'confirm', button(text, 'confirm'));
    await eventually(() => h.replies(done.responseId).length > 0, 'terminate started');
  }

  it('deletes the instance’s alarms once the terminate settles, and tells the feeds', async () => {
    await confirmTerminate(ALICE, async () => h.click(ALICE, 'idle-terminate', doomed));
    await eventually(() => ![...alarms.alarms.keys()].some((n) => n.includes(doomed)), 'alarms deleted');
    expect(alarms.alarms.has(`scicomp-${bobBox}-cpu-high`)).toBe(true);
    await eventually(() => feedPosts.some((p) => p.body.includes('[terminated]') && p.body.includes('ualice-doomed')), 'terminated in the feed');
  });

  it('a failed terminate keeps the alarms and tells the feeds', async () => {
    sandbox.failNext('terminate', 'Resource deletion failed: DependencyViolation');
    await confirmTerminate(BOB, async () => h.command(BOB, 'terminate bbox'));
    await eventually(() => feedPosts.some((p) => p.body.includes('[termination-failed]') && p.body.includes('ubob-bbox')), 'termination-failed in the feed');
    expect([...alarms.alarms.keys()].filter((n) => n.includes(bobBox))).toHaveLength(4);
  });
});

describe('a repeat that overtakes its first message', () => {
  it('waits for the first message to land, then edits it: one message, never two', async () => {
    // Both notifications are applied, their messages held, as when the first one's delivery is slow.
    const held: OutboxItem[] = [];
    const holding = { ...h.app.deps, outbox: { send: async (i: OutboxItem) => void held.push(i), permalink: async () => undefined } };
    // A resource with no alert state yet, whatever earlier tests did.
    await h.app.store.del(alertKey(h.app.store, `${bobBucket}:disk-high`));
    const note = (state: 'ALARM' | 'OK', id: string) => ({
      messageId: id,
      topicArn: bobTopic,
      message: alarm(bobBucket, 'disk-high', state, { metric: 'disk_used_percent', namespace: 'CWAgent', threshold: 80, value: 91 }),
      timestamp: new Date().toISOString(),
    });
    const run = Date.now();
    await deliverAlert(note('ALARM', `race-a-${run}`), holding);
    await deliverAlert(note('OK', `race-b-${run}`), holding);
    const [first, edit] = held;
    expect(edit?.replaces).toBe(first?.key);
    const delivery = { channels: h.app.channels, store: h.app.store, refs: h.app.queues.refs, order: h.app.queues.order, log: pino({ level: 'silent' }) };
    const slot = h.app.store.key('outbox', 'slot', `slack:user:${BOB}`);
    const slotFree = () => eventually(async () => (await h.app.store.redis.exists(slot)) === 0, 'the channel slot free');
    const until = (item: OutboxItem) =>
      eventually(async () => {
        const o: Outcome = await deliver(item, delivery);
        return 'done' in o ? o.done : undefined;
      }, `${item.key} delivered`);
    // The edit gets the channel first: with the slot free, only its first message being on its way can hold it back.
    await slotFree();
    const tooEarly = await deliver(edit!, delivery);
    expect(tooEarly).toMatchObject({ laterMs: expect.any(Number) });
    expect(await until(first!)).toBe('posted');
    expect(await until(edit!)).toBe('updated');
    const posted = posts(BOB, 'ubob-bdata').filter((c) => JSON.stringify(c.body).includes('disk'));
    expect(posted).toHaveLength(1);
    expect(JSON.stringify(updatesOf(posted[0]!.response?.ts).at(-1)?.body)).toContain('ubob-bdata recovered');
  });
});

describe('a burst of notifications', () => {
  const CAROL = 'UCAROL';
  const carolTopic = 'arn:aws:sns:us-east-1:111122223333:scicomp-user-ucarol-synapse-org';
  const carolOwner = JSON.stringify({ platform: 'slack', userId: CAROL, email: 'ucarol@synapse.org' });
  const batchJobs = async () =>
    ((await h.app.queues.snsBatchQueue.getJobs(['completed', 'waiting', 'active', 'delayed', 'failed', 'prioritized'])) as Job<BatchPayload>[]).map((j) => ({ job: j, ids: j.data.batch.map((m) => m.MessageId) }));
  const note = (topic: string, subject: string) => sign(notification(topic, `${subject}: details follow.`, subject));

  it('that arrives in one turn is one job; each message reaches its owner once, even when redelivered in a later burst', async () => {
    const before = (await batchJobs()).length;
    const burst = [note(topicArn, 'Burst notice A1'), note(topicArn, 'Burst notice A2'), note(bobTopic, 'Burst notice B1'), note(bobTopic, 'Burst notice B2')];
    // Queued in one turn of the event loop, as a web process does when requests arrive together.
    await Promise.all(burst.map((m) => h.app.queues.snsMessage(m)));
    const jobs = await batchJobs();
    expect(jobs).toHaveLength(before + 1);
    expect(jobs.find((j) => j.ids.includes(burst[0]!.MessageId))?.ids).toEqual(burst.map((m) => m.MessageId));
    await eventually(() => ['A1', 'A2'].every((n) => dmsWith(`Burst notice ${n}`).length > 0) && ['B1', 'B2'].every((n) => dmsOf(BOB, `Burst notice ${n}`).length > 0), 'all four delivered', 15_000);
    // Two for one DM: the second waited out the channel's interval in the batch's job, not in a delayed outbox job.
    // (Seen at the recorder: each post's own trip there blurs the interval by a few ms.)
    const [a1, a2] = ['A1', 'A2'].map((n) => posts(ALICE, `Burst notice ${n}`)[0]!.at);
    const interval = h.app.config.SLACK_CHANNEL_INTERVAL_MS;
    expect(Math.abs(a2! - a1!)).toBeGreaterThanOrEqual(Math.min(interval * 0.9, interval - 10));
    for (const m of burst) expect(await h.app.queues.deliver.getJob(jobIdFor('msg', `sns:${m.MessageId}`))).toBeUndefined();
    // SNS redelivers A1 and B2 beside a new message: a new batch, and only the new message is posted.
    const fresh = note(topicArn, 'Burst notice A3');
    await Promise.all([burst[0]!, fresh, burst[3]!].map((m) => h.app.queues.snsMessage(m)));
    await eventually(() => dmsWith('Burst notice A3').length > 0, 'the new one delivered', 15_000);
    await eventually(async () => (await batchJobs()).every((j) => j.job.finishedOn), 'both batches done');
    expect(dmsWith('Burst notice A1')).toHaveLength(1);
    expect(dmsOf(BOB, 'Burst notice B2')).toHaveLength(1);
    expect(dmsWith('Burst notice A3')).toHaveLength(1);
  });

  it('a message that fails in a batch retries in a job of its own, without holding back or repeating the others', async () => {
    const store = h.app.store;
    await store.redis.sadd(knownTopicsKey(store), carolTopic);
    // Carol's owner record is unreadable for now: her message fails where Alice's goes through.
    await store.redis.set(topicOwnerKey(store, carolTopic), '{not json');
    const alices = note(topicArn, 'Batch mate notice');
    const carols = note(carolTopic, 'Carol notice');
    await Promise.all([alices, carols].map((m) => h.app.queues.snsMessage(m)));
    await eventually(() => dmsWith('Batch mate notice').length > 0, 'Alice delivered');
    const own = await eventually(() => h.app.queues.sns.getJob(jobIdFor('sns', carols.MessageId)), 'Carol’s message in a job of its own');
    expect(own.data).toMatchObject({ MessageId: carols.MessageId });
    expect(h.dms(CAROL)).toHaveLength(0);
    // The record is mended; the message's own retries deliver it, once, and Alice's is not repeated.
    await store.redis.set(topicOwnerKey(store, carolTopic), carolOwner);
    await eventually(() => h.dms(CAROL).some((d) => d.includes('Carol notice')), 'Carol delivered on retry', 20_000);
    expect(h.dms(CAROL).filter((d) => d.includes('Carol notice'))).toHaveLength(1);
    expect(dmsWith('Batch mate notice')).toHaveLength(1);
  });

  it('an oversized body sent in chunks, with no length, is refused with 413 and queues nothing', async () => {
    const queued = async () => (await Promise.all([h.app.queues.sns, h.app.queues.snsBatchQueue].map((q) => q.getJobCounts()))).flatMap((c) => Object.values(c)).reduce((a, b) => a + b, 0);
    const before = await queued();
    const { port } = new URL(h.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/sns', method: 'POST', headers: { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 20; i++) req.write('x'.repeat(16 * 1024));
      req.end();
    });
    expect(status).toBe(413);
    expect(await queued()).toBe(before);
  });
});
