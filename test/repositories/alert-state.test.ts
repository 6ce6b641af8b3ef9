// The alert state contract: one test body run against the in-memory repository and the Redis one (real Redis, own prefix).
import { beforeEach, describe, expect, it } from 'vitest';
import { ExpiringMap } from '../../src/adapters/memory/expiring-map.js';
import { MemoryAlertState } from '../../src/adapters/memory/alert-state.js';
import { MemorySnoozes } from '../../src/adapters/memory/snoozes.js';
import { alertKey, appliedKey, RedisAlertState } from '../../src/adapters/redis/alert-state.js';
import { announcedKey } from '../../src/adapters/redis/outbox-marks.js';
import { RedisSnoozes } from '../../src/adapters/redis/snoozes.js';
import type { AlarmState } from '../../src/core/notifications.js';
import type { Clock } from '../../src/core/ports.js';
import type { AlarmStateChange, AlertStateRepository, AlertWindows, Owner, WatchedProduct } from '../../src/core/repositories/alert-state.js';
import type { SnoozesRepository } from '../../src/core/repositories/snoozes.js';
import { backends, testRedis } from '../support/backends.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const WINDOWS: AlertWindows = { coalesceMs: 6 * HOUR, openTtlMs: 30 * DAY, appliedTtlMs: DAY, announceTtlMs: HOUR };
const TOPIC = 'arn:aws:sns:us-east-1:111122223333:scicomp-user-jdoe-synapse-org';
const OWNER: Owner = { platform: 'slack', userId: 'UJDOE', email: 'jdoe@synapse.org' };

interface Subject {
  alerts: AlertStateRepository;
  snoozes: SnoozesRepository;
  /** Milliseconds left before it expires, like PTTL: undefined when absent, Infinity when it never expires. */
  ttl(what: 'alert' | 'applied' | 'announced', id: string): Promise<number | undefined>;
}

const redis = testRedis();

const clock: Clock = { now: () => Date.now() };

const implementations = backends<[], Subject>(
  () => {
    const announced = new ExpiringMap<true>(clock);
    const snoozes = new MemorySnoozes(clock);
    const alerts = new MemoryAlertState({ clock, snoozes, announce: (key, ttlMs) => announced.set(key, true, ttlMs) });
    return {
      alerts,
      snoozes,
      ttl: async (what, id) => (what === 'alert' ? alerts.alerts : what === 'applied' ? alerts.applied : announced).ttl(id),
    };
  },
  () => {
    const store = redis.store();
    const key = { alert: alertKey, applied: appliedKey, announced: announcedKey };
    return { alerts: new RedisAlertState(store), snoozes: new RedisSnoozes(store, clock), ttl: (what, id) => redis.ttl(key[what](store, id)) };
  },
);

describe.each(implementations)('alert state %s', (_name, make) => {
  let s: Subject;
  let n = 0;
  const t0 = Date.UTC(2026, 10, 23, 10, 0, 0);
  beforeEach(() => {
    s = make();
  });

  /** An alarm notification for a product's CPU: a new MessageId each time unless given. */
  const change = (state: AlarmState, o: Partial<AlarmStateChange> = {}): AlarmStateChange => {
    const messageId = o.messageId ?? `m-${++n}`;
    return {
      messageId,
      topicArn: TOPIC,
      provisionedProductId: 'pp-1',
      resource: 'pp-1:cpu-high',
      state,
      messageKey: `sns:${messageId}`,
      changedAt: '2026-11-23T10:00:00.000+0000',
      now: t0,
      snoozable: false,
      windows: WINDOWS,
      ...o,
    };
  };

  it('ignores a notification with neither a topic owner nor a watched product, and remembers that it did', async () => {
    const first = change('ALARM');
    expect(await s.alerts.applyAlarm(first)).toEqual({ step: 'ignored' });
    expect(await s.ttl('alert', 'pp-1:cpu-high')).toBeUndefined();
    expect(await s.ttl('announced', first.messageKey)).toBeUndefined();
    await s.alerts.recordTopic(TOPIC, OWNER);
    // The same MessageId again replays its outcome; a new one is news.
    expect(await s.alerts.applyAlarm(first)).toMatchObject({ step: 'ignored', owner: OWNER });
    expect(await s.alerts.applyAlarm(change('ALARM'))).toMatchObject({ step: 'posted' });
  });

  it('a first ALARM starts a message, announced to the outbox, open until OK, its MessageId remembered', async () => {
    await s.alerts.recordTopic(TOPIC, OWNER);
    const c = change('ALARM');
    const applied = await s.alerts.applyAlarm(c);
    expect(applied).toEqual({
      step: 'posted',
      owner: OWNER,
      state: { key: c.messageKey, count: 1, firstAt: c.changedAt, firstAtMs: t0, open: true, nodata: false, seq: 1 },
    });
    expect(await s.ttl('announced', c.messageKey)).toBeGreaterThan(HOUR - 60_000);
    expect(await s.ttl('announced', c.messageKey)).toBeLessThanOrEqual(HOUR);
    expect(await s.ttl('alert', 'pp-1:cpu-high')).toBeGreaterThan(29 * DAY);
    expect(await s.ttl('applied', c.messageId)).toBeGreaterThan(DAY - 60_000);
  });

  it('repeats update the first message; a replayed MessageId changes nothing and says what it did the first time', async () => {
    await s.alerts.recordTopic(TOPIC, OWNER);
    const first = change('ALARM');
    await s.alerts.applyAlarm(first);
    const repeat = change('ALARM', { now: t0 + HOUR });
    expect(await s.alerts.applyAlarm(repeat)).toMatchObject({ step: 'coalesced', state: { key: first.messageKey, count: 2, seq: 2, firstAtMs: t0, open: true } });
    // A repeat starts no message of its own.
    expect(await s.ttl('announced', repeat.messageKey)).toBeUndefined();
    expect(await s.alerts.applyAlarm(repeat)).toMatchObject({ step: 'coalesced', state: { count: 2, seq: 2 } });
    expect(await s.alerts.applyAlarm(first)).toMatchObject({ step: 'posted', state: { count: 1, seq: 1 } });
    expect(await s.alerts.applyAlarm(change('ALARM', { now: t0 + 2 * HOUR }))).toMatchObject({ step: 'coalesced', state: { count: 3, seq: 3 } });
  });

  it('OK recovers the open alert; within the window a new ALARM is the same message again (flapping)', async () => {
    await s.alerts.recordTopic(TOPIC, OWNER);
    const first = change('ALARM');
    await s.alerts.applyAlarm(first);
    expect(await s.alerts.applyAlarm(change('OK', { now: t0 + HOUR }))).toMatchObject({ step: 'recovered', state: { key: first.messageKey, open: false, nodata: false, seq: 2 } });
    // Kept only for the rest of the coalescing window.
    const left = (await s.ttl('alert', 'pp-1:cpu-high'))!;
    expect(left).toBeGreaterThan(5 * HOUR - 60_000);
    expect(left).toBeLessThanOrEqual(5 * HOUR);
    expect(await s.alerts.applyAlarm(change('OK', { now: t0 + HOUR }))).toMatchObject({ step: 'ignored' });
    expect(await s.alerts.applyAlarm(change('ALARM', { now: t0 + 2 * HOUR }))).toMatchObject({ step: 'coalesced', state: { key: first.messageKey, count: 2, seq: 3, open: true } });
  });

  it('an OK past the window ends the alert: the next ALARM is a new message', async () => {
    await s.alerts.recordTopic(TOPIC, OWNER);
    await s.alerts.applyAlarm(change('ALARM'));
    expect(await s.alerts.applyAlarm(change('OK', { now: t0 + 7 * HOUR }))).toMatchObject({ step: 'recovered' });
    expect(await s.ttl('alert', 'pp-1:cpu-high')).toBeUndefined();
    const next = change('ALARM', { now: t0 + 8 * HOUR, changedAt: '2026-11-23T18:00:00.000+0000' });
    expect(await s.alerts.applyAlarm(next)).toMatchObject({ step: 'posted', state: { key: next.messageKey, count: 1, seq: 1, firstAt: next.changedAt, firstAtMs: t0 + 8 * HOUR } });
  });

  it('an open alarm outlives the window: a repeat days later still updates its message', async () => {
    await s.alerts.recordTopic(TOPIC, OWNER);
    const first = change('ALARM');
    await s.alerts.applyAlarm(first);
    expect(await s.alerts.applyAlarm(change('ALARM', { now: t0 + 3 * DAY }))).toMatchObject({ step: 'coalesced', state: { key: first.messageKey, count: 2 } });
  });

  it('INSUFFICIENT_DATA with no alert starts a no-data message once; OK then recovers it', async () => {
    await s.alerts.recordTopic(TOPIC, OWNER);
    const c = change('INSUFFICIENT_DATA');
    expect(await s.alerts.applyAlarm(c)).toMatchObject({ step: 'nodata', state: { key: c.messageKey, count: 0, open: false, nodata: true, seq: 1 } });
    expect(await s.ttl('announced', c.messageKey)).toBeGreaterThan(0);
    expect(await s.alerts.applyAlarm(change('INSUFFICIENT_DATA', { now: t0 + HOUR }))).toMatchObject({ step: 'ignored' });
    expect(await s.alerts.applyAlarm(change('OK', { now: t0 + 2 * HOUR }))).toMatchObject({ step: 'recovered', state: { key: c.messageKey, nodata: false, seq: 2 } });
  });

  it('INSUFFICIENT_DATA during an open alarm marks its message as having no data', async () => {
    await s.alerts.recordTopic(TOPIC, OWNER);
    const first = change('ALARM');
    await s.alerts.applyAlarm(first);
    const nodata = change('INSUFFICIENT_DATA', { now: t0 + HOUR });
    expect(await s.alerts.applyAlarm(nodata)).toMatchObject({ step: 'nodata', state: { key: first.messageKey, count: 1, open: true, nodata: true, seq: 2 } });
    expect(await s.ttl('announced', nodata.messageKey)).toBeUndefined();
    expect(await s.alerts.applyAlarm(change('ALARM', { now: t0 + 2 * HOUR }))).toMatchObject({ step: 'coalesced', state: { count: 2, nodata: false, seq: 3 } });
  });

  it('a snooze mutes its product’s snoozable alarms and stores nothing for them; other alarms go through', async () => {
    await s.alerts.recordTopic(TOPIC, OWNER);
    await s.snoozes.snooze('pp-1', Date.now() + HOUR);
    const idle = { resource: 'pp-1:cpu-idle', snoozable: true };
    expect(await s.alerts.applyAlarm(change('ALARM', idle))).toMatchObject({ step: 'snoozed', owner: OWNER });
    expect(await s.alerts.applyAlarm(change('INSUFFICIENT_DATA', idle))).toMatchObject({ step: 'snoozed' });
    expect(await s.ttl('alert', 'pp-1:cpu-idle')).toBeUndefined();
    expect(await s.alerts.applyAlarm(change('ALARM'))).toMatchObject({ step: 'posted' });
    expect(await s.alerts.applyAlarm(change('ALARM', { ...idle, provisionedProductId: 'pp-2', resource: 'pp-2:cpu-idle' }))).toMatchObject({ step: 'posted' });
    await s.snoozes.clear('pp-1');
    expect(await s.alerts.applyAlarm(change('ALARM', idle))).toMatchObject({ step: 'posted' });
  });

  it('a watched product routes its alarms when the topic has no owner, and is read in the same step', async () => {
    const watched: WatchedProduct = { provisionedProductId: 'pp-1', name: 'jdoe-box', productName: 'EC2 Linux', owner: OWNER, alarms: ['scicomp-pp-1-cpu-high'], instanceId: 'i-0abc' };
    await s.alerts.watch(watched);
    expect(await s.alerts.applyAlarm(change('ALARM', { topicArn: 'arn:aws:sns:us-east-1:111122223333:shared' }))).toMatchObject({ step: 'posted', watched });
    expect((await s.alerts.applyAlarm(change('ALARM', { provisionedProductId: undefined, resource: 'some-alarm' }))).watched).toBeUndefined();
  });

  it('records the topics scicomp owns', async () => {
    expect(await s.alerts.isKnownTopic(TOPIC)).toBe(false);
    expect(await s.alerts.topicOwner(TOPIC)).toBeUndefined();
    await s.alerts.recordTopic(TOPIC, OWNER);
    expect(await s.alerts.isKnownTopic(TOPIC)).toBe(true);
    expect(await s.alerts.topicOwner(TOPIC)).toEqual(OWNER);
    expect(await s.alerts.isKnownTopic(`${TOPIC}-other`)).toBe(false);
  });

  it('watches a product and indexes its instance; a replaced instance leaves the index; unwatching forgets both', async () => {
    const w: WatchedProduct = { provisionedProductId: 'pp-1', name: 'jdoe-box', productName: 'EC2 Linux', owner: OWNER, alarms: ['a'], instanceId: 'i-old' };
    expect(await s.alerts.watch(w)).toBeUndefined();
    expect(await s.alerts.watched('pp-1')).toEqual(w);
    expect(await s.alerts.productOfInstance('i-old')).toBe('pp-1');
    expect(await s.alerts.watch({ ...w, instanceId: 'i-new' })).toEqual(w);
    expect(await s.alerts.productOfInstance('i-old')).toBeUndefined();
    expect(await s.alerts.productOfInstance('i-new')).toBe('pp-1');
    expect(await s.alerts.unwatch('pp-1')).toEqual({ ...w, instanceId: 'i-new' });
    expect(await s.alerts.watched('pp-1')).toBeUndefined();
    expect(await s.alerts.productOfInstance('i-new')).toBeUndefined();
    expect(await s.alerts.unwatch('pp-1')).toBeUndefined();
  });

  it('hands out copies: changing what it returned changes nothing stored', async () => {
    const w: WatchedProduct = { provisionedProductId: 'pp-1', name: 'jdoe-box', productName: 'EC2 Linux', owner: OWNER, alarms: ['a'] };
    await s.alerts.watch(w);
    w.alarms.push('b');
    (await s.alerts.watched('pp-1'))!.alarms.push('c');
    expect((await s.alerts.watched('pp-1'))!.alarms).toEqual(['a']);
  });
});

describe('alert state in memory, by its clock', () => {
  it('forgets an alert and an applied MessageId when their time is up', async () => {
    let now = Date.UTC(2026, 10, 23);
    const clock = { now: () => now };
    const alerts = new MemoryAlertState({ clock, snoozes: new MemorySnoozes(clock) });
    await alerts.recordTopic(TOPIC, OWNER);
    const c = (messageId: string): AlarmStateChange => ({ messageId, topicArn: TOPIC, resource: 'r', state: 'ALARM', messageKey: `sns:${messageId}`, changedAt: 'x', now, snoozable: false, windows: WINDOWS });
    expect((await alerts.applyAlarm(c('a'))).step).toBe('posted');
    now += WINDOWS.appliedTtlMs + 1;
    // The MessageId is forgotten (a new step), the open alert is not: it coalesces.
    expect((await alerts.applyAlarm(c('a'))).step).toBe('coalesced');
    now += WINDOWS.openTtlMs + 1;
    expect((await alerts.applyAlarm(c('b'))).step).toBe('posted');
  });
});
