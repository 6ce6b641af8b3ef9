// Alerting scenarios on the core alone (a recording outbox, a fake clock, the sandbox's AWS), run once against the
// in-memory repositories and once against the Redis ones: the same story must hold on both.
import { pino } from 'pino';
import { Channels } from '../../src/core/channel.js';
import { RecordingChannel } from '../support/recording-channel.js';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryAlertState } from '../../src/adapters/memory/alert-state.js';
import { MemoryInventory } from '../../src/adapters/memory/inventory.js';
import { MemorySnoozes } from '../../src/adapters/memory/snoozes.js';
import { MemoryWiring } from '../../src/adapters/memory/wiring.js';
import { RedisAlertState } from '../../src/adapters/redis/alert-state.js';
import { RedisSnoozes } from '../../src/adapters/redis/snoozes.js';
import { RedisWiring } from '../../src/adapters/redis/wiring.js';
import { budgetCommand, deliverAlert, onRecordSettled, snoozeCommand, statusWithWatch } from '../../src/core/alerts.js';
import type { AuditEntry, AuditLog, CoreDeps, Ctx, FeedEvent, OutboxItem, WatchRequest } from '../../src/core/context.js';
import { loadPolicy, type Policy } from '../../src/core/policy.js';
import type { Clock, ProductRecord, ProvisionedProduct } from '../../src/core/ports.js';
import { SandboxAlarms, SandboxBudgets, SandboxTopics } from '../../src/sandbox/alerts.js';
import { backends, testRedis } from '../support/backends.js';
import { alarmMessage, budgetMessage } from '../support/sns.js';

const OWNER = { platform: 'slack' as const, userId: 'UJDOE', email: 'jdoe@synapse.org' };
const TOPIC = 'arn:aws:sns:us-east-1:111122223333:scicomp-user-jdoe-synapse-org';
const PP = 'pp-scenario1';
const INSTANCE = 'i-0123456789abcdef0';

const redis = testRedis();

type Repositories = Pick<CoreDeps, 'alertState' | 'snoozes' | 'wiring'>;
const implementations = backends<[Clock], Repositories>(
  (clock) => {
    const snoozes = new MemorySnoozes(clock);
    return { alertState: new MemoryAlertState({ clock, snoozes }), snoozes, wiring: new MemoryWiring() };
  },
  (clock) => {
    const store = redis.store();
    return { alertState: new RedisAlertState(store), snoozes: new RedisSnoozes(store, clock), wiring: new RedisWiring(store) };
  },
);

let policy: Policy;
beforeAll(async () => {
  policy = await loadPolicy('manifests/catalog.yaml');
});

describe.each(implementations)('alerts with their state %s', (_name, repositories) => {
  let now = Date.UTC(2026, 10, 23, 10);
  const clock: Clock = { now: () => now };
  let sent: OutboxItem[];
  let feed: FeedEvent[];
  let audit: AuditEntry[];
  let alarms: SandboxAlarms;
  let budgets: SandboxBudgets;
  let deps: CoreDeps;
  let n = 0;
  const product: ProvisionedProduct = { id: PP, name: 'jdoe-box', status: 'AVAILABLE', productName: 'EC2 Linux', tags: { OwnerEmail: OWNER.email } };
  const ctx: Ctx = { actor: { ...OWNER, username: 'jdoe', name: 'J Doe', handles: [{ platform: 'slack', userId: OWNER.userId }] }, requestId: 'req-1', reply: { platform: 'slack', kind: 'user', userId: OWNER.userId } };

  beforeEach(() => {
    now = Date.UTC(2026, 10, 23, 10);
    sent = [];
    feed = [];
    audit = [];
    alarms = new SandboxAlarms();
    budgets = new SandboxBudgets();
    deps = {
      ...repositories(clock),
      catalog: { searchProvisioned: async () => [product] },
      inventory: new MemoryInventory(clock),
      inventoryPacing: { pagesPerSecond: 100 },
      outbox: { send: async (item: OutboxItem) => void sent.push(item), permalink: async () => undefined },
      feed: { publish: async (e: FeedEvent) => void feed.push(e) },
      audit: { append: async (e: AuditEntry) => void audit.push(e), recent: async () => [] } satisfies AuditLog,
      clock,
      policy: () => policy,
      topics: new SandboxTopics(),
      alarms,
      budgets,
      snsEndpoint: 'https://scicomp.example.org/sns',
      channels: new Channels([new RecordingChannel('slack', (words) => `/scicomp ${words}`)]),
      log: pino({ level: 'silent' }),
    } as unknown as CoreDeps;
  });

  const watch = (action: WatchRequest['action']): [WatchRequest, ProductRecord] => [
    { recordId: `rec-${action}`, provisionedProductId: PP, name: 'jdoe-box', productName: 'EC2 Linux', kind: 'instance', action, owner: OWNER, requestId: `req-${action}` },
    { id: `rec-${action}`, status: 'SUCCEEDED', type: 'PROVISION_PRODUCT', errors: [], outputs: [{ key: 'InstanceId', value: INSTANCE }] },
  ];
  const launched = () => onRecordSettled(...watch('provision'), deps);
  const note = (message: string, o: { messageId?: string; topicArn?: string } = {}) => ({
    messageId: o.messageId ?? `m-${++n}`,
    topicArn: o.topicArn ?? TOPIC,
    message,
    timestamp: new Date(now).toISOString(),
  });
  const alarm = (kind: string, state: 'ALARM' | 'OK' | 'INSUFFICIENT_DATA', alarmName = `scicomp-${PP}-${kind}`) => note(alarmMessage({ alarmName, state }));

  it('a first launch wires the owner: topic, budget, alarms, and the product watched', async () => {
    await launched();
    expect(await deps.alertState.isKnownTopic(TOPIC)).toBe(true);
    expect(await deps.alertState.topicOwner(TOPIC)).toEqual(OWNER);
    expect(await deps.wiring.topicOf(OWNER.email)).toBe(TOPIC);
    expect(budgets.budgets.get('scicomp-jdoe-synapse-org')).toMatchObject({ topicArn: TOPIC });
    expect(alarms.alarms.size).toBe(4);
    expect(await deps.alertState.watched(PP)).toMatchObject({ name: 'jdoe-box', owner: OWNER, instanceId: INSTANCE, alarms: [...alarms.alarms.keys()] });
    expect(await deps.alertState.productOfInstance(INSTANCE)).toBe(PP);
  });

  it('an alarm reaches its owner once, repeats edit it, OK recovers it', async () => {
    await launched();
    const first = alarm('cpu-high', 'ALARM');
    expect(await deliverAlert(first, deps)).toEqual({ outcome: 'posted' });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ key: `sns:${first.messageId}`, version: 1, to: { platform: 'slack', kind: 'user', userId: OWNER.userId } });
    expect(sent[0]!.replaces).toBeUndefined();
    expect(sent[0]!.message.text).toBe('jdoe-box: CPU is above its threshold');
    expect(feed).toMatchObject([{ type: 'alarm', key: sent[0]!.key }]);
    // A redelivery replays the same message (the outbox posts a key once); it is not a second alert.
    expect(await deliverAlert(first, deps)).toEqual({ outcome: 'posted' });
    expect(sent[1]).toMatchObject({ key: sent[0]!.key, version: 1 });
    now += 3600_000;
    expect(await deliverAlert(alarm('cpu-high', 'ALARM'), deps)).toEqual({ outcome: 'coalesced' });
    expect(sent.at(-1)).toMatchObject({ replaces: sent[0]!.key, version: 2 });
    expect(sent.at(-1)!.message.text).toContain('(2 alarms since');
    expect(await deliverAlert(alarm('cpu-high', 'OK'), deps)).toEqual({ outcome: 'recovered' });
    expect(sent.at(-1)).toMatchObject({ replaces: sent[0]!.key, version: 3 });
    expect(sent.at(-1)!.message.text).toBe('jdoe-box recovered: CPU is back under its threshold.');
    // Only news reaches the feed (its posts are keyed, so a replay is the same post).
    expect(new Set(feed.map((e) => `${e.type} ${e.key}`))).toEqual(new Set([`alarm ${sent[0]!.key}`]));
  });

  it('an alarm scicomp did not name finds the product by its instance, for the product’s owner only', async () => {
    await launched();
    const foreign = JSON.parse(alarmMessage({ alarmName: 'team-cpu', state: 'ALARM' })) as { Trigger: { Dimensions: { name: string; value: string }[] } };
    foreign.Trigger.Dimensions = [{ name: 'InstanceId', value: INSTANCE }];
    expect(await deliverAlert(note(JSON.stringify(foreign)), deps)).toEqual({ outcome: 'posted' });
    expect(sent.at(-1)!.message.text).toMatch(/^jdoe-box: alarm team-cpu/);
  });

  it('snoozing a product mutes its idle pings, shows in status, and ends with the product', async () => {
    await launched();
    expect((await snoozeCommand('box', '2h', ctx, deps)).text).toContain('Idle pings for jdoe-box are muted until 2026-11-23 12:00 UTC');
    expect(await deliverAlert(alarm('cpu-idle', 'ALARM'), deps)).toEqual({ outcome: 'snoozed' });
    expect(sent).toHaveLength(0);
    expect(audit.map((e) => e.action)).toContain('alert.snoozed');
    const status = await statusWithWatch('box', ctx, deps);
    expect(status.fields).toContainEqual({ label: 'Idle pings', value: 'snoozed until 2026-11-23 12:00 UTC' });
    expect(status.fields).toContainEqual({ label: 'Alarms', value: 'CPU > 95 %, idle < 5 %, memory > 85 %, disk > 80 %' });
    // The CPU alarm is not an idle ping: it goes through.
    expect(await deliverAlert(alarm('cpu-high', 'ALARM'), deps)).toEqual({ outcome: 'posted' });
    await onRecordSettled(...watch('terminate'), deps);
    expect(alarms.alarms.size).toBe(0);
    expect(await deps.alertState.watched(PP)).toBeUndefined();
    expect(await deps.alertState.productOfInstance(INSTANCE)).toBeUndefined();
    expect(await deps.snoozes.until(PP)).toBeUndefined();
  });

  it('a budget notification reaches the topic’s owner; the budget command finds their budget by email', async () => {
    expect((await budgetCommand(ctx, deps)).text).toBe('You have no budget yet: it is created with your first launch.');
    await launched();
    budgets.setSpend('scicomp-jdoe-synapse-org', 250, 400);
    expect((await budgetCommand({ ...ctx, actor: { ...ctx.actor, email: 'JDoe@Synapse.org' } }, deps)).text).toBe('You have spent $250.00 of your $500.00 monthly budget (50%).');
    expect(await deliverAlert(note(budgetMessage('scicomp-jdoe-synapse-org'), {}), deps)).toEqual({ outcome: 'posted' });
    expect(sent.at(-1)!.message.title).toBe('You have passed a budget threshold');
  });

  it('a notification from a topic nobody owns is dropped', async () => {
    expect(await deliverAlert(note('Maintenance notice', { topicArn: `${TOPIC}-other` }), deps)).toEqual({ outcome: 'ignored' });
    expect(await deliverAlert(alarm('cpu-high', 'ALARM'), deps)).toEqual({ outcome: 'ignored' });
    expect(sent).toHaveLength(0);
  });
});
