// Alert throughput: N signed SNS alarm notifications for M users through POST /sns until the last DM reaches the recording
// Slack API, beside raw BullMQ throughput (add + process empty jobs) on the same Redis, and the busiest channel's rate.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Store } from '../src/adapters/redis/store.js';
import { knownTopicsKey, topicOwnerKey } from '../src/core/alerts.js';
import { alarmMessage, notification, sign, signer } from '../test/support/sns.js';
import { SlackApi, type SlackCall } from '../test/support/slack-api.js';
import { child, stopServer } from './ack.js';

// Two alerts per user, for different resources: not coalesced, so each DM's second message waits out the 1 s pacing.
const N = 4000;
const M = 2000;
const POST_CONCURRENCY = 64;

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
  const topics: string[] = [];
  const pipeline = redis.pipeline();
  for (let u = 0; u < M; u++) {
    const arn = `arn:aws:sns:us-east-1:111122223333:scicomp-user-bench${u}`;
    topics.push(arn);
    pipeline.set(topicOwnerKey({ store }, arn), JSON.stringify({ platform: 'slack', userId: `UB${u}`, email: `bench${u}@synapse.org` }));
    pipeline.sadd(knownTopicsKey({ store }), arn);
    // Steady state: someone with alarms has had DMs from scicomp before, so their DM channel is known.
    pipeline.set(store.key('slack', 'dm', `UB${u}`), `DUB${u}`);
  }
  await pipeline.exec();
  // Signing is AWS's work, not ours: done before the clock starts.
  const bodies = Array.from({ length: N }, (_, i) =>
    JSON.stringify(sign(notification(topics[i % M]!, alarmMessage({ alarmName: `scicomp-pp-bench${i}-cpu-high`, state: 'ALARM' }), 'ALARM'))),
  );
  const server = await child<{ port: number }>(['alerts'], { BENCH_SLACK_URL: slack.url, BENCH_PREFIX: prefix, BENCH_SNS_CERT: join(dir, 'cert.pem') });
  // Keep-alive node:http, as SNS's own senders reuse connections: fetch here costs the load generator half the machine's
  // ingest (a do-nothing endpoint takes ~2,100 POSTs/s from fetch, ~4,100 from this).
  const agent = new Agent({ keepAlive: true, maxSockets: POST_CONCURRENCY });
  const post = (body: string) =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: server.first.port, path: '/sns', method: 'POST', agent, headers: { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`POST /sns answered ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  try {
    const delivered = () => slack.calls.filter((c) => c.method === 'chat.postMessage' && String(c.body.channel).startsWith('DUB')).length;
    const t0 = performance.now();
    for (let i = 0; i < N; i += POST_CONCURRENCY) await Promise.all(bodies.slice(i, i + POST_CONCURRENCY).map((body) => post(body)));
    const ingest = (performance.now() - t0) / 1000;
    const deadline = Date.now() + 120_000;
    while (delivered() < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const seconds = (performance.now() - t0) / 1000;
    const got = delivered();
    const alertsPerSecond = got / seconds;
    const raw = await child<{ perSecond: number }>(['raw', String(N)]);
    // Stopped, or it outlives the run holding the terminal's stdout open.
    await stopServer(raw.child);
    const ratio = alertsPerSecond / raw.first.perSecond;
    const perChannel = busiestChannelPerSecond(slack.calls);
    const complete = got >= N;
    return [
      `${complete ? '' : 'FAIL '}alerts N=${N} M=${M}: ${got}/${N} delivered in ${seconds.toFixed(2)} s (all POSTs answered in ${ingest.toFixed(2)} s) = ${alertsPerSecond.toFixed(0)} alerts/s | raw BullMQ add+process ${raw.first.perSecond.toFixed(0)} jobs/s | ratio ${ratio.toFixed(2)} (target ≥ 0.5) ${!complete ? `FAIL: only ${got} of ${N} delivered` : ratio >= 0.5 ? 'OK' : 'UNDER'}`,
      `alerts busiest channel: ${perChannel} message(s) in any 1 s window (must be ≤ 1) ${perChannel <= 1 ? 'OK' : 'OVER'}`,
    ];
  } finally {
    agent.destroy();
    await stopServer(server.child);
    await slack.close();
    redis.disconnect();
  }
}
