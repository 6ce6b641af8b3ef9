// Alert throughput: N signed SNS alarm notifications for M users through POST /sns until the last DM reaches the recording
// Slack API, beside raw BullMQ throughput (add + process empty jobs) on the same Redis, and the busiest channel's rate.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { knownTopicsKey, topicOwnerKey } from '../src/adapters/redis/alert-state.js';
import { Store } from '../src/adapters/redis/store.js';
import { alarmMessage, notification, sign, signer } from '../test/support/sns.js';
import { SlackApi, type SlackCall } from '../test/support/slack-api.js';
import { child, cpuOf, stopServer } from './ack.js';

// Two alerts per user, for different resources: not coalesced, so each DM's second message waits out the 1 s pacing.
const N = 4000;
const M = 2000;
const POST_CONCURRENCY = 64;
/**
 * Alerts for other users sent and delivered before the clock starts, and as many raw jobs before raw's: both sides are
 * timed warm, as a server that has been up a while runs (cold, V8 runs the first thousands of alerts unoptimised).
 * BENCH_WARMUP=0 times both cold.
 */
export const WARMUP = Number(process.env.BENCH_WARMUP ?? 2000);

/** The most messages any one channel received within any one-second window. */
export function busiestChannelPerSecond(calls: SlackCall[]): number {
  const byChannel = new Map<string, number[]>();
  for (const c of calls) {
    if (c.method !== 'chat.postMessage' && c.method !== 'chat.update') continue;
    const list = byChannel.get(String(c.body.channel)) ?? [];
    list.push(c.at);
    byChannel.set(String(c.body.channel), list);
  }
  let max = 0;
  for (const times of byChannel.values()) {
    times.sort((a, b) => a - b);
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[i]! - times[j]! >= 1000) j++;
      max = Math.max(max, i - j + 1);
    }
  }
  return max;
}

export async function benchAlerts(): Promise<string[]> {
  const slack = await new SlackApi().start();
  const prefix = `benchalerts${Date.now()}`;
  const dir = mkdtempSync(join(tmpdir(), 'scicomp-bench-'));
  writeFileSync(join(dir, 'cert.pem'), signer.cert);
  const redis = new Redis();
  const store = new Store(redis, prefix);
  const pipeline = redis.pipeline();
  /** `users` users (user ids U<tag><n>, DM channels DU<tag><n>) and `count` signed alarm notifications, round robin. */
  const alarmsFor = (tag: string, users: number, count: number): string[] => {
    const topics: string[] = [];
    for (let u = 0; u < users; u++) {
      const arn = `arn:aws:sns:us-east-1:111122223333:scicomp-user-${tag}${u}`;
      topics.push(arn);
      pipeline.set(topicOwnerKey(store, arn), JSON.stringify({ platform: 'slack', userId: `U${tag}${u}`, email: `${tag}${u}@synapse.org` }));
      pipeline.sadd(knownTopicsKey(store), arn);
      // Steady state: someone with alarms has had DMs from scicomp before, so their DM channel is known.
      pipeline.set(store.key('slack', 'dm', `U${tag}${u}`), `DU${tag}${u}`);
    }
    // Signing is AWS's work, not ours: done before the clock starts.
    return Array.from({ length: count }, (_, i) =>
      JSON.stringify(sign(notification(topics[i % users]!, alarmMessage({ alarmName: `scicomp-pp-${tag}${i}-cpu-high`, state: 'ALARM' }), 'ALARM'))),
    );
  };
  const warmup = alarmsFor('W', WARMUP, WARMUP);
  const bodies = alarmsFor('B', M, N);
  await pipeline.exec();
  // Keep-alive node:http, as SNS's own senders reuse connections: fetch here costs the load generator half the machine's
  // ingest (a do-nothing endpoint takes ~2,100 POSTs/s from fetch, ~4,100 from this).
  const agent = new Agent({ keepAlive: true, maxSockets: POST_CONCURRENCY });
  const post = (port: number, body: string) =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/sns', method: 'POST', agent, headers: { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`POST /sns answered ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const until = async (done: () => boolean, ms: number) => {
    const deadline = Date.now() + ms;
    while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  };
  /** Warms a server up, then times N alerts through it until the last reaches Slack: its rate and CPU per alert. */
  const time = async (kind: 'alerts' | 'floor' | 'floor-job', channel: string, after = 0) => {
    const server = await child<{ port: number }>([kind], { BENCH_SLACK_URL: slack.url, BENCH_PREFIX: prefix, BENCH_SNS_CERT: join(dir, 'cert.pem') });
    const postAll = async (list: string[]) => {
      for (let i = 0; i < list.length; i += POST_CONCURRENCY) await Promise.all(list.slice(i, i + POST_CONCURRENCY).map((body) => post(server.first.port, body)));
    };
    const deliveredTo = (tag: string) => slack.calls.slice(after).filter((c) => c.method === 'chat.postMessage' && String(c.body.channel).startsWith(`${channel}${tag}`)).length;
    try {
      await postAll(warmup);
      await until(() => deliveredTo('W') >= WARMUP, 120_000);
      const cpu0 = await cpuOf(server.child);
      const t0 = performance.now();
      await postAll(bodies);
      const ingest = (performance.now() - t0) / 1000;
      await until(() => deliveredTo('B') >= N, 120_000);
      const seconds = (performance.now() - t0) / 1000;
      const got = deliveredTo('B');
      const cpu = (await cpuOf(server.child)) - cpu0;
      return { got, seconds, ingest, perSecond: got / seconds, cpuEach: cpu / Math.max(got, 1) };
    } finally {
      await stopServer(server.child);
    }
  };
  try {
    const ours = await time('alerts', 'DU');
    const floor = await time('floor', 'DF');
    // Its channels are counted afresh: the floor's own deliveries to the same DF channels are already in.
    const floorCalls = slack.calls.length;
    const floorJob = await time('floor-job', 'DF', floorCalls);
    const raw = await child<{ perSecond: number }>(['raw', String(N), String(WARMUP)]);
    // Stopped, or it outlives the run holding the terminal's stdout open.
    await stopServer(raw.child);
    const ratio = ours.perSecond / raw.first.perSecond;
    const perChannel = busiestChannelPerSecond(slack.calls.filter((c) => String(c.body.channel).startsWith('DU')));
    const complete = ours.got >= N;
    return [
      `${complete ? '' : 'FAIL '}alerts N=${N} M=${M}: ${ours.got}/${N} delivered in ${ours.seconds.toFixed(2)} s (all POSTs answered in ${ours.ingest.toFixed(2)} s) = ${ours.perSecond.toFixed(0)} alerts/s, server CPU ${ours.cpuEach.toFixed(0)} µs each | raw BullMQ add+process ${raw.first.perSecond.toFixed(0)} jobs/s | ratio ${ratio.toFixed(2)} (target ≥ 0.5) ${!complete ? `FAIL: only ${ours.got} of ${N} delivered` : ratio >= 0.5 ? 'OK' : 'UNDER'}`,
      `alerts floor (a POST read, checked and answered, one Slack call; no Redis, queue or state): ${floor.perSecond.toFixed(0)} alerts/s, CPU ${floor.cpuEach.toFixed(0)} µs each | ratio ${(floor.perSecond / raw.first.perSecond).toFixed(2)}, the most a safe alert path on one node process could reach here`,
      `alerts floor with one BullMQ job per notification (job id = MessageId) before the answer: ${floorJob.perSecond.toFixed(0)} alerts/s, CPU ${floorJob.cpuEach.toFixed(0)} µs each | ratio ${(floorJob.perSecond / raw.first.perSecond).toFixed(2)}`,
      `alerts busiest channel: ${perChannel} message(s) in any 1 s window (must be ≤ 1) ${perChannel <= 1 ? 'OK' : 'OVER'}`,
    ];
  } finally {
    agent.destroy();
    await slack.close();
    redis.disconnect();
  }
}
