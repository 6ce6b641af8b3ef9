// Ack latency of /scicomp under 200 concurrent signed requests, beside a bare Bolt app that acks the same command with no work.
import type { AddressInfo } from 'node:net';
import { App, ExpressReceiver, LogLevel } from '@slack/bolt';
import { SandboxCatalog } from '../src/sandbox/catalog.js';
import { dropPrefix, Harness, SIGNING_SECRET } from '../test/support/harness.js';
import { sign, slashCommandBody } from '../test/support/signed.js';

const CONCURRENCY = 200;
const ROUNDS = 10;

export interface Percentiles {
  p50: number;
  p99: number;
}

export function percentiles(samples: number[]): Percentiles {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { p50: at(0.5), p99: at(0.99) };
}

async function bareBolt(): Promise<{ url: string; close: () => Promise<void> }> {
  const receiver = new ExpressReceiver({ signingSecret: SIGNING_SECRET, endpoints: '/slack/events', logLevel: LogLevel.ERROR });
  const app = new App({ receiver, authorize: async () => ({ botToken: 'xoxb-bare' }), logLevel: LogLevel.ERROR });
  app.command('/scicomp', async ({ ack }) => ack());
  const server = await receiver.start(0);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => receiver.stop() };
}

async function load(url: string, text: string, responseUrl: string): Promise<number[]> {
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const requests = Array.from({ length: CONCURRENCY }, (_, i) => {
      const body = slashCommandBody({ userId: `UBENCH${i % 20}`, text, responseUrl, triggerId: `${round}.${i}.${Math.random()}` });
      return { body, headers: sign(SIGNING_SECRET, body) };
    });
    const results = await Promise.all(
      requests.map(async ({ body, headers }) => {
        const t0 = performance.now();
        const res = await fetch(`${url}/slack/events`, { method: 'POST', body, headers });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
        return performance.now() - t0;
      }),
    );
    samples.push(...results);
  }
  return samples;
}

export async function benchAck(): Promise<string[]> {
  const h = await Harness.start({ catalog: new SandboxCatalog(), workers: false, prefix: `bench${Date.now()}` });
  const bare = await bareBolt();
  const lines: string[] = [];
  try {
    const responseUrl = h.slack.responseUrl('bench');
    for (const text of ['list', 'launch "EC2 Linux" bench InstanceType=t3.large']) {
      // Warm both up, then alternate so neither gets a cooler machine.
      await load(bare.url, text, responseUrl);
      await load(h.url, text, responseUrl);
      const base = percentiles(await load(bare.url, text, responseUrl));
      const ours = percentiles(await load(h.url, text, responseUrl));
      const ratio = ours.p99 / base.p99;
      lines.push(
        `ack /scicomp ${text.split(' ')[0]!.padEnd(7)} n=${CONCURRENCY * ROUNDS} c=${CONCURRENCY}  scicomp p50 ${ours.p50.toFixed(1)} ms p99 ${ours.p99.toFixed(1)} ms | bare Bolt p50 ${base.p50.toFixed(1)} ms p99 ${base.p99.toFixed(1)} ms | p99 ratio ${ratio.toFixed(2)} (target ≤ 1.2) ${ratio <= 1.2 ? 'OK' : 'OVER'}`,
      );
    }
  } finally {
    await bare.close();
    await dropPrefix(h.app);
    await h.close();
  }
  return lines;
}
