// `npm run faults`: real scicomp processes (src/main.ts, sandbox mode) on a Redis of their own that the suite starts,
// kills and restarts, with a recording Slack; each scenario counts what was sent, acknowledged, delivered, duplicated,
// lost and out of order, and the run ends with `faults: N passed, M failed` (exit code 1 on any failure).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA_KEY, SIGNING_SECRET } from '../test/support/harness.js';
import { sign, slashCommandBody } from '../test/support/signed.js';
import { SlackApi } from '../test/support/slack-api.js';

const MAIN = new URL('../src/main.ts', import.meta.url).pathname;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Whether something accepts TCP connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A redis-server of the suite's own, on its own port, with nothing kept on disk: a kill loses what it held. */
class OwnRedis {
  private proc?: ChildProcess;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await until(() => listening(this.port), 'redis-server up', 5000);
  }

  async kill(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }
}

/** One scicomp process (src/main.ts) of a role, on its own port. */
class Process {
  private proc?: ChildProcess;
  output = '';
  exited?: Promise<number | null>;
  url = '';

  constructor(private readonly env: Record<string, string>) {}

  async start(role: 'all' | 'web' | 'worker'): Promise<this> {
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    this.proc = spawn(process.execPath, ['--import', 'tsx', MAIN, `--role=${role}`], {
      env: { PATH: process.env.PATH, HOME: mkdtempSync(join(tmpdir(), 'scicomp-faults-')), NODE_NO_WARNINGS: '1', PORT: String(port), ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stdout!.on('data', (d) => (this.output += d));
    this.proc.stderr!.on('data', (d) => (this.output += d));
    const proc = this.proc;
    this.exited = new Promise((r) => proc.once('exit', (code) => r(code)));
    await until(async () => {
      if (proc.exitCode !== null) throw new Error(`scicomp --role=${role} exited: ${this.output.slice(0, 400)}`);
      return (await fetch(`${this.url}/healthz`).then((r) => r.status, () => 0)) === 200;
    }, `scicomp --role=${role} up`, 30_000);
    return this;
  }

  signal(s: NodeJS.Signals): void {
    this.proc?.kill(s);
  }

  async stop(): Promise<void> {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    await this.exited;
  }
}

interface Figures {
  sent: number;
  acknowledged: number;
  /** Answered in time that nothing was done (Redis away): not acknowledged, must never run. */
  refused: number;
  delivered: number;
  duplicated: number;
  lost: number;
  outOfOrder: number;
  /** Refused, yet run anyway. */
  ranAfterRefusal: number;
}

interface Outcome {
  figures: Figures;
  passed: boolean;
}

/** Sends one signed `/scicomp help`; says whether it was acked (an empty 200), refused in time, or not answered. */
async function command(url: string, slack: SlackApi, id: string): Promise<'acked' | 'refused' | 'failed'> {
  const body = slashCommandBody({ userId: 'UFAULT', text: 'help', responseUrl: slack.responseUrl(id), triggerId: `${id}.${Date.now()}` });
  try {
    const res = await fetch(`${url}/slack/events`, { method: 'POST', body, headers: sign(SIGNING_SECRET, body), signal: AbortSignal.timeout(3000) });
    const text = await res.text();
    if (res.status !== 200) return 'failed';
    return text === '' ? 'acked' : text.includes('could not take that') ? 'refused' : 'failed';
  } catch {
    return 'failed';
  }
}

function tally(slack: SlackApi, results: Map<string, 'acked' | 'refused' | 'failed'>): Figures {
  const replies = new Map<string, number>();
  for (const c of slack.of('response_url')) replies.set(String(c.body.responseId), (replies.get(String(c.body.responseId)) ?? 0) + 1);
  const acked = [...results].filter(([, r]) => r === 'acked').map(([id]) => id);
  const refused = [...results].filter(([, r]) => r === 'refused').map(([id]) => id);
  return {
    sent: results.size,
    acknowledged: acked.length,
    refused: refused.length,
    delivered: [...replies.keys()].filter((id) => results.has(id)).length,
    duplicated: [...replies.values()].filter((n) => n > 1).length,
    lost: acked.filter((id) => !replies.has(id)).length,
    // Each command's one answer goes to its own response URL: there is no pair to reorder here.
    outOfOrder: 0,
    ranAfterRefusal: refused.filter((id) => replies.has(id)).length,
  };
}

function baseEnv(redis: OwnRedis, slack: SlackApi, prefix: string): Record<string, string> {
  return {
    REDIS_URL: redis.url,
    SCICOMP_PREFIX: prefix,
    SCICOMP_AWS: 'sandbox',
    SCICOMP_DATA_KEY: DATA_KEY,
    SCICOMP_CONSOLE: 'false',
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_BOT_TOKEN: 'xoxb-faults',
    SLACK_API_URL: slack.apiUrl,
    SLACK_CHANNEL_INTERVAL_MS: '20',
    LOG_LEVEL: 'warn',
  };
}

/** SIGTERM in the middle of a burst of slash commands: every command acked is carried out, once. */
async function sigtermMidBurst(redis: OwnRedis, slack: SlackApi): Promise<Outcome> {
  const env = { ...baseEnv(redis, slack, 'faults-sigterm'), SHUTDOWN_DRAIN_MS: '300' };
  const web = await new Process(env).start('all');
  const results = new Map<string, 'acked' | 'refused' | 'failed'>();
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
    await until(() => tally(slack, results).lost === 0, 'every acked command answered', 20_000).catch(() => undefined);
  } finally {
    await next.stop();
  }
  const figures = tally(slack, results);
  return { figures, passed: figures.lost === 0 && figures.duplicated === 0 && figures.acknowledged > 0 };
}

/** Redis killed: commands are told "not taken" within Slack's 3 s and never run; once it is back, they are taken again. */
async function redisOutage(redis: OwnRedis, slack: SlackApi): Promise<Outcome> {
  const env = baseEnv(redis, slack, 'faults-outage');
  const web = await new Process(env).start('all');
  const results = new Map<string, 'acked' | 'refused' | 'failed'>();
  try {
    await redis.kill();
    await Promise.all(Array.from({ length: 20 }, (_, i) => command(web.url, slack, `outage-down-${i}`).then((r) => void results.set(`outage-down-${i}`, r))));
    await redis.start();
    // Back: the process reconnects on its own.
    await until(async () => (await fetch(`${web.url}/healthz`).then((r) => r.status, () => 0)) === 200, 'healthz 200 after the restart', 20_000);
    await Promise.all(Array.from({ length: 20 }, (_, i) => command(web.url, slack, `outage-up-${i}`).then((r) => void results.set(`outage-up-${i}`, r))));
    await until(() => tally(slack, results).lost === 0, 'every acked command answered', 20_000).catch(() => undefined);
    // A late write would have run by now, alongside the commands sent after it.
  } finally {
    await web.stop();
  }
  const figures = tally(slack, results);
  const downAcked = [...results].filter(([id, r]) => id.startsWith('outage-down') && r === 'acked').length;
  return { figures, passed: figures.lost === 0 && figures.ranAfterRefusal === 0 && figures.duplicated === 0 && downAcked === 0 && figures.acknowledged > 0 };
}

const SCENARIOS: [string, (redis: OwnRedis, slack: SlackApi) => Promise<Outcome>][] = [
  ['SIGTERM mid-burst of slash commands', sigtermMidBurst],
  ['Redis killed and restarted under slash commands', redisOutage],
];

let passed = 0;
let failed = 0;
for (const [name, scenario] of SCENARIOS) {
  const redis = new OwnRedis(await freePort());
  const slack = await new SlackApi().start();
  try {
    await redis.start();
    const { figures: f, passed: ok } = await scenario(redis, slack);
    process.stdout.write(
      `${ok ? 'PASS' : 'FAIL'} ${name}: sent ${f.sent} / acknowledged ${f.acknowledged} / refused ${f.refused} / delivered ${f.delivered} / duplicated ${f.duplicated} / lost ${f.lost} / out of order ${f.outOfOrder} / ran after refusal ${f.ranAfterRefusal}\n`,
    );
    if (ok) passed++;
    else failed++;
  } catch (err) {
    process.stdout.write(`FAIL ${name}: ${(err as Error).message}\n`);
    failed++;
  } finally {
    await redis.kill();
    await slack.close();
  }
}
process.stdout.write(`faults: ${passed} passed, ${failed} failed\n`);
process.exit(failed ? 1 : 0);
