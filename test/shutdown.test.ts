// Graceful shutdown: a closing app answers /healthz 503, takes no new connections, finishes the job in hand (or, past
// its deadline, hands it back for another worker), and closes Redis last; the real process exits at once on a second
// SIGTERM.
import type { ChildProcess } from 'node:child_process';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { Product } from '../src/core/ports.js';
import { SandboxCatalog } from '../src/sandbox/catalog.js';
import { DATA_KEY, eventually, Harness } from './support/harness.js';
import { freePort, spawnMain } from './support/processes.js';
import { REDIS_URL } from './support/redis.js';

const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
const prefixes: string[] = [];
/** Processes a test started: one a failed test left running is killed at the end. */
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const prefix of prefixes) {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
  }
  await redis.quit();
});

/** A sandbox whose listing waits, once armed, until released: a `list` command in flight for as long as a test likes. */
class GatedCatalog extends SandboxCatalog {
  entered = false;
  private held?: Promise<void>;
  private open?: () => void;

  arm(): void {
    this.held = new Promise((r) => (this.open = r));
  }

  release(): void {
    this.open?.();
  }

  // The products a command lists: read from Service Catalog once per cache lifetime, so a fresh app's first read.
  override async listProducts(): Promise<Product[]> {
    if (this.held) {
      this.entered = true;
      await this.held;
    }
    return super.listProducts();
  }
}

async function counts(prefix: string, queue = 'run-command'): Promise<Record<string, number>> {
  const q = new Queue(queue, { connection: redis, prefix });
  try {
    return await q.getJobCounts('waiting', 'active', 'completed', 'failed');
  } finally {
    await q.close();
  }
}

describe('Scicomp.close()', () => {
  it('finishes a job in flight before closing; meanwhile /healthz says 503 and no new connection is taken', async () => {
    const catalog = new GatedCatalog();
    const h = await Harness.start({ catalog, env: { SHUTDOWN_DRAIN_MS: '400' } });
    prefixes.push(h.app.config.SCICOMP_PREFIX);
    catalog.arm();
    await h.command('USHUT', 'products');
    await eventually(() => catalog.entered, 'the products job in flight');
    let closed = false;
    const closing = h.app.close().then(() => (closed = true));
    // During the drain the server still answers, but says it is going away.
    const health = await fetch(`${h.url}/healthz`);
    expect([health.status, await health.json()]).toEqual([503, { ok: false, status: 'shutting down' }]);
    // Then it takes no new connections, while the job is still running.
    await eventually(async () => fetch(`${h.url}/healthz`).then(() => false, () => true), 'connections refused');
    expect(closed).toBe(false);
    catalog.release();
    await closing;
    // The job finished before Redis was closed: its answer is in the outbox, for the next worker to post.
    expect(await counts(h.app.config.SCICOMP_PREFIX)).toMatchObject({ active: 0, waiting: 0, completed: 1, failed: 0 });
    expect(await counts(h.app.config.SCICOMP_PREFIX, 'deliver-message')).toMatchObject({ waiting: 1 });
    expect(h.app.redis.status).toBe('end');
    await h.close();
  });

  it('writes an interaction it already acked to Redis before closing the connection', async () => {
    // No workers: the entry stays in the inbox stream for the test to find.
    const h = await Harness.start({ catalog: new SandboxCatalog(), workers: false });
    const prefix = h.app.config.SCICOMP_PREFIX;
    prefixes.push(prefix);
    // Slack is acked once the write lands (see queueThenAck); here the write is slow.
    const push = h.app.inbox.push.bind(h.app.inbox);
    h.app.inbox.push = (p) => new Promise((r) => setTimeout(r, 300)).then(() => push(p));
    const { res } = await h.command('UACKED', 'help');
    expect(res.status).toBe(200);
    await h.app.close();
    const entries = await redis.xrange(`${prefix}:inbox`, '-', '+');
    expect(JSON.stringify(entries)).toContain('UACKED');
    await h.close();
  });

  it('a command that comes while it drains is acked only once in Redis, and closing waits for that write', async () => {
    const h = await Harness.start({ catalog: new SandboxCatalog(), workers: false, env: { SHUTDOWN_DRAIN_MS: '300' } });
    const prefix = h.app.config.SCICOMP_PREFIX;
    prefixes.push(prefix);
    const push = h.app.inbox.push.bind(h.app.inbox);
    let landed = false;
    h.app.inbox.push = (p) => new Promise((r) => setTimeout(r, 500)).then(() => push(p)).then(() => void (landed = true));
    const closing = h.app.close();
    // SIGTERM came a moment ago: the server still answers during the drain, for the load balancer to notice.
    const { res } = await h.command('UDRAIN', 'help');
    expect(res.status).toBe(200);
    expect(landed).toBe(true);
    await closing;
    expect(JSON.stringify(await redis.xrange(`${prefix}:inbox`, '-', '+'))).toContain('UDRAIN');
    // And after closing, nothing more is taken.
    await expect(fetch(`${h.url}/healthz`)).rejects.toThrow();
    await h.close();
  });

  it('past its deadline hands the job back to its queue, and another worker runs it', async () => {
    const catalog = new GatedCatalog();
    const h = await Harness.start({ catalog, env: { SHUTDOWN_TIMEOUT_MS: '500' } });
    const prefix = h.app.config.SCICOMP_PREFIX;
    prefixes.push(prefix);
    catalog.arm();
    const { responseId } = await h.command('USTUCK', 'products');
    await eventually(() => catalog.entered, 'the products job in flight');
    const started = Date.now();
    await h.app.close();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await counts(prefix)).toMatchObject({ active: 0, waiting: 1, completed: 0 });
    // Another worker picks it up at once (not after a stalled-job lock expiry) and answers the user.
    const other = await Harness.start({ catalog: new SandboxCatalog(), prefix, slack: h.slack });
    try {
      await eventually(() => h.replies(responseId).length > 0, 'answer from the other worker', 5000);
    } finally {
      catalog.release();
      await other.close();
      await h.close();
    }
  });
});

/** `npm start` against the sandbox and real Redis; resolves once /healthz answers 200. */
async function startMain(env: Record<string, string>, args: string[] = []) {
  const port = await freePort();
  const prefix = `shut${process.pid}${Date.now()}`;
  prefixes.push(prefix);
  const { child, exited, output } = spawnMain({ SCICOMP_CONSOLE: 'false', PORT: String(port), SCICOMP_PREFIX: prefix, ...env }, { args });
  children.push(child);
  const health = () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status, () => 0);
  let gone = false;
  void exited.then(() => (gone = true));
  await eventually(async () => {
    if (gone) throw new Error(`scicomp exited before listening: ${output().slice(0, 500)}`);
    return (await health()) === 200;
  }, 'scicomp listening', 20_000);
  return { child, exited, health, output, url: `http://127.0.0.1:${port}` };
}

describe('the process (src/main.ts)', () => {
  it('on SIGTERM finishes and exits 0; its log says so in JSON lines', async () => {
    const p = await startMain({});
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    const lines = p.output().trim().split('\n').map((l) => JSON.parse(l) as { msg: string });
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['shutting down: finishing the work in hand (a second signal exits at once)', 'shut down']));
  });

  it('a worker process (--role=worker) serves its own /metrics and /healthz, and nothing else', async () => {
    // A process of one role needs the data key the others share.
    const p = await startMain({ SCICOMP_DATA_KEY: DATA_KEY }, ['--role=worker']);
    try {
      const metrics = await fetch(`${p.url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('scicomp_job_duration_seconds');
      expect((await fetch(`${p.url}/slack/events`, { method: 'POST', body: '' })).status).toBe(404);
    } finally {
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
    }
  });

  it('a second SIGTERM exits at once, without waiting for the first to finish', async () => {
    // A long drain: the first SIGTERM alone would keep the process up for a minute.
    const p = await startMain({ SHUTDOWN_DRAIN_MS: '60000' });
    p.child.kill('SIGTERM');
    await eventually(async () => (await p.health()) === 503, '/healthz 503 while shutting down');
    const second = Date.now();
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(143);
    expect(Date.now() - second).toBeLessThan(2000);
    expect(p.output()).toContain('second signal: exiting at once');
  });
});
