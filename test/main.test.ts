// Start-up through the real entry point (`npm start` runs src/main.ts): bad settings stop it with one line naming them,
// and with no credentials it runs against the sandbox and says so.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, spawnMain, type MainProcess } from './support/processes.js';

/** `npm start` on a fresh machine (see cleanEnv), its console off unless asked for. */
const start = (extra: Record<string, string>, stdin?: 'pipe'): MainProcess => spawnMain({ SCICOMP_CONSOLE: 'false', ...extra }, { stdin });

async function run(extra: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const p = start(extra);
  const code = await p.exited;
  return { code, stderr: p.stderr(), stdout: p.stdout() };
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
    const p = start({ PORT: String(port), SCICOMP_PREFIX: `main${process.pid}${Date.now()}` });
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
      expect(p.output()).toContain('SANDBOX MODE');
      expect(p.output()).toContain('no AWS credentials configured');
    } finally {
      await p.stop();
    }
  }, 40_000);

  it('with no Slack credentials, the console is the chat: launch, see it ready, terminate by numbered choice', async () => {
    const { seen, type, stop } = start({ SCICOMP_CONSOLE: 'true', PORT: String(await freePort()), SANDBOX_PROVISION_MS: '300', SCICOMP_PREFIX: `console${process.pid}${Date.now()}` }, 'pipe');
    try {
      await seen(/SANDBOX MODE/, 'the sandbox notice');
      await seen(/scicomp> /, 'the prompt');
      type('/scicomp launch "EC2 Linux" demo');
      const ready = await seen(/\[✓\] (\S+-demo) is ready[\s\S]*?aws ssm start-session --profile service-catalog --target (i-[0-9a-f]+)/, 'the ready DM with the connect command');
      const name = ready[1]!;
      type(`/scicomp terminate ${name}`);
      const choice = await seen(/\[(\d+)\] Terminate\b/, 'the numbered Terminate choice');
      type(choice[1]!);
      await seen(new RegExp(`${name} is terminated`), 'the terminated DM');
    } finally {
      await stop();
    }
  });

  it('seeds the sandbox account with SANDBOX_PRODUCTS products of other owners', async () => {
    const { seen, type, stop } = start({ SCICOMP_CONSOLE: 'true', PORT: String(await freePort()), SANDBOX_PRODUCTS: '30', SANDBOX_API_LATENCY_MS: '5', SCICOMP_PREFIX: `seeded${process.pid}${Date.now()}` }, 'pipe');
    try {
      await seen(/scicomp> /, 'the prompt');
      type('/scicomp status useed2-p7');
      // Seeded and another person's: answered as a product the console user does not have, as for anyone else's.
      await seen(/You have no product called "useed2-p7"/, 'the seeded product, owned by someone else');
      type('/scicomp list');
      await seen(/no provisioned products/, 'an empty list: the seeded products are other owners\'');
    } finally {
      await stop();
    }
  });
});
