// Start-up through the real entry point (`npm start` runs src/main.ts): bad settings stop it with one line naming them,
// and with no credentials it runs against the sandbox and says so.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REDIS_URL } from './support/redis.js';

const MAIN = new URL('../src/main.ts', import.meta.url).pathname;

/** The environment a fresh machine has: none of scicomp's variables, no AWS or Slack credentials. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  // An empty home: a developer's own ~/.aws/credentials would (rightly) take it out of the sandbox.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: mkdtempSync(join(tmpdir(), 'scicomp-home-')), NODE_NO_WARNINGS: '1', REDIS_URL };
  return { ...env, SCICOMP_CONSOLE: 'false', ...extra };
}

function run(extra: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], { env: cleanEnv(extra), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => (stdout += d));
    child.on('exit', (code) => resolve({ code, stderr, stdout }));
  });
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('start-up', () => {
  it('stops on a malformed setting with one line naming the variable', async () => {
    const { code, stderr } = await run({ PORT: 'eighty' });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual(['scicomp: invalid configuration: PORT: Invalid input: expected number, received NaN (got "eighty")']);
  });

  it('stops on half a Slack configuration, naming what is missing and never echoing the token', async () => {
    const { code, stderr } = await run({ SLACK_BOT_TOKEN: 'xoxb-not-echoed' });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/^scicomp: invalid configuration: SLACK_SIGNING_SECRET: required with SLACK_BOT_TOKEN/)]);
    expect(stderr).not.toContain('xoxb-not-echoed');
  });

  it('with real AWS and no data key, stops naming SCICOMP_DATA_KEY, before any AWS call', async () => {
    const { code, stderr } = await run({ SCICOMP_AWS: 'aws' });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/^scicomp: invalid configuration: SCICOMP_DATA_KEY: required with real AWS/)]);
  });

  it('stops on a broken policy file with its path and line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scicomp-main-'));
    const path = join(dir, 'catalog.yaml');
    writeFileSync(path, 'approvals:\n  channel: C1\n  expiryHours: soon\n');
    const { code, stderr } = await run({ SCICOMP_POLICY: path });
    expect(code).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^scicomp: ${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:\\d+: `));
  });

  it('with no credentials starts in sandbox mode, says so, and answers /healthz', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: cleanEnv({ PORT: String(port), SCICOMP_PREFIX: `main${process.pid}${Date.now()}` }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    try {
      // Generous: a cold tsx start on a loaded two-core machine can take most of it.
      const deadline = Date.now() + 30_000;
      let status = 0;
      while (Date.now() < deadline) {
        status = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status, () => 0);
        if (status) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(200);
      expect(out).toContain('SANDBOX MODE');
      expect(out).toContain('no AWS credentials configured');
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }, 40_000);

  it('with no Slack credentials, the console is the chat: launch, see it ready, terminate by numbered choice', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: cleanEnv({ SCICOMP_CONSOLE: 'true', PORT: String(await freePort()), SANDBOX_PROVISION_MS: '300', SCICOMP_PREFIX: `console${process.pid}${Date.now()}` }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const seen = async (text: RegExp, what: string) => {
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        const m = text.exec(out);
        if (m) return m;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`timed out waiting for ${what}; console showed:\n${out}`);
    };
    try {
      await seen(/SANDBOX MODE/, 'the sandbox notice');
      await seen(/scicomp> /, 'the prompt');
      child.stdin.write('/scicomp launch "EC2 Linux" demo\n');
      const ready = await seen(/\[✓\] (\S+-demo) is ready[\s\S]*?aws ssm start-session --profile service-catalog --target (i-[0-9a-f]+)/, 'the ready DM with the connect command');
      const name = ready[1]!;
      child.stdin.write(`/scicomp terminate ${name}\n`);
      const choice = await seen(/\[(\d+)\] Terminate\b/, 'the numbered Terminate choice');
      child.stdin.write(`${choice[1]}\n`);
      await seen(new RegExp(`${name} is terminated`), 'the terminated DM');
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin.end('quit\n');
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('seeds the sandbox account with SANDBOX_PRODUCTS products of other owners', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: cleanEnv({ SCICOMP_CONSOLE: 'true', PORT: String(await freePort()), SANDBOX_PRODUCTS: '30', SANDBOX_API_LATENCY_MS: '5', SCICOMP_PREFIX: `seeded${process.pid}${Date.now()}` }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const seen = async (text: RegExp, what: string) => {
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        if (text.test(out)) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`timed out waiting for ${what}; console showed:\n${out}`);
    };
    try {
      await seen(/scicomp> /, 'the prompt');
      child.stdin.write('/scicomp status useed2-p7\n');
      // Seeded and another person's: answered as a product the console user does not have, as for anyone else's.
      await seen(/You have no product called "useed2-p7"/, 'the seeded product, owned by someone else');
      child.stdin.write('/scicomp list\n');
      await seen(/no provisioned products/, 'an empty list: the seeded products are other owners\'');
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin.end('quit\n');
      child.kill('SIGTERM');
      await exited;
    }
  });
});
