// One process under benchmark, so the load generator does not share its event loop:
// `bare`: a Bolt app that acks /scicomp with no work; `scicomp`: the web process (no workers), for ack latency;
// `alerts`: web and workers, Slack pointed at the parent's recorder, trusting the parent's SNS signing certificate;
// `floor`: the least a safe alert path can do on node: read a POST, check it (schema and signature, as SNS requires),
// answer it, make one Slack call; no Redis, no queue, no state; `floor-job`: the same with one BullMQ job per message;
// `raw`: BullMQ adding and processing N empty jobs, printing jobs/s; `inventory`: web and workers on a sandbox account of
// SANDBOX_PRODUCTS products at SANDBOX_API_LATENCY_MS a call, reading the inventory (warmed first) or, with
// BENCH_READ=scan, the whole account each time; it answers 'calls' with the Service Catalog calls made so far.
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { App, ExpressReceiver, LogLevel } from '@slack/bolt';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { warmInventory } from '../src/core/inventory.js';
import { parseSnsMessage, SnsVerifier } from '../src/http/sns.js';
import { SandboxCatalog } from '../src/sandbox/catalog.js';
import { dropPrefix, Harness, SIGNING_SECRET } from '../test/support/harness.js';
import { SlackApi } from '../test/support/slack-api.js';
import { ScanInventory } from './scan-inventory.js';

const kind = process.argv[2];
const env = process.env;

// BENCH_CPU_PROF=<file>: a CPU profile of this process from the first CPU reading (the timed part, after any warm-up)
// until it is stopped; open it in Chrome DevTools.
const profiler = env.BENCH_CPU_PROF && kind !== 'raw' && !kind?.startsWith('floor') ? new Session() : undefined;
let profiling = false;
async function startProfile(): Promise<void> {
  if (!profiler || profiling) return;
  profiling = true;
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.start');
}

async function raw(count: number, warmup: number): Promise<number> {
  const prefix = `benchraw${process.pid}`;
  const connection = new Redis({ maxRetriesPerRequest: null });
  const queue = new Queue('raw', { connection, prefix });
  let done = 0;
  let finish: () => void = () => {};
  let target = 0;
  const worker = new Worker('raw', async () => {}, { connection: new Redis({ maxRetriesPerRequest: null }), prefix, concurrency: 32 });
  worker.on('completed', () => {
    if (++done === target) finish();
  });
  // Added the way alerts arrive: one at a time from concurrent requests, not in bulk.
  const run = async (tag: string, n: number) => {
    const finished = new Promise<void>((r) => (finish = r));
    target = done + n;
    for (let i = 0; i < n; i += 64) {
      await Promise.all(Array.from({ length: Math.min(64, n - i) }, (_, j) => queue.add('empty', {}, { jobId: `${tag}${i + j}`, removeOnComplete: true })));
    }
    await finished;
  };
  if (warmup > 0) await run('w', warmup);
  const t0 = performance.now();
  await run('j', count);
  const perSecond = count / ((performance.now() - t0) / 1000);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  return perSecond;
}

let stop: () => Promise<void> = async () => {};
let account: SandboxCatalog | undefined;
if (kind === 'raw') {
  process.send?.({ perSecond: await raw(Number(process.argv[3] ?? 2000), Number(process.argv[4] ?? 0)) });
} else if (kind === 'floor' || kind === 'floor-job') {
  const { createServer } = await import('node:http');
  const { Agent, request } = await import('undici');
  const dispatcher = new Agent({ connections: 64 });
  const api = `${env.BENCH_SLACK_URL}/api/chat.postMessage`;
  const verifier = new SnsVerifier({ fetchCert: async () => readFileSync(env.BENCH_SNS_CERT!, 'utf8') });
  const slackCall = async (m: { TopicArn: string; Message: string }) => {
    const channel = `DF${m.TopicArn.split('scicomp-user-')[1]}`;
    const body = JSON.stringify({ channel, text: m.Message.slice(0, 100) });
    await (await request(api, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json; charset=utf-8', authorization: 'Bearer xoxb-floor' }, body })).body.dump();
  };
  // `floor-job`: the same, with one BullMQ job per notification (job id = MessageId) between the answer and the call.
  const prefix = `benchfloor${process.pid}`;
  const queue = kind === 'floor-job' ? new Queue('floor', { connection: new Redis({ maxRetriesPerRequest: null }), prefix }) : undefined;
  const worker = queue ? new Worker('floor', (job) => slackCall(job.data), { connection: new Redis({ maxRetriesPerRequest: null }), prefix, concurrency: 32 }) : undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    const answer = async () => {
      const m = parseSnsMessage(Buffer.concat(chunks).toString('utf8'));
      await verifier.verify(m);
      if (queue) await queue.add('sns', m, { jobId: m.MessageId, removeOnComplete: true });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 11 }).end('{"ok":true}');
      if (!queue) void slackCall(m);
    };
    // A refused message is answered, not left to crash the process as an unhandled rejection.
    req.on('end', () => void answer().catch(() => res.writeHead(403).end()));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  process.send?.({ port: (server.address() as AddressInfo).port });
  stop = async () => {
    server.closeAllConnections();
    await worker?.close();
    await queue?.obliterate({ force: true });
    await queue?.close();
    await dispatcher.close();
  };
} else if (kind === 'bare') {
  const receiver = new ExpressReceiver({ signingSecret: SIGNING_SECRET, endpoints: '/slack/events', logLevel: LogLevel.ERROR });
  const app = new App({ receiver, authorize: async () => ({ botToken: 'xoxb-bare' }), logLevel: LogLevel.ERROR });
  app.command('/scicomp', async ({ ack }) => ack());
  const server = await receiver.start(0);
  process.send?.({ port: (server.address() as AddressInfo).port });
  stop = () => receiver.stop();
} else if (kind === 'teams-bare') {
  // A bare CloudAdapter bot with the same token checks (the parent's offline channel issuer): a message acked with no
  // work, an Action.Execute answered with a fixed card.
  const { CloudAdapter, TeamsActivityHandler } = await import('botbuilder');
  const { StrictBotFrameworkAuthentication } = await import('../src/adapters/teams/authentication.js');
  const express = (await import('express')).default;
  const settings = JSON.parse(env.BENCH_TEAMS_SETTINGS!) as Record<string, string>;
  const adapter = new CloudAdapter(new StrictBotFrameworkAuthentication(settings));
  class Bare extends TeamsActivityHandler {
    protected override async onAdaptiveCardInvoke() {
      return { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: 'ok' }] } as never };
    }
  }
  const bot = new Bare();
  const web = express();
  web.post('/api/messages', express.json({ limit: '1mb' }), (req, res) => void adapter.process(req, res, (ctx) => bot.run(ctx)));
  const server = web.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  process.send?.({ port: (server.address() as AddressInfo).port });
  stop = async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
} else if (kind === 'teams') {
  // The web process (no workers) serving Teams on POST /api/messages, its endpoints at the parent's offline cloud.
  const h = await Harness.start({
    catalog: new SandboxCatalog(),
    workers: false,
    prefix: env.BENCH_PREFIX ?? `bench${process.pid}`,
    env: JSON.parse(env.BENCH_TEAMS_ENV!) as Record<string, string>,
  });
  process.send?.({ port: Number(new URL(h.url).port) });
  stop = async () => {
    await dropPrefix(h.app);
    await h.close();
  };
} else if (kind === 'inventory') {
  account = new SandboxCatalog({ provisionMs: 1000, products: Number(env.SANDBOX_PRODUCTS ?? 10_000), apiLatencyMs: Number(env.SANDBOX_API_LATENCY_MS ?? 200) });
  const slack = Object.assign(new SlackApi(), { url: env.BENCH_SLACK_URL ?? '' });
  const scan = env.BENCH_READ === 'scan';
  const h = await Harness.start({
    catalog: account,
    slack,
    prefix: env.BENCH_PREFIX ?? `bench${process.pid}`,
    env: { INVENTORY_PAGES_PER_SECOND: env.INVENTORY_PAGES_PER_SECOND ?? '5' },
    ...(scan ? { extra: { inventory: new ScanInventory(account) } } : {}),
  });
  // The first snapshot, as a cold start takes it (the scheduler's first run races it; one of them scans).
  const t0 = performance.now();
  if (!scan) await warmInventory(h.app.deps);
  process.send?.({ port: Number(new URL(h.url).port), warmMs: performance.now() - t0, warmCalls: account.callCount() });
  stop = async () => {
    await dropPrefix(h.app);
    await h.close();
  };
} else {
  const alerts = kind === 'alerts';
  // The parent records Slack calls; this process only needs an object whose URL points there.
  const slack = Object.assign(new SlackApi(), { url: env.BENCH_SLACK_URL ?? '' });
  const h = await Harness.start({
    catalog: new SandboxCatalog(),
    workers: alerts,
    prefix: env.BENCH_PREFIX ?? `bench${process.pid}`,
    // Slack's real pace, as in production: the tests' short one would change what the workers do.
    env: { SLACK_CHANNEL_INTERVAL_MS: '1000' },
    ...(alerts ? { slack, extra: { snsVerifier: new SnsVerifier({ fetchCert: async () => readFileSync(env.BENCH_SNS_CERT!, 'utf8') }) } } : {}),
  });
  process.send?.({ port: Number(new URL(h.url).port) });
  stop = async () => {
    await dropPrefix(h.app);
    await h.close();
  };
}
process.on('message', (m) => void (async () => {
  if (m === 'calls') process.send?.({ calls: account?.callCount() ?? 0 });
  if (m === 'cpu') {
    await startProfile();
    process.send?.({ cpu: process.cpuUsage() });
  }
  if (m === 'stop') {
    if (profiler && profiling) writeFileSync(env.BENCH_CPU_PROF!, JSON.stringify((await profiler.post('Profiler.stop')).profile));
    await stop();
    process.exit(0);
  }
})());
