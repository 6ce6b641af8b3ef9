// p99 of POST /api/messages under 200 concurrent requests (a message, and an adaptiveCard/action invoke), scicomp's Teams
// channel beside a bare CloudAdapter bot, both checking every token against the same offline channel issuer.
import type { ChildProcess } from 'node:child_process';
import setupTls from '../test/support/teams/tls-setup.js';
import { adaptiveCardAction, person, personalConversation, personalMessage, type TeamsActivity } from '../test/support/teams/activities.js';
import { TeamsCloud } from '../test/support/teams/cloud.js';
import { teamsEnv } from '../test/support/teams/env.js';
import { child, percentiles, stopServer } from './ack.js';

const CONCURRENCY = 200;
const ROUNDS = 30;

async function server(kind: 'teams-bare' | 'teams', env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const { child: proc, first } = await child<{ port: number }>([kind], env);
  return { url: `http://127.0.0.1:${first.port}/api/messages`, child: proc };
}

/** One burst of CONCURRENCY activities at once, each with a genuine channel token; each request's latency. */
async function burst(url: string, activities: TeamsActivity[], authorization: string): Promise<number[]> {
  return Promise.all(
    activities.map(async (activity) => {
      const body = JSON.stringify({ ...activity, id: `${activity.id}${Math.random().toString(36).slice(2)}` });
      const t0 = performance.now();
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      return performance.now() - t0;
    }),
  );
}

export async function benchTeams(): Promise<string[]> {
  // The offline issuer and token endpoint speak TLS with a CA made here; the servers trust it from their start.
  const cleanup = setupTls();
  const cloud = await TeamsCloud.start();
  const env = { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS!, BENCH_TEAMS_ENV: JSON.stringify(teamsEnv(cloud)), BENCH_TEAMS_SETTINGS: JSON.stringify(cloud.settings()) };
  const bare = await server('teams-bare', env);
  const ours = await server('teams', env);
  const lines: string[] = [];
  try {
    // Each person writes from their one 1:1 chat with the bot, as in Teams, where its conversation id never changes.
    const people = Array.from({ length: 20 }, (_, i) => ({ person: person(`Bench Person${i}`), chat: personalConversation(cloud.context) }));
    const anyone = () => people[Math.floor(Math.random() * people.length)]!;
    // Teams reuses a channel token for its lifetime: one genuine token, checked on every request.
    const authorization = cloud.issuer.authorization({ appId: cloud.app.appId, serviceUrl: cloud.connector.serviceUrl });
    const kinds: [string, () => TeamsActivity][] = [
      ['message', () => (({ person: p, chat }) => personalMessage(cloud.context, p, 'list', { conversationId: chat.id }))(anyone())],
      ['invoke', () => (({ person: p, chat }) => adaptiveCardAction(cloud.context, p, { verb: 'confirm', data: { value: 'bench' } }, { replyToId: '1:bench', conversation: chat }))(anyone())],
    ];
    for (const [name, make] of kinds) {
      const bareSamples: number[] = [];
      const ourSamples: number[] = [];
      for (let round = -5; round < ROUNDS; round++) {
        const activities = Array.from({ length: CONCURRENCY }, make);
        const bareFirst = round % 2 === 0;
        const first = await burst(bareFirst ? bare.url : ours.url, activities, authorization);
        const second = await burst(bareFirst ? ours.url : bare.url, activities, authorization);
        const [a, b] = bareFirst ? [first, second] : [second, first];
        if (round >= 0) {
          bareSamples.push(...a);
          ourSamples.push(...b);
        }
      }
      const base = percentiles(bareSamples);
      const mine = percentiles(ourSamples);
      const ratio = mine.p99 / base.p99;
      lines.push(
        `teams POST /api/messages ${name.padEnd(7)} n=${CONCURRENCY * ROUNDS} c=${CONCURRENCY}  scicomp p50 ${mine.p50.toFixed(1)} ms p99 ${mine.p99.toFixed(1)} ms | bare CloudAdapter p50 ${base.p50.toFixed(1)} ms p99 ${base.p99.toFixed(1)} ms | p99 ratio ${ratio.toFixed(2)} (target ≤ 1.2) ${ratio <= 1.2 ? 'OK' : 'OVER'}`,
      );
    }
  } finally {
    await stopServer(bare.child);
    await stopServer(ours.child);
    await cloud.close();
    cleanup();
  }
  return lines;
}
