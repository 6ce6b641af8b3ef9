// Sandbox mode across real processes: `src/main.ts --role=web` and `--role=worker` on one Redis share one sandbox account,
// so a launch sent to the web process finishes through the worker, the sandbox SNS confirms the bot's subscription, an
// idle alarm published to the web process reaches the owner's DM, and a worker started afresh carries on.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisSandboxTopics } from '../../src/sandbox/redis-alerts.js';
import { DATA_KEY, eventually, SIGNING_SECRET } from '../support/harness.js';
import { freePort, spawnMain, type MainProcess } from '../support/processes.js';
import { REDIS_URL } from '../support/redis.js';
import { sign, slashCommandBody } from '../support/signed.js';
import { SlackApi } from '../support/slack-api.js';

const prefix = `tsp${randomBytes(5).toString('hex')}`;
const redis = new Redis(REDIS_URL);
const children: ChildProcess[] = [];
let slack: SlackApi | undefined;

afterAll(async () => {
  const exits = children.filter((child) => child.exitCode === null).map((child) => {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    return exited;
  });
  await Promise.all(exits);
  await slack?.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

function startScicomp(role: 'web' | 'worker', env: Record<string, string>): MainProcess {
  const p = spawnMain({ SCICOMP_CONSOLE: 'false', LOG_LEVEL: 'warn', ...env }, { args: [`--role=${role}`] });
  children.push(p.child);
  return p;
}

describe('sandbox mode in separate web and worker processes', () => {
  it('launches through the web process, provisions through the worker, delivers the sandbox SNS’s messages, survives a new worker', async () => {
    let logs = () => '';
    try {
      await scenario((l) => (logs = l));
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${logs()}`);
    }
  }, 60_000);
});

async function scenario(showing: (logs: () => string) => void): Promise<void> {
  slack = await new SlackApi().start();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    PORT: String(port),
    REDIS_URL,
    SCICOMP_PREFIX: prefix,
    SCICOMP_AWS: 'sandbox',
    SCICOMP_DATA_KEY: DATA_KEY,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_BOT_TOKEN: 'xoxb-test-token',
    SLACK_API_URL: slack.apiUrl,
    SCICOMP_PUBLIC_URL: url,
    SANDBOX_PROVISION_MS: '300',
  };
  // A worker serves its own /metrics and /healthz: on a port of its own.
  const workerEnv = { ...env, PORT: String(await freePort()) };
  const web = startScicomp('web', env);
  const worker = startScicomp('worker', workerEnv);
  showing(() => `web:\n${web.output()}\nworker:\n${worker.output()}`);
  await eventually(async () => (await fetch(`${url}/healthz`).then((r) => r.status, () => 0)) === 200, 'the web process', 20_000);

  const body = slashCommandBody({ userId: 'UALICE', text: 'launch "EC2 Linux" split', responseUrl: slack.responseUrl('split') });
  expect((await fetch(`${url}/slack/events`, { method: 'POST', body, headers: sign(SIGNING_SECRET, body) })).status).toBe(200);
  const dms = () => slack!.calls.filter((c) => ['chat.postMessage', 'chat.update'].includes(c.method) && c.body.channel === 'DUALICE').map((c) => JSON.stringify(c.body));
  await eventually(() => dms().some((m) => m.includes('ualice-split is ready')), 'the ready DM', 20_000);

  // The worker subscribed the web process's /sns; the sandbox SNS sent it a confirmation, and the bot confirmed it.
  const topics = new RedisSandboxTopics(redis, prefix);
  const topicArn = 'arn:aws:sns:us-east-1:111122223333:scicomp-user-ualice-synapse-org';
  const subscription = await eventually(async () => (await topics.topic(topicArn))?.subscriptions.find((s) => s.protocol === 'http' && s.confirmed), 'the confirmed subscription', 20_000);
  expect(subscription.endpoint).toBe(`${url}/sns`);

  const published = await eventually(async () => {
    const res = await fetch(`${url}/sandbox/publish`, { method: 'POST', body: JSON.stringify({ kind: 'alarm', product: 'split', email: 'ualice@synapse.org', alarm: 'cpu-idle' }) });
    return res.status === 200 ? res : undefined;
  }, 'a published idle alarm');
  expect(await published.json()).toMatchObject({ ok: true, topicArn });
  const ping = await eventually(() => dms().find((m) => m.includes('ualice-split: is idle')), 'the idle ping', 20_000);
  for (const id of ['idle-stop', 'idle-terminate', 'idle-snooze', 'idle-keep']) expect(ping).toContain(`scicomp:${id}`);

  // A new worker in place of the old one finds the product where the old one left it.
  const instance = /(i-[0-9a-f]{17})/.exec(dms().find((m) => m.includes('ualice-split is ready'))!)![1]!;
  worker.child.kill('SIGTERM');
  await new Promise((r) => (worker.child.exitCode !== null ? r(undefined) : worker.child.once('exit', r)));
  const again = startScicomp('worker', { ...env, PORT: String(await freePort()) });
  showing(() => `web:\n${web.output()}\nworker:\n${worker.output()}\nnew worker:\n${again.output()}`);
  const status = slashCommandBody({ userId: 'UALICE', text: 'status split', responseUrl: slack.responseUrl('status') });
  expect((await fetch(`${url}/slack/events`, { method: 'POST', body: status, headers: sign(SIGNING_SECRET, status) })).status).toBe(200);
  const answer = await eventually(() => slack!.of('response_url').find((c) => c.body.responseId === 'status'), 'the status answer from the new worker', 20_000);
  expect(JSON.stringify(answer.body)).toContain(instance);
}
