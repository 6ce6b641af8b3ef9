// Alarms through real web and worker processes: a worker killed mid-burst reposts nothing, and a 429 storm reorders
// nothing within a conversation.
import { Redis } from 'ioredis';
import type { SnsMessage } from '../../src/http/sns.js';
import { RedisSandboxTopics } from '../../src/sandbox/redis-alerts.js';
import { loadSigner, signMessage, type SnsSigner } from '../../src/sandbox/sns.js';
import type { SlackApi } from '../../test/support/slack-api.js';
import { seeded } from '../../test/support/seeded.js';
import { alarmMessage, notification } from '../../test/support/sns.js';
import { baseEnv, launchFor, person, Process, settled, until, type Figures, type OwnRedis, type Scenario } from '../support.js';

/** A person with a product, and so an alert topic of their own. */
interface Owner {
  userId: string;
  topicArn: string;
}

/** One alarm of an owner's burst: its name, its place in the owner's production order, and its signed notification. */
interface Alarm {
  name: string;
  owner: Owner;
  k: number;
  message: SnsMessage;
}

/** Launches a product for each of `count` people (which makes their topics), and reads the sandbox SNS's signer. */
async function owners(redis: OwnRedis, prefix: string, slack: SlackApi, urls: string[], tag: string, count: number): Promise<{ owners: Owner[]; signer: SnsSigner }> {
  const people = Array.from({ length: count }, (_, i) => person(tag, i));
  await launchFor(urls, slack, people, 'watched');
  const conn = new Redis(redis.url);
  try {
    const topics = new RedisSandboxTopics(conn, prefix);
    const found = await Promise.all(people.map(async (p) => ({ userId: p.userId, topicArn: (await topics.topicOf(p.email)) ?? '' })));
    if (found.some((o) => !o.topicArn)) throw new Error('an owner has no topic after their launch');
    return { owners: found, signer: await loadSigner(conn, prefix) };
  } finally {
    await conn.quit();
  }
}

/** `perOwner` distinct alarms (state ALARM) for each owner, each signed once: a redelivery is the same message again. */
function alarms(list: Owner[], perOwner: number, signer: SnsSigner): Alarm[][] {
  return list.map((owner) =>
    Array.from({ length: perOwner }, (_, k) => {
      const name = `faults-${owner.userId}-${String(k).padStart(3, '0')}`;
      const message = signMessage(notification(owner.topicArn, alarmMessage({ alarmName: name, state: 'ALARM' }), `ALARM: "${name}"`), signer);
      return { name, owner, k, message };
    }),
  );
}

/** POSTs a notification to /sns as SNS's HTTP delivery does; says whether it was answered 200. */
async function publish(url: string, m: SnsMessage): Promise<boolean> {
  try {
    const res = await fetch(`${url}/sns`, {
      method: 'POST',
      body: JSON.stringify(m),
      headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': m.Type, 'x-amz-sns-message-id': m.MessageId, 'x-amz-sns-topic-arn': m.TopicArn },
      signal: AbortSignal.timeout(5000),
    });
    await res.text();
    return res.status === 200;
  } catch {
    return false;
  }
}

const ALARM_NAME = /faults-U[A-Z]+-\d{3}/;

/** Each DM's alarm posts, in the order Slack took them (a post a dead worker never heard back about included). */
function posts(slack: SlackApi): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const c of slack.of('chat.postMessage')) {
    const name = ALARM_NAME.exec(typeof c.body.text === 'string' ? c.body.text : JSON.stringify(c.body))?.[0];
    if (!name) continue;
    const channel = String(c.body.channel);
    out.set(channel, [...(out.get(channel) ?? []), name]);
  }
  return out;
}

/** Distinct alarms posted so far. */
const deliveredCount = (slack: SlackApi) => new Set([...posts(slack).values()].flat()).size;

/**
 * The figures of a burst: `sent` the distinct alarms, `acknowledged` those /sns answered 200 at least once, out of order
 * the pairs of one owner's delivered alarms whose first posts are the reverse of the order they were published in.
 */
function tally(slack: SlackApi, bursts: Alarm[][], acked: Set<string>): Figures {
  const byDm = posts(slack);
  let delivered = 0;
  let duplicated = 0;
  let lost = 0;
  let outOfOrder = 0;
  for (const burst of bursts) {
    const seen = byDm.get(`D${burst[0]!.owner.userId}`) ?? [];
    const place = new Map(burst.map((a) => [a.name, a.k]));
    const firsts = [...new Set(seen)].filter((n) => place.has(n)).map((n) => place.get(n)!);
    delivered += firsts.length;
    duplicated += seen.filter((n) => place.has(n)).length - firsts.length;
    lost += burst.filter((a) => acked.has(a.name) && !seen.includes(a.name)).length;
    for (let i = 0; i < firsts.length; i++) for (let j = i + 1; j < firsts.length; j++) if (firsts[i]! > firsts[j]!) outOfOrder++;
  }
  return { sent: bursts.flat().length, acknowledged: acked.size, delivered, duplicated, lost, outOfOrder };
}

/** Publishes one owner's alarms one after another, each once /sns has answered the one before (as one alarm source would). */
async function inSequence(urls: string[], burst: Alarm[], acked: Set<string>): Promise<void> {
  for (const a of burst) if (await publish(urls[a.k % urls.length]!, a.message)) acked.add(a.name);
}

/** Waits until Slack has taken no alarm post for `quietMs` (late reposts would show by then), up to `timeoutMs`. */
async function quiet(slack: SlackApi, quietMs: number, timeoutMs: number): Promise<void> {
  let count = -1;
  let since = Date.now();
  await settled(() => {
    const now = slack.of('chat.postMessage').length;
    if (now !== count || slack.inFlight > 0) [count, since] = [now, Date.now()];
    return Date.now() - since >= quietMs;
  }, timeoutMs);
}

/**
 * A worker killed with kill -9 when 40 % of a burst of 500 alarms (10 owners × 50) has reached Slack, every alarm delivered
 * twice by SNS (the second copies arriving after the kill). Slack answers each post 150 ms after taking it, so the kill
 * finds posts made and not yet recorded; the new worker must find them in Slack rather than post them again.
 */
async function workerKillMidBurst(redis: OwnRedis, slack: SlackApi) {
  const prefix = 'faults-alerts-kill';
  // Recovery shortened for the run: a dead worker's jobs are handed on after 500 ms (JOB_LOCK_MS), and its hold on a
  // message lapses after 1.5 s (OUTBOX_LEASE_MS) instead of 2 minutes.
  const env = { ...baseEnv(redis, slack, prefix), JOB_LOCK_MS: '500', OUTBOX_LEASE_MS: '1500' };
  const [web, worker] = await Promise.all([new Process(env).start('web'), new Process(env).start('worker')]);
  const { owners: list, signer } = await owners(redis, prefix, slack, [web.url], 'kill', 10);
  const bursts = alarms(list, 50, signer);
  const total = bursts.flat().length;
  const acked = new Set<string>();
  slack.answerSlowly('chat.postMessage', 150);
  const firsts = Promise.all(bursts.map((burst) => inSequence([web.url], burst, acked)));
  await until(() => deliveredCount(slack) >= total * 0.4, '40% of the alarms in Slack', 60_000);
  await worker.kill();
  // Posts Slack took from the worker and had not answered when it died: made, and never recorded by it.
  const inFlight = slack.inFlight;
  const deliveredAtKill = deliveredCount(slack);
  // SNS redelivers every alarm, the same MessageId again, while a new worker starts.
  const seconds = Promise.all(bursts.map((burst) => inSequence([web.url], burst, new Set())));
  const next = await new Process(env).start('worker');
  await Promise.all([firsts, seconds]);
  await settled(() => tally(slack, bursts, acked).delivered >= acked.size, 60_000);
  await quiet(slack, 1000, 10_000);
  await Promise.all([next.stop(), web.stop()]);
  const figures = tally(slack, bursts, acked);
  figures.more = { 'delivered at kill': deliveredAtKill, 'in flight at kill': inFlight };
  // Defect 4's target: at most 0.1 % duplicates after the kill, nothing lost; and the kill must have caught posts in flight.
  // Order is printed here and judged by the storm scenario.
  const passed = figures.acknowledged === total && figures.lost === 0 && figures.duplicated <= Math.floor(total * 0.001) && inFlight > 0;
  return { figures, passed };
}

/**
 * Two web and two worker processes; 10 owners, each publishing 8 alarms in sequence (the next once /sns took the one
 * before), all owners at once; Slack answers a quarter of the posts 429 with Retry-After 1. Each DM shows its alarms in
 * the order they were published: 10 × C(8,2) = 280 pairs, none reversed.
 */
async function storm(redis: OwnRedis, slack: SlackApi) {
  const prefix = 'faults-alerts-storm';
  const env = baseEnv(redis, slack, prefix);
  const procs = await Promise.all([new Process(env).start('web'), new Process(env).start('web'), new Process(env).start('worker'), new Process(env).start('worker')]);
  const urls = procs.slice(0, 2).map((p) => p.url);
  const { owners: list, signer } = await owners(redis, prefix, slack, urls, 'storm', 10);
  const bursts = alarms(list, 8, signer);
  const acked = new Set<string>();
  const before = slack.failed.length;
  slack.failSometimes('chat.postMessage', 0.25, [{ status: 429, retryAfter: 1 }], seeded(13));
  await Promise.all(bursts.map((burst) => inSequence(urls, burst, acked)));
  await settled(() => tally(slack, bursts, acked).delivered >= acked.size, 60_000);
  await quiet(slack, 1500, 10_000);
  await Promise.all(procs.map((p) => p.stop()));
  const figures = tally(slack, bursts, acked);
  const served = slack.failed.slice(before).filter((f) => f.method === 'chat.postMessage' && f.status === 429).length;
  const pairs = bursts.reduce((n, b) => n + (b.length * (b.length - 1)) / 2, 0);
  figures.more = { pairs, '429s served': served };
  const passed = figures.acknowledged === figures.sent && figures.lost === 0 && figures.duplicated === 0 && figures.outOfOrder === 0 && served > 0;
  return { figures, passed };
}

export const alertScenarios: Scenario[] = [
  { name: 'worker kill -9 at 40% of a burst of 500 alarms, each delivered twice', fast: true, run: workerKillMidBurst },
  { name: '429 storm: order per conversation', fast: true, run: storm },
];
