// What every fault scenario stands on: a redis-server of the suite's own, real scicomp processes (src/main.ts in sandbox
// mode) that can be stopped, killed and restarted, a recording Slack, and the figures a scenario reports.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { DATA_KEY, SIGNING_SECRET } from '../test/support/harness.js';
import { freePort, spawnMain, type MainProcess } from '../test/support/processes.js';
import { sign, slashCommandBody } from '../test/support/signed.js';
import type { SlackApi } from '../test/support/slack-api.js';

export { freePort };

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

/** Waits, to a deadline, until `check` holds. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Waits for `check` as `until` does, but only says whether it held: the figures tell what did not. */
export async function settled(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  return until(check, '', timeoutMs).then(
    () => true,
    () => false,
  );
}

/** A redis-server of the suite's own, on its own port, with nothing kept on disk: a kill loses what it held. */
export class OwnRedis {
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
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }
}

export type Role = 'all' | 'web' | 'worker';

/** Every process a scenario started: the run ends them all whatever the scenario did, and FAULTS_LOGS keeps their output. */
const started: { role: Role; process: Process }[] = [];

/** One scicomp process (src/main.ts, as `npm start` runs it) of a role, on its own port; it can be started again. */
export class Process {
  private main?: MainProcess;
  /** What its earlier runs printed. */
  private before = '';
  exited?: Promise<number | null>;
  url = '';
  port = 0;

  constructor(private readonly env: Record<string, string>) {}

  /** Everything it printed, over every run. */
  get output(): string {
    return this.before + (this.main?.output() ?? '');
  }

  /** Starts it and waits until its /healthz answers 200; `port` to take a given one (a web process restarted in place). */
  async start(role: Role, port?: number): Promise<this> {
    this.port = port ?? (await freePort());
    this.url = `http://127.0.0.1:${this.port}`;
    if (this.main) this.before = `${this.output}\n--- started again ---\n`;
    if (!started.some((s) => s.process === this)) started.push({ role, process: this });
    const main = spawnMain({ PORT: String(this.port), ...this.env }, { args: [`--role=${role}`] });
    this.main = main;
    this.exited = main.exited;
    await until(async () => {
      if (main.child.exitCode !== null) throw new Error(`scicomp --role=${role} exited: ${main.output().slice(0, 400)}`);
      return (await fetch(`${this.url}/healthz`).then((r) => r.status, () => 0)) === 200;
    }, `scicomp --role=${role} up`, 30_000);
    return this;
  }

  get pid(): number | undefined {
    return this.main?.child.pid;
  }

  /** Its resident memory now, in MB (Linux's /proc). */
  rssMb(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  }

  signal(s: NodeJS.Signals): void {
    this.main?.child.kill(s);
  }

  /** kill -9: no shutdown, no hand-back, nothing flushed; waits for it to be gone. */
  kill(): Promise<void> {
    return this.end('SIGKILL');
  }

  /** SIGTERM, as an orchestrator stops it; waits for it to exit. */
  stop(): Promise<void> {
    return this.end('SIGTERM');
  }

  private async end(signal: NodeJS.Signals): Promise<void> {
    const child = this.main?.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await this.exited;
  }
}

/** Ends every process still running (after a scenario, whatever it did); with FAULTS_LOGS=<dir>, writes their output there. */
export async function stopAll(scenario: string): Promise<void> {
  await Promise.all(started.map(({ process: p }) => p.kill()));
  const dir = process.env.FAULTS_LOGS;
  if (dir) {
    mkdirSync(dir, { recursive: true });
    const slug = scenario.toLowerCase().replace(/[^a-z0-9]+/g, '-');
    started.forEach(({ role, process: p }, i) => writeFileSync(join(dir, `${slug}.${i}-${role}.log`), p.output));
  }
  started.length = 0;
}

/** What a scenario reports, and whether it held. */
export interface Figures {
  sent: number;
  acknowledged: number;
  delivered: number;
  duplicated: number;
  lost: number;
  outOfOrder: number;
  /** Figures of the scenario's own (refused, orphaned, slow answers…), printed after the common ones. */
  more?: Record<string, number | string>;
}

export interface Outcome {
  figures: Figures;
  passed: boolean;
}

export interface Scenario {
  name: string;
  /** Runs in CI (`npm run faults -- --fast`): under about half a minute. */
  fast: boolean;
  run(redis: OwnRedis, slack: SlackApi): Promise<Outcome>;
}

/** The environment every scicomp process of a scenario shares: sandbox mode on the suite's Redis and recording Slack. */
export function baseEnv(redis: OwnRedis, slack: SlackApi, prefix: string): Record<string, string> {
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
    SANDBOX_PROVISION_MS: '300',
    LOG_LEVEL: process.env.FAULTS_LOG_LEVEL ?? 'warn',
  };
}

export type Answer = 'acked' | 'refused' | 'failed';

/**
 * Sends one signed slash command `/scicomp <text>` as `userId`, its answers to the response URL named `id`; says
 * whether it was acked (an empty 200), refused in time (Redis away), or not answered.
 */
export async function command(url: string, slack: SlackApi, id: string, text = 'help', userId = 'UFAULT'): Promise<Answer> {
  const body = slashCommandBody({ userId, text, responseUrl: slack.responseUrl(id), triggerId: `${id}.${Date.now()}` });
  try {
    const res = await fetch(`${url}/slack/events`, { method: 'POST', body, headers: sign(SIGNING_SECRET, body), signal: AbortSignal.timeout(3000) });
    const answer = await res.text();
    if (res.status !== 200) return 'failed';
    return answer === '' ? 'acked' : answer.includes('could not take that') ? 'refused' : 'failed';
  } catch {
    return 'failed';
  }
}


/** The Slack user of person `i` of a scenario (U + letters, as Slack's ids are), and their email as the recorder gives it. */
export function person(tag: string, i: number): { userId: string; email: string; username: string } {
  const userId = `U${tag.toUpperCase()}${String.fromCharCode(65 + Math.floor(i / 26))}${String.fromCharCode(65 + (i % 26))}`;
  const username = userId.toLowerCase();
  return { userId, email: `${username}@synapse.org`, username };
}

/**
 * Launches one "EC2 Linux" called `name` for each person through `url`, and waits until each owner has been told it is
 * ready (which also gives each owner their alert topic). Returns the products' full names (`<username>-<name>`).
 */
export async function launchFor(url: string | string[], slack: SlackApi, people: { userId: string; username: string }[], name: string, timeoutMs = 30_000): Promise<string[]> {
  const urls = Array.isArray(url) ? url : [url];
  const answers = await Promise.all(people.map((p, i) => command(urls[i % urls.length]!, slack, `launch-${p.userId}-${name}`, `launch "EC2 Linux" ${name}`, p.userId)));
  if (answers.some((a) => a !== 'acked')) throw new Error(`a launch was not acked: ${answers.join(', ')}`);
  const products = people.map((p) => `${p.username}-${name}`);
  await until(() => people.every((p, i) => slack.dms(p.userId).some((m) => m.includes(`${products[i]} is ready`))), `${products.length} launches ready`, timeoutMs);
  return products;
}
