// The operators' queue dashboard (Bull Board at /admin/queues) through the real server: absent without ADMIN_TOKEN,
// behind it otherwise (bearer, or the browser's basic-auth prompt), and read-only unless ADMIN_QUEUES_WRITE is set.
import { Worker } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { Harness, stopHarness } from '../support/harness.js';

const ADMIN = 'admin-token-0c9d8e7f6a5b4c3d';
const bearer = { authorization: `Bearer ${ADMIN}` };
const basic = (password: string) => ({ authorization: `Basic ${Buffer.from(`ops:${password}`).toString('base64')}` });

let h: Harness | undefined;

afterEach(async () => {
  await stopHarness(h);
  h = undefined;
});

async function start(env: Record<string, string> = {}): Promise<Harness> {
  h = await Harness.start({ catalog: new SandboxCatalog(), workers: false, env });
  return h;
}

/** A failed job to act on, as an operator would retry one (taken and failed by hand, as BullMQ's manual processing does). */
async function failedJob(app: Harness['app']): Promise<void> {
  await app.queues.carry.add('carry', { id: 'r1' }, { jobId: 'carry-board-test' });
  const connection = app.redis.duplicate();
  const worker = new Worker('carry-out', null, { connection, prefix: app.config.SCICOMP_PREFIX });
  try {
    const job = (await worker.getNextJob('board-test'))!;
    await job.moveToFailed(new Error('for the board'), 'board-test', false);
  } finally {
    await worker.close();
    await connection.quit();
  }
}

describe('/admin/queues', () => {
  it('does not exist without ADMIN_TOKEN (and /metrics is open without METRICS_TOKEN)', async () => {
    const { url } = await start();
    expect((await fetch(`${url}/admin/queues`, { headers: bearer })).status).toBe(404);
    expect((await fetch(`${url}/admin/queues/api/queues`, { headers: bearer })).status).toBe(404);
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('scicomp_queue_jobs');
  });

  it('is refused without the token or with a wrong one, and asks a browser for it', async () => {
    const { url } = await start({ ADMIN_TOKEN: ADMIN });
    for (const headers of [{}, { authorization: 'Bearer wrong-token-0000000000' }, basic('wrong'), { authorization: ADMIN }]) {
      for (const path of ['/admin/queues', '/admin/queues/api/queues', '/admin/queues/static/images/logo.svg']) {
        const res = await fetch(`${url}${path}`, { headers });
        expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
      }
    }
    const res = await fetch(`${url}/admin/queues`);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="scicomp queues"/);
  });

  it('with the token (bearer or basic-auth password) shows every queue, read-only', async () => {
    const { url, app } = await start({ ADMIN_TOKEN: ADMIN });
    await failedJob(app);
    const page = await fetch(`${url}/admin/queues`, { headers: basic(ADMIN) });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('scicomp queues');
    const api = await fetch(`${url}/admin/queues/api/queues`, { headers: bearer });
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: { name: string; readOnlyMode: boolean }[] };
    expect(body.queues.map((q) => q.name).sort()).toEqual(app.queues.all().map((q) => q.name).sort());
    expect(body.queues.every((q) => q.readOnlyMode)).toBe(true);
    // Retrying, cleaning or emptying a queue is refused, and the failed job stays failed.
    for (const path of ['/api/queues/carry-out/retry/failed', '/api/queues/carry-out/clean/failed', '/api/queues/carry-out/empty', '/api/queues/carry-out/pause']) {
      expect((await fetch(`${url}/admin/queues${path}`, { method: 'PUT', headers: bearer })).status, path).toBe(405);
    }
    expect(await app.queues.carry.getJobCounts('failed')).toEqual({ failed: 1 });
    expect(await app.queues.carry.isPaused()).toBe(false);
  });

  it('with ADMIN_QUEUES_WRITE=true an operator can retry failed jobs', async () => {
    const { url, app } = await start({ ADMIN_TOKEN: ADMIN, ADMIN_QUEUES_WRITE: 'true' });
    await failedJob(app);
    const res = await fetch(`${url}/admin/queues/api/queues/carry-out/retry/failed`, { method: 'PUT', headers: bearer });
    expect(res.status).toBe(200);
    expect(await app.queues.carry.getJobCounts('failed', 'waiting')).toEqual({ failed: 0, waiting: 1 });
  });

  it('refuses a token too short to be one', async () => {
    await expect(start({ ADMIN_TOKEN: 'short' })).rejects.toThrow('invalid configuration: ADMIN_TOKEN: must be at least 16 characters');
  });
});
