// Slash commands across a SIGTERM and across a Redis outage: nothing acknowledged is lost, nothing refused runs.
import type { SlackApi } from '../../test/support/slack-api.js';
import { baseEnv, command, Process, settled, until, type Answer, type Figures, type OwnRedis, type Scenario } from '../support.js';

/** Each command's one answer goes to its own response URL: there is no pair to reorder here. */
function tally(slack: SlackApi, results: Map<string, Answer>): Figures & { ranAfterRefusal: number } {
  const replies = new Map<string, number>();
  for (const c of slack.of('response_url')) replies.set(String(c.body.responseId), (replies.get(String(c.body.responseId)) ?? 0) + 1);
  const acked = [...results].filter(([, r]) => r === 'acked').map(([id]) => id);
  const refused = [...results].filter(([, r]) => r === 'refused').map(([id]) => id);
  const ranAfterRefusal = refused.filter((id) => replies.has(id)).length;
  return {
    sent: results.size,
    acknowledged: acked.length,
    delivered: [...replies.keys()].filter((id) => results.has(id)).length,
    duplicated: [...replies.values()].filter((n) => n > 1).length,
    lost: acked.filter((id) => !replies.has(id)).length,
    outOfOrder: 0,
    ranAfterRefusal,
    more: { refused: refused.length, 'ran after refusal': ranAfterRefusal },
  };
}

/** SIGTERM in the middle of a burst of slash commands: every command acked is carried out, once. */
async function sigtermMidBurst(redis: OwnRedis, slack: SlackApi) {
  const env = { ...baseEnv(redis, slack, 'faults-sigterm'), SHUTDOWN_DRAIN_MS: '300' };
  const web = await new Process(env).start('all');
  const results = new Map<string, Answer>();
  const sends: Promise<void>[] = [];
  for (let i = 0; i < 300; i++) {
    const id = `sigterm-${i}`;
    sends.push(command(web.url, slack, id).then((r) => void results.set(id, r)));
    if (i === 150) web.signal('SIGTERM');
    await new Promise((r) => setTimeout(r, 2));
  }
  await Promise.all(sends);
  await web.exited;
  // Another process takes over what the first left queued.
  const next = await new Process(env).start('all');
  try {
    await settled(() => tally(slack, results).lost === 0, 20_000);
  } finally {
    await next.stop();
  }
  const figures = tally(slack, results);
  return { figures, passed: figures.lost === 0 && figures.duplicated === 0 && figures.acknowledged > 0 };
}

/** Redis killed: commands are told "not taken" within Slack's 3 s and never run; once it is back, they are taken again. */
async function redisOutage(redis: OwnRedis, slack: SlackApi) {
  const env = baseEnv(redis, slack, 'faults-outage');
  const web = await new Process(env).start('all');
  const results = new Map<string, Answer>();
  try {
    await redis.kill();
    await Promise.all(Array.from({ length: 20 }, (_, i) => command(web.url, slack, `outage-down-${i}`).then((r) => void results.set(`outage-down-${i}`, r))));
    await redis.start();
    // Back: the process reconnects on its own.
    await until(async () => (await fetch(`${web.url}/healthz`).then((r) => r.status, () => 0)) === 200, 'healthz 200 after the restart', 20_000);
    await Promise.all(Array.from({ length: 20 }, (_, i) => command(web.url, slack, `outage-up-${i}`).then((r) => void results.set(`outage-up-${i}`, r))));
    // A late write of a refused command would run by now, alongside the commands sent after it.
    await settled(() => tally(slack, results).lost === 0, 20_000);
  } finally {
    await web.stop();
  }
  const figures = tally(slack, results);
  const downAcked = [...results].filter(([id, r]) => id.startsWith('outage-down') && r === 'acked').length;
  return { figures, passed: figures.lost === 0 && figures.ranAfterRefusal === 0 && figures.duplicated === 0 && downAcked === 0 && figures.acknowledged > 0 };
}

export const commandScenarios: Scenario[] = [
  { name: 'SIGTERM mid-burst of slash commands', fast: true, run: sigtermMidBurst },
  { name: 'Redis killed and restarted under slash commands', fast: true, run: redisOutage },
];
