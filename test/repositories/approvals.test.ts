// The approvals contract: one test body run against the in-memory repository and the Redis one (real Redis, own prefix).
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryApprovals } from '../../src/adapters/memory/approvals.js';
import { begunKey, RedisApprovals, requestKey } from '../../src/adapters/redis/approvals.js';
import type { Clock } from '../../src/core/ports.js';
import type { ApprovalsRepository, StoredRequest } from '../../src/core/repositories/approvals.js';
import type { Sealed } from '../../src/core/sealed.js';
import { backends, testRedis } from '../support/backends.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

interface Subject {
  approvals: ApprovalsRepository;
  /** Milliseconds left before it expires, like PTTL: undefined when absent, Infinity when it never expires. */
  ttl(what: 'request' | 'begun', id: string): Promise<number | undefined>;
}

const redis = testRedis();

let now = Date.now();
const clock: Clock = { now: () => now };

const implementations = backends<[], Subject>(
  () => {
    const approvals = new MemoryApprovals(clock);
    return { approvals, ttl: async (what, id) => (what === 'request' ? approvals.requests.ttl(id) : approvals.marks.ttl(id.replace('|', ':'))) };
  },
  () => {
    const store = redis.store();
    return {
      approvals: new RedisApprovals(store, clock),
      ttl: (what, id) => redis.ttl(what === 'request' ? requestKey(store, id) : begunKey(store, ...(id.split('|') as [string, string]))),
    };
  },
);

const SEALED: Sealed = { sealed: 's1.abcdefgh.c2VhbGVk' };

function request(id: string, o: { email?: string; createdAt?: number; expiresInMs?: number } = {}): StoredRequest & { payload: Sealed } {
  const createdAt = o.createdAt ?? now;
  return {
    id,
    requester: { platform: 'slack', userId: 'UJDOE', email: o.email ?? 'jdoe@synapse.org', name: 'J Doe' },
    title: `Restore bucket ${id}`,
    why: 'needed',
    fields: [{ label: 'Bucket', value: id }],
    impact: 'none',
    payload: SEALED,
    createdAt,
    expiresAt: createdAt + (o.expiresInMs ?? 72 * HOUR),
    venues: [
      { platform: 'slack', kind: 'channel', channel: 'CAPPROVE' },
      { platform: 'teams', kind: 'channel', channel: '19:approvals@thread.tacv2' },
    ],
  };
}

const KEEP = { limit: 0, keepMs: 90 * DAY };

describe.each(implementations)('approvals %s', (_name, make) => {
  let s: Subject;
  beforeEach(() => {
    now = Date.now();
    s = make();
  });

  it('files a request as pending, once: a second filing of the same id changes nothing', async () => {
    expect(await s.approvals.load('r1')).toBeUndefined();
    expect(await s.approvals.file(request('r1'), { limit: 5, keepMs: 90 * DAY })).toEqual({ outcome: 'filed' });
    const found = await s.approvals.load('r1');
    expect(found).toEqual({ request: request('r1'), decision: { state: 'pending' } });
    expect(await s.approvals.file({ ...request('r1'), title: 'another' }, { limit: 5, keepMs: 90 * DAY })).toEqual({ outcome: 'exists' });
    expect((await s.approvals.load('r1'))!.request.title).toBe('Restore bucket r1');
    expect(await s.approvals.openCount('jdoe@synapse.org')).toBe(1);
    expect(await s.approvals.pending(10)).toEqual({ ids: ['r1'], total: 1, oldestAt: now });
    const left = (await s.ttl('request', 'r1'))!;
    expect(left).toBeGreaterThan(90 * DAY - 60_000);
    expect(left).toBeLessThanOrEqual(90 * DAY);
  });

  it('refuses one request over the limit, naming those open, counting by email whatever its case', async () => {
    for (const [i, email] of ['jdoe@synapse.org', 'JDoe@Synapse.org', 'jdoe@SYNAPSE.ORG'].entries()) {
      expect((await s.approvals.file(request(`r${i}`, { email, expiresInMs: (3 - i) * HOUR }), { limit: 3, keepMs: DAY })).outcome).toBe('filed');
    }
    // Someone else, and a request not counted (limit 0), are not in the way.
    expect((await s.approvals.file(request('other', { email: 'asmith@synapse.org' }), { limit: 3, keepMs: DAY })).outcome).toBe('filed');
    expect((await s.approvals.file(request('uncounted'), KEEP)).outcome).toBe('filed');
    // Those open, soonest to expire first.
    expect(await s.approvals.file(request('r3'), { limit: 3, keepMs: DAY })).toEqual({ outcome: 'full', open: ['r2', 'r1', 'r0'] });
    expect(await s.approvals.load('r3')).toBeUndefined();
    expect(await s.approvals.openCount('JDOE@synapse.org')).toBe(3);
    expect((await s.approvals.pending(10)).total).toBe(5);
  });

  it('frees a place when a request is decided, or when its expiry passes', async () => {
    for (const i of [0, 1]) await s.approvals.file(request(`r${i}`, { expiresInMs: (i + 1) * HOUR }), { limit: 2, keepMs: DAY });
    expect((await s.approvals.file(request('r2'), { limit: 2, keepMs: DAY })).outcome).toBe('full');
    expect(await s.approvals.transition('r1', 'pending', 'denied', { decidedBy: 'slack:UIT1', decidedAt: now })).toEqual({ ok: true });
    expect(await s.approvals.openCount('jdoe@synapse.org')).toBe(1);
    expect((await s.approvals.file(request('r2', { expiresInMs: 5 * HOUR }), { limit: 2, keepMs: DAY })).outcome).toBe('filed');
    expect((await s.approvals.file(request('r3'), { limit: 2, keepMs: DAY })).outcome).toBe('full');
    now += HOUR;
    // r0 is past its expiry (its expiry job is late): it no longer counts.
    expect(await s.approvals.openCount('jdoe@synapse.org')).toBe(1);
    expect((await s.approvals.file(request('r3'), { limit: 2, keepMs: DAY })).outcome).toBe('filed');
  });

  it('decides once: the first move wins and the rest learn the decision that stands', async () => {
    await s.approvals.file(request('r1'), { limit: 5, keepMs: DAY });
    const decided = { decidedBy: 'teams:29:it1', decidedAt: now, decisionId: 'click-1' };
    expect(await s.approvals.transition('r1', 'pending', 'approved', decided)).toEqual({ ok: true });
    expect(await s.approvals.transition('r1', 'pending', 'denied', { decidedBy: 'slack:UIT2', decidedAt: now + 1, denyReason: 'no', decisionId: 'click-2' })).toEqual({
      ok: false,
      decision: { state: 'approved', ...decided },
    });
    expect(await s.approvals.pending(10)).toEqual({ ids: [], total: 0 });
    expect(await s.approvals.openCount('jdoe@synapse.org')).toBe(0);
    expect(await s.approvals.transition('r1', 'approved', 'done', { doneBy: 'slack:UIT2', doneAt: now + 2 })).toEqual({ ok: true });
    expect((await s.approvals.load('r1'))!.decision).toEqual({ state: 'done', ...decided, doneBy: 'slack:UIT2', doneAt: now + 2 });
    expect(await s.approvals.transition('nothing', 'pending', 'approved', decided)).toEqual({ ok: false, decision: undefined });
  });

  it('a denial keeps its reason', async () => {
    await s.approvals.file(request('r1'), KEEP);
    await s.approvals.transition('r1', 'pending', 'denied', { decidedBy: 'slack:UIT1', decidedAt: now, denyReason: 'Use t3.large', decisionId: 'c' });
    expect((await s.approvals.load('r1'))!.decision).toEqual({ state: 'denied', decidedBy: 'slack:UIT1', decidedAt: now, denyReason: 'Use t3.large', decisionId: 'c' });
  });

  it('twenty moves at once: exactly one wins', async () => {
    await s.approvals.file(request('r1'), { limit: 5, keepMs: DAY });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => s.approvals.transition('r1', 'pending', i % 2 ? 'approved' : 'denied', { decidedBy: `slack:U${i}`, decidedAt: now, decisionId: `c${i}` })),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    const stands = (await s.approvals.load('r1'))!.decision;
    for (const r of results) if (!r.ok) expect(r.decision).toEqual(stands);
  });

  it('ten requests filed at the very same moment keep the limit', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => s.approvals.file(request(`same-${i}`), { limit: 5, keepMs: DAY })));
    expect(results.filter((r) => r.outcome === 'filed')).toHaveLength(5);
    expect(results.filter((r) => r.outcome === 'full')).toHaveLength(5);
    expect(await s.approvals.openCount('jdoe@synapse.org')).toBe(5);
  });

  it('lists the pending oldest first, with how many and since when', async () => {
    for (let i = 0; i < 5; i++) await s.approvals.file(request(`r${i}`, { createdAt: now - (5 - i) * 1000 }), KEEP);
    await s.approvals.transition('r0', 'pending', 'expired', { decidedAt: now });
    expect(await s.approvals.pending(2)).toEqual({ ids: ['r1', 'r2'], total: 4, oldestAt: now - 4000 });
    expect(await s.approvals.pending(0)).toEqual({ ids: [], total: 4, oldestAt: now - 4000 });
  });

  it('remembers that an expiry was audited, only for a request it keeps', async () => {
    await s.approvals.file(request('r1'), KEEP);
    expect(await s.approvals.expiryAudited('r1')).toBe(false);
    await s.approvals.markExpiryAudited('r1');
    expect(await s.approvals.expiryAudited('r1')).toBe(true);
    await s.approvals.markExpiryAudited('gone');
    expect(await s.approvals.expiryAudited('gone')).toBe(false);
    expect(await s.approvals.load('gone')).toBeUndefined();
    expect((await s.approvals.file(request('gone'), KEEP)).outcome).toBe('filed');
  });

  it('marks begun carrying-out, per action and product, for a while', async () => {
    expect(await s.approvals.begun('carry:r1', 'pp-1')).toBe(false);
    await s.approvals.markBegun('carry:r1', 'pp-1', DAY);
    expect(await s.approvals.begun('carry:r1', 'pp-1')).toBe(true);
    expect(await s.approvals.begun('carry:r1', 'pp-2')).toBe(false);
    expect(await s.approvals.begun('offboard-terminate:r1', 'pp-1')).toBe(false);
    const left = (await s.ttl('begun', 'carry:r1|pp-1'))!;
    expect(left).toBeGreaterThan(DAY - 60_000);
    expect(left).toBeLessThanOrEqual(DAY);
  });
});

describe('approvals in memory, by its clock', () => {
  it('forget requests and marks when their time is up', async () => {
    let t = Date.UTC(2026, 10, 23);
    const approvals = new MemoryApprovals({ now: () => t });
    await approvals.file({ ...request('r1'), createdAt: t, expiresAt: t + HOUR }, { limit: 0, keepMs: DAY });
    await approvals.markBegun('carry:r1', 'pp-1', HOUR);
    t += HOUR;
    expect(await approvals.begun('carry:r1', 'pp-1')).toBe(false);
    expect(await approvals.load('r1')).toBeDefined();
    t += DAY;
    expect(await approvals.load('r1')).toBeUndefined();
  });
});
