// The inbox between Slack acks and the run-command queue: a burst shares stream entries, and every interaction in them
// reaches the queue once, even when a pump dies half-way through an entry.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { Inbox, InboxPump } from '../../jobs/inbox.js';
import { Sealer } from '../../src/core/sealed.js';
import type { RunPayload } from '../../jobs/run-command.js';
import { eventually } from '../support/harness.js';
import { REDIS_URL } from '../support/redis.js';

const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
const prefixes: string[] = [];
const log = pino({ level: 'silent' });

afterAll(async () => {
  for (const p of prefixes) await redis.del(`${p}:inbox`);
  redis.disconnect();
});

function payload(n: number): RunPayload {
  return {
    requestId: `req-${n}`,
    platform: 'slack',
    userId: 'UBURST',
    reply: { platform: 'slack', kind: 'user', userId: 'UBURST' },
    interaction: { type: 'command', text: `status box-${n}` },
  };
}

function inbox(): Inbox {
  const prefix = `tinbox${randomBytes(4).toString('hex')}`;
  prefixes.push(prefix);
  return new Inbox(redis, prefix, new Sealer({ get: async () => undefined }, { ephemeral: true }));
}

describe('Inbox', () => {
  it('writes a burst as few entries, and the pump hands every interaction on', async () => {
    const box = inbox();
    await Promise.all(Array.from({ length: 50 }, (_, i) => box.push(payload(i))));
    // One turn of the event loop, one entry.
    expect(await redis.xlen(box.key)).toBe(1);
    const delivered: string[] = [];
    const pump = new InboxPump(box, redis, async (p) => void delivered.push(p.requestId), log);
    pump.start();
    try {
      await eventually(() => delivered.length === 50, 'all fifty handed on');
      expect(new Set(delivered).size).toBe(50);
    } finally {
      await pump.stop();
    }
  });

  it('a pump stopped while it hands an entry on finishes it first, leaving nothing pending for another pump to wait on', async () => {
    const box = inbox();
    await Promise.all(Array.from({ length: 5 }, (_, i) => box.push(payload(i))));
    const delivered: string[] = [];
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const pump = new InboxPump(
      box,
      redis,
      async (p) => {
        entered();
        await new Promise((r) => setTimeout(r, 50));
        delivered.push(p.requestId);
      },
      log,
    );
    pump.start();
    await inside;
    await pump.stop();
    expect(delivered).toHaveLength(5);
    expect(await redis.xlen(box.key)).toBe(0);
  });

  it('holds each interaction sealed: no word of what the user typed is in the stream', async () => {
    const box = inbox();
    await box.push({ ...payload(7), interaction: { type: 'command', text: 'launch "EC2 Notebook" nb NotebookPassword=hunter2-sealed' } });
    const entries = JSON.stringify(await redis.xrange(box.key, '-', '+'));
    expect(entries).toContain('req-7');
    expect(entries).not.toContain('hunter2');
    expect(entries).not.toContain('NotebookPassword');
    const delivered: string[] = [];
    const pump = new InboxPump(box, redis, async (p) => void delivered.push(JSON.stringify(p)), log);
    pump.start();
    try {
      await eventually(() => delivered.length === 1, 'the entry handed on');
      // Handed on still sealed: the run-command job holds what the stream held.
      expect(delivered[0]).not.toContain('hunter2');
    } finally {
      await pump.stop();
    }
  });

  it('a pump that fails mid-entry leaves the whole entry unacknowledged, for another pump to claim (the queue dedupes by id)', async () => {
    const box = inbox();
    await Promise.all([box.push(payload(1)), box.push(payload(2)), box.push(payload(3))]);
    let calls = 0;
    const dying = new InboxPump(
      box,
      redis,
      async () => {
        if (++calls === 2) throw new Error('worker killed');
      },
      log,
    );
    dying.start();
    await eventually(() => calls >= 2, 'the first pump half-way through');
    await dying.stop();
    // Its entry is read and unacknowledged: still in the stream for another pump to claim.
    expect(await redis.xlen(box.key)).toBe(1);
    expect(Number((await redis.xpending(box.key, 'pump'))[0])).toBe(1);
  });
});
