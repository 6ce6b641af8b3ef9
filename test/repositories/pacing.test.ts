// The send pacing contract: one test body run against the in-memory repository and the Redis one (real Redis, own prefix),
// both on one fake clock; and the two compared on random bursts.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { earliestSlot, MemoryPacing } from '../../src/adapters/memory/pacing.js';
import { paceSendsKey, RedisPacing } from '../../src/adapters/redis/pacing.js';
import { TEAMS_PACING, teamsPaceLimits } from '../../src/adapters/teams/pacing.js';
import type { PaceLimit, PacingRepository, RateWindow } from '../../src/core/repositories/pacing.js';
import { testRedis } from '../support/backends.js';

const redis = testRedis();

const T0 = Date.UTC(2026, 10, 23, 9);
const app = { appId: 'app-1', tenantId: 'tenant-1' };

interface Made {
  pacing: PacingRepository;
  clock: { now: () => number; at: number };
}

function fakeClock() {
  const clock = { at: T0, now: () => clock.at };
  return clock;
}

const implementations: [string, () => Made & { sendsTtl?: (key: string) => Promise<number> }][] = [
  [
    'in memory',
    () => {
      const clock = fakeClock();
      return { pacing: new MemoryPacing(clock), clock };
    },
  ],
  [
    'in Redis',
    () => {
      const clock = fakeClock();
      const store = redis.store();
      return { pacing: new RedisPacing(store, clock), clock, sendsTtl: (key) => redis.connection.pttl(paceSendsKey(store, key)) };
    },
  ],
];

/** Every window of every limit holds at most its limit of the booked sends, wherever it is slid to. */
function assertWithin(booked: Map<string, number[]>, limits: PaceLimit[]): void {
  for (const limit of limits) {
    const times = [...(booked.get(limit.key) ?? [])].sort((a, b) => a - b);
    for (const w of limit.windows) {
      for (const x of times) {
        const inWindow = times.filter((s) => s > x - w.windowMs && s <= x).length;
        expect(inWindow, `${limit.key}: ${inWindow} sends in the ${w.windowMs} ms up to ${x - T0}`).toBeLessThanOrEqual(w.limit);
      }
    }
  }
}

async function burst(pacing: PacingRepository, count: number, limitsOf: (i: number) => PaceLimit[], booked = new Map<string, number[]>()) {
  const slots: number[] = [];
  for (let i = 0; i < count; i++) {
    const limits = limitsOf(i);
    const slot = await pacing.book(limits, `m${i}-${randomBytes(2).toString('hex')}`);
    slots.push(slot.atMs);
    for (const l of limits) booked.set(l.key, [...(booked.get(l.key) ?? []), slot.atMs]);
  }
  return { slots, booked };
}

describe.each(implementations)('send pacing %s', (_name, make) => {
  it('books a conversation’s burst within Teams’ windows: 7 at once, the 8th a second later, 60 in the first 30 s', async () => {
    const { pacing } = make();
    const limits = teamsPaceLimits('teams:user:aad-1', app);
    const { slots, booked } = await burst(pacing, 70, () => limits);
    const offsets = slots.map((s) => s - T0);
    expect(offsets.slice(0, 7)).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(offsets[7]).toBe(1000);
    expect(offsets[8]).toBe(2000);
    expect(offsets.filter((o) => o < 30_000)).toHaveLength(60);
    // Booked in order: a conversation's messages keep their order.
    expect([...offsets].sort((a, b) => a - b)).toEqual(offsets);
    assertWithin(booked, limits);
  });

  it('keeps the tenant’s 50 per second across conversations', async () => {
    const { pacing } = make();
    const { slots, booked } = await burst(pacing, 120, (i) => teamsPaceLimits(`teams:user:aad-${i}`, app));
    const offsets = slots.map((s) => s - T0);
    expect(offsets.filter((o) => o === 0)).toHaveLength(50);
    expect(offsets.filter((o) => o === 1000)).toHaveLength(50);
    expect(offsets.filter((o) => o === 2000)).toHaveLength(20);
    assertWithin(booked, [{ key: `teams:app:${app.appId}:${app.tenantId}`, windows: TEAMS_PACING.tenant }]);
  });

  it('does not hold one conversation’s messages behind another’s backlog', async () => {
    const { pacing } = make();
    await burst(pacing, 80, () => teamsPaceLimits('teams:channel:busy', app));
    const other = await pacing.book(teamsPaceLimits('teams:user:quiet', app), 'quiet-1');
    expect(other).toEqual({ atMs: T0, waitMs: 0 });
  });

  it('fits a send before later bookings when every window allows it, and never into a full one', async () => {
    const { pacing } = make();
    const gate = (key: string) => ({ key, windows: [{ limit: 1000, windowMs: 1 }] });
    const one = { key: 'one', windows: [{ limit: 1, windowMs: 1000 }] };
    await pacing.pause('gate-1', 5000);
    expect((await pacing.book([one, gate('gate-1')], 'later')).atMs - T0).toBe(5000);
    const early: number[] = [];
    for (const m of ['a', 'b', 'c', 'd', 'e', 'f']) early.push((await pacing.book([one], m)).atMs - T0);
    expect(early).toEqual([0, 1000, 2000, 3000, 4000, 6000]);

    const two = { key: 'two', windows: [{ limit: 2, windowMs: 1000 }] };
    await pacing.pause('gate-2', 500);
    await pacing.book([two, gate('gate-2')], 'x');
    await pacing.book([two, gate('gate-2')], 'y');
    // Now would make the window ending at +500 hold three.
    expect((await pacing.book([two], 'z')).atMs - T0).toBe(1500);
  });

  it('returns the same slot when the same message books again, and forgets sends no window reaches', async () => {
    const { pacing, clock, sendsTtl } = make();
    const limits = [{ key: 'k', windows: [{ limit: 1, windowMs: 1000 }] }];
    await pacing.book(limits, 'first');
    const second = await pacing.book(limits, 'second');
    expect(second).toEqual({ atMs: T0 + 1000, waitMs: 1000 });
    clock.at += 400;
    expect(await pacing.book(limits, 'second')).toEqual({ atMs: T0 + 1000, waitMs: 600 });
    if (sendsTtl) expect(await sendsTtl('k')).toBeGreaterThan(1000);
    clock.at += 10_000;
    expect(await pacing.book(limits, 'later')).toEqual({ atMs: clock.at, waitMs: 0 });
  });

  it('books nothing into a paused key before the pause ends; a shorter pause does not shorten it', async () => {
    const { pacing } = make();
    const limits = teamsPaceLimits('teams:user:aad-9', app);
    await pacing.pause('teams:user:aad-9', 5000);
    await pacing.pause('teams:user:aad-9', 1000);
    expect(await pacing.book(limits, 'x')).toEqual({ atMs: T0 + 5000, waitMs: 5000 });
    // Other conversations are not paused.
    expect((await pacing.book(teamsPaceLimits('teams:user:aad-10', app), 'y')).waitMs).toBe(0);
  });
});

describe('send pacing in Redis and in memory agree', () => {
  it('on random bursts over several conversations, with time passing', async () => {
    const clock = fakeClock();
    const memory = new MemoryPacing(clock);
    const store = redis.store();
    const inRedis = new RedisPacing(store, clock);
    const windows: RateWindow[] = [
      { limit: 3, windowMs: 1000 },
      { limit: 4, windowMs: 2000 },
      { limit: 10, windowMs: 10_000 },
    ];
    const tenant = { key: 'tenant', windows: [{ limit: 5, windowMs: 1000 }] };
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const booked = new Map<string, number[]>();
    for (let i = 0; i < 300; i++) {
      if (random() < 0.3) clock.at += Math.floor(random() * 1500);
      const limits = [{ key: `c${Math.floor(random() * 4)}`, windows }, tenant];
      const a = await memory.book(limits, `m${i}`);
      const b = await inRedis.book(limits, `m${i}`);
      expect(b, `booking ${i}`).toEqual(a);
      for (const l of limits) booked.set(l.key, [...(booked.get(l.key) ?? []), a.atMs]);
    }
    for (const key of booked.keys()) assertWithin(booked, [key === 'tenant' ? tenant : { key, windows }]);
  });
});

describe('earliestSlot', () => {
  it('is the start when nothing is booked, and jumps past a full window otherwise', () => {
    const w = [{ key: 'k', windows: [{ limit: 2, windowMs: 100 }] }];
    expect(earliestSlot(w, [[]], 1000)).toBe(1000);
    expect(earliestSlot(w, [[950, 990]], 1000)).toBe(1050);
    // A full window later on: a send now would make the window ending at 1050 hold three.
    expect(earliestSlot(w, [[1040, 1050]], 1000)).toBe(1140);
  });

  it('is the earliest time every window allows, as a search of every millisecond finds it', () => {
    let seed = 7;
    const random = (n: number) => Math.floor(((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * n);
    const fits = (limits: PaceLimit[], times: number[][], t: number) =>
      limits.every((l, i) =>
        l.windows.every((w) => {
          const all = [...times[i]!, t];
          return all.every((x) => x < t || x >= t + w.windowMs || all.filter((s) => s > x - w.windowMs && s <= x).length <= w.limit);
        }),
      );
    for (let round = 0; round < 200; round++) {
      const limits: PaceLimit[] = [0, 1].map((k) => ({ key: `k${k}`, windows: [{ limit: 1 + random(3), windowMs: 5 + random(20) }, { limit: 2 + random(4), windowMs: 20 + random(40) }] }));
      const times = limits.map(() => Array.from({ length: random(8) }, () => random(80)));
      const start = random(40);
      let expected = start;
      while (!fits(limits, times, expected)) expected++;
      expect(earliestSlot(limits, times, start), JSON.stringify({ limits, times, start })).toBe(expected);
    }
  });
});
