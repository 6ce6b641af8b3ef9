// The console's `sandbox …` lines: a newcomer with no AWS account sees an idle ping (and a budget alert) arrive in the
// console DM, through POST /sns as AWS's would; outside sandbox mode the line says why it does nothing.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { answerSandboxLine } from '../../src/adapters/console/repl.js';
import { parseSandboxLine, SANDBOX_USAGE } from '../../src/sandbox/console.js';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;

describe('sandbox lines', () => {
  it('read as publish requests for the console user’s own products', () => {
    expect(parseSandboxLine('alarm demo cpu-idle', 'me@x.org')).toEqual({ kind: 'alarm', product: 'demo', email: 'me@x.org', alarm: 'cpu-idle', state: 'ALARM' });
    expect(parseSandboxLine('alarm demo disk-high ok', 'me@x.org')).toMatchObject({ alarm: 'disk-high', state: 'OK' });
    expect(parseSandboxLine('alarm demo', 'me@x.org')).toMatchObject({ alarm: 'cpu-idle', state: 'ALARM' });
    expect(parseSandboxLine('budget', 'me@x.org')).toEqual({ kind: 'budget', email: 'me@x.org' });
    expect(parseSandboxLine('alarm demo cpu-low', 'me@x.org')).toMatch(/^"cpu-low" is not an alarm: use one of cpu-high, cpu-idle, memory-high, disk-high/);
    expect(parseSandboxLine('alarm demo cpu-idle later', 'me@x.org')).toMatch(/^"later" is not a state/);
    expect(parseSandboxLine('', 'me@x.org')).toBe(SANDBOX_USAGE);
    expect(parseSandboxLine('reboot demo', 'me@x.org')).toBe(SANDBOX_USAGE);
  });

  it('are the console’s alone, and outside sandbox mode say so', async () => {
    const seen: string[] = [];
    const sandbox = async (args: string) => (seen.push(args), 'published');
    expect(await answerSandboxLine('/scicomp sandbox alarm demo cpu-idle', sandbox)).toBe('published');
    expect(await answerSandboxLine('sandbox budget', sandbox)).toBe('published');
    expect(seen).toEqual(['alarm demo cpu-idle', 'budget']);
    expect(await answerSandboxLine('/scicomp launch sandboxed', sandbox)).toBeUndefined();
    expect(await answerSandboxLine('/scicomp sandbox alarm demo cpu-idle')).toMatch(/works only in sandbox mode/);
  });
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('the console in sandbox mode', () => {
  it('shows an idle ping with its four choices after `sandbox alarm <name> cpu-idle`, and a budget alert', async () => {
    const prefix = `tsc${randomBytes(5).toString('hex')}`;
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: {
        PATH: process.env.PATH,
        HOME: mkdtempSync(join(tmpdir(), 'scicomp-home-')),
        NODE_NO_WARNINGS: '1',
        SCICOMP_CONSOLE: 'true',
        PORT: String(await freePort()),
        SANDBOX_PROVISION_MS: '300',
        SCICOMP_PREFIX: prefix,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const seen = async (text: RegExp, what: string, from = 0) => {
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        const m = text.exec(out.slice(from));
        if (m) return m;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`timed out waiting for ${what}; console showed:\n${out}`);
    };
    try {
      await seen(/"sandbox alarm <name> cpu-idle" fakes an idle alarm/, 'the sandbox hint');
      await seen(/scicomp> /, 'the prompt');
      child.stdin.write('/scicomp launch "EC2 Linux" demo\n');
      const name = (await seen(/\[✓\] (\S+-demo) is ready/, 'the ready DM'))[1]!;
      // Its alarms are made just after the ready message: ask again until they are there.
      const deadline = Date.now() + 15_000;
      for (;;) {
        const from = out.length;
        child.stdin.write('/scicomp sandbox alarm demo cpu-idle\n');
        const answer = (await seen(/(The sandbox published .*|.* has no cpu-idle alarm.*)\n/, 'the sandbox answer', from))[1]!;
        if (answer.startsWith('The sandbox published')) break;
        if (Date.now() > deadline) throw new Error(`no alarms; console showed:\n${out}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const ping = await seen(new RegExp(`${name}: is idle[\\s\\S]*?\\[(\\d+)\\] Stop\\n\\s+\\[\\d+\\] Terminate\\n\\s+\\[\\d+\\] Snooze 24 h\\n\\s+\\[(\\d+)\\] Keep`), 'the idle ping');
      child.stdin.write(`${ping[2]}\n`);
      await seen(new RegExp(`Keeping ${name} running`), 'Keep carried out');
      child.stdin.write('sandbox budget\n');
      await seen(/You have passed a budget threshold/, 'the budget alert');
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin.end('quit\n');
      child.kill('SIGTERM');
      await exited;
      const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    }
  }, 60_000);
});
