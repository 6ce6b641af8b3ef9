// The console's `sandbox …` lines: a newcomer with no AWS account sees an idle ping (and a budget alert) arrive in the
// console DM, through POST /sns as AWS's would; outside sandbox mode the line says why it does nothing.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { answerSandboxLine } from '../../src/adapters/console/repl.js';
import { parseSandboxLine, SANDBOX_USAGE } from '../../src/sandbox/console.js';
import { freePort, spawnMain } from '../support/processes.js';
import { REDIS_URL } from '../support/redis.js';

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

describe('the console in sandbox mode', () => {
  it('shows an idle ping with its four choices after `sandbox alarm <name> cpu-idle`, and a budget alert', async () => {
    const prefix = `tsc${randomBytes(5).toString('hex')}`;
    const { seen, type, stop, stdout } = spawnMain({ SCICOMP_CONSOLE: 'true', PORT: String(await freePort()), SANDBOX_PROVISION_MS: '300', SCICOMP_PREFIX: prefix }, { stdin: 'pipe' });
    try {
      await seen(/"sandbox alarm <name> cpu-idle" fakes an idle alarm/, 'the sandbox hint');
      await seen(/scicomp> /, 'the prompt');
      type('/scicomp launch "EC2 Linux" demo');
      const name = (await seen(/\[✓\] (\S+-demo) is ready/, 'the ready DM'))[1]!;
      // Its alarms are made just after the ready message: ask again until they are there.
      const deadline = Date.now() + 15_000;
      for (;;) {
        const from = stdout().length;
        type('/scicomp sandbox alarm demo cpu-idle');
        const answer = (await seen(/(The sandbox published .*|.* has no cpu-idle alarm.*)\n/, 'the sandbox answer', from))[1]!;
        if (answer.startsWith('The sandbox published')) break;
        if (Date.now() > deadline) throw new Error(`no alarms; console showed:\n${stdout()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const ping = await seen(new RegExp(`${name}: is idle[\\s\\S]*?\\[(\\d+)\\] Stop\\n\\s+\\[\\d+\\] Terminate\\n\\s+\\[\\d+\\] Snooze 24 h\\n\\s+\\[(\\d+)\\] Keep`), 'the idle ping');
      type(ping[2]!);
      await seen(new RegExp(`Keeping ${name} running`), 'Keep carried out');
      type('sandbox budget');
      await seen(/You have passed a budget threshold/, 'the budget alert');
    } finally {
      await stop();
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    }
  }, 60_000);
});
