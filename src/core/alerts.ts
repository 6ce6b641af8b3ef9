// Watching what users run: their topic and budget on first launch, alarms per instance, and each alert routed to its owner.
import { ALARM_KINDS, alarmName, parseAlarmName } from './alarm-names.js';
import { announcedKey, type Actor, type CoreDeps, type Ctx, type WatchRequest } from './context.js';
import { NotAuthorizedError, NotFoundError, UserInputError } from './errors.js';
import { awsToken, requestIdFrom } from './ids.js';
import { actorLabel } from './launch.js';
import { instanceIdOf, statusOf, terminate } from './lifecycle.js';
import type { Message } from './message.js';
import { isOwner, ownProduct } from './ownership.js';
import type { AlarmKind, Platform, ProductRecord } from './ports.js';

export interface Owner {
  platform: Platform;
  userId: string;
  email: string;
}

/** What an alarm is about, kept when its alarms are created so an alert finds its product without an AWS call. */
interface Watched {
  provisionedProductId: string;
  name: string;
  productName: string;
  owner: Owner;
  alarms: string[];
}

/** Repeats of one resource's alarm within this window of its first update one message (CloudWatch re-notifies only via OK). */
const COALESCE_MS = 6 * 3600_000;
/** An open alarm keeps its message until OK arrives: idle and disk alarms last days. */
const OPEN_TTL_MS = 30 * 86400_000;
/**
 * How long an applied notification's outcome is kept, so a retried job replays it instead of counting it twice: at least
 * as long as POST /sns accepts a message (SNS_MAX_AGE_MS), so a redelivery is never new again.
 */
const APPLIED_TTL_MS = 24 * 3600_000;
export const appliedTtlMs = (deps: Pick<CoreDeps, 'snsMaxAgeMs'>) => Math.max(APPLIED_TTL_MS, deps.snsMaxAgeMs ?? 0);
/** How long a repeat's edit waits for its first message to land before it may post on its own. */
const ANNOUNCE_TTL_MS = 3600_000;
const SNOOZE_MAX_MS = 30 * 86400_000;

function safeName(email: string): string {
  return email.toLowerCase().replace(/[^a-z0-9_-]/g, '-');
}

export const topicName = (email: string) => `scicomp-user-${safeName(email)}`;
export const budgetName = (email: string) => `scicomp-${safeName(email)}`;
const watchedKey = (deps: CoreDeps, ppId: string) => deps.store.key('watched', ppId);
export const topicOwnerKey = (deps: Pick<CoreDeps, 'store'>, arn: string) => deps.store.key('topic-owner', arn);
export const knownTopicsKey = (deps: Pick<CoreDeps, 'store'>) => deps.store.key('topics');
const userTopicKey = (deps: CoreDeps, email: string) => deps.store.key('user-topic', email.toLowerCase());
const snoozeKey = (deps: CoreDeps, ppId: string) => deps.store.key('snooze', ppId);

/** The user's SNS topic (with email and HTTPS subscriptions) and monthly budget; idempotent, so every launch may call it. */
export async function ensureUserWiring(owner: Owner, deps: CoreDeps): Promise<string> {
  const input = { name: topicName(owner.email), ownerEmail: owner.email, endpoint: deps.snsEndpoint };
  const topicArn = await deps.topics.createTopic(input);
  // Known before Subscribe: SNS sends its SubscriptionConfirmation at once, and POST /sns refuses unknown topics.
  await deps.store.redis
    .multi()
    .set(topicOwnerKey(deps, topicArn), JSON.stringify(owner))
    .sadd(knownTopicsKey(deps), topicArn)
    .set(userTopicKey(deps, owner.email), topicArn)
    .exec();
  await deps.topics.ensureSubscriptions(topicArn, input);
  const accountId = topicArn.split(':')[4]!;
  await deps.budgets.ensureUserBudget({ accountId, name: budgetName(owner.email), ownerEmail: owner.email, monthlyUsd: deps.policy().doc.budgets.monthlyUsd, topicArn });
  return topicArn;
}

function thresholds(deps: CoreDeps): Record<AlarmKind, { threshold: number; periodSeconds: number; evaluationPeriods: number }> {
  const a = deps.policy().doc.alarms;
  return { 'cpu-high': a.cpuHigh, 'cpu-idle': a.cpuIdle, 'memory-high': a.memoryHigh, 'disk-high': a.diskHigh };
}

/** Runs when a record settles: wiring on a first launch, alarms on a running instance, their deletion on terminate. */
export async function onRecordSettled(w: WatchRequest, record: ProductRecord, deps: CoreDeps): Promise<void> {
  if (record.status !== 'SUCCEEDED' || !w.provisionedProductId) return;
  const ppId = w.provisionedProductId;
  if (w.action === 'terminate') {
    const watched = await deps.store.getJson<Watched>(watchedKey(deps, ppId));
    const names = watched?.alarms ?? ALARM_KINDS.map((k) => alarmName(ppId, k));
    await deps.alarms.deleteAlarms(names);
    await deps.audit.append({ actor: 'scicomp', action: 'aws.delete-alarms', target: w.name, outcome: `${names.length} alarms`, requestId: w.requestId });
    await deps.store.del(watchedKey(deps, ppId), snoozeKey(deps, ppId));
    return;
  }
  if (w.action !== 'provision' && w.action !== 'update' && w.action !== 'transfer') return;
  const topicArn = await ensureUserWiring(w.owner, deps);
  const instanceId = w.kind === 'instance' || w.kind === 'cluster' ? instanceIdOf(record.outputs) : undefined;
  let alarms: string[] = [];
  if (instanceId) {
    // The same names each time: an update's new instance or a new owner's topic overwrite the alarms in place.
    alarms = await deps.alarms.putInstanceAlarms({ provisionedProductId: ppId, instanceId, topicArn, thresholds: thresholds(deps) });
    await deps.audit.append({ actor: 'scicomp', action: 'aws.put-alarms', target: w.name, parameters: { instanceId }, outcome: `${alarms.length} alarms`, requestId: w.requestId });
  }
  const watched: Watched = { provisionedProductId: ppId, name: w.name, productName: w.productName, owner: w.owner, alarms };
  await deps.store.setJson(watchedKey(deps, ppId), watched);
}

// ---------- alerts ----------

export interface SnsNotification {
  messageId: string;
  topicArn: string;
  subject?: string;
  message: string;
  timestamp: string;
}

interface CloudWatchAlarm {
  AlarmName: string;
  NewStateValue: 'ALARM' | 'OK' | 'INSUFFICIENT_DATA';
  OldStateValue?: string;
  NewStateReason?: string;
  StateChangeTime?: string;
  Trigger?: { MetricName?: string; Namespace?: string; Threshold?: number; Dimensions?: { name?: string; value?: string }[] };
}

export type ParsedAlert =
  | { type: 'alarm'; alarm: CloudWatchAlarm; value?: string }
  | { type: 'budget'; budget: string; alertType: string; threshold: string; amount?: string; budgeted?: string }
  | { type: 'other'; text: string };

export function parseAlert(n: SnsNotification): ParsedAlert {
  try {
    const json = JSON.parse(n.message) as Partial<CloudWatchAlarm>;
    if (json && typeof json.AlarmName === 'string' && typeof json.NewStateValue === 'string') {
      // "Threshold Crossed: 3 datapoints [97.5 (23/11/26 10:02:00), ...] were greater than the threshold (95.0)."
      const value = /\[([0-9.]+) \(/.exec(json.NewStateReason ?? '')?.[1];
      return { type: 'alarm', alarm: json as CloudWatchAlarm, value };
    }
  } catch {
    // not JSON: a Budgets notification or something else
  }
  const field = (label: string) => new RegExp(`^${label}:\\s*(.+)$`, 'm').exec(n.message)?.[1]?.trim();
  const budget = field('Budget Name');
  if (budget && /AWS Budget/i.test(`${n.subject ?? ''}\n${n.message}`)) {
    const alertType = field('Alert Type') ?? 'ACTUAL';
    return { type: 'budget', budget, alertType, threshold: field('Alert Threshold') ?? '?', amount: field(`${alertType} Amount`), budgeted: field('Budgeted Amount') };
  }
  return { type: 'other', text: n.subject ? `${n.subject}: ${n.message}` : n.message };
}

const KIND_TEXT: Record<AlarmKind, { what: string; recovered: string; advice: string }> = {
  'cpu-high': { what: 'CPU is above its threshold', recovered: 'CPU is back under its threshold', advice: 'If this is not expected, check what is running (top) or move to a larger instance type with /scicomp update.' },
  'cpu-idle': { what: 'is idle', recovered: 'is busy again', advice: 'Stop it to save money, terminate it if you are done, or snooze these pings.' },
  'memory-high': { what: 'memory is nearly full', recovered: 'memory use is back to normal', advice: 'Processes may be killed. Free memory or move to an instance type with more memory.' },
  'disk-high': { what: 'disk is filling up', recovered: 'disk use is back under its threshold', advice: 'Delete or move data to S3 before the disk fills, or grow the volume with /scicomp update.' },
};

/** An idle ping's button value: the provisioned product, and the ping (its message key) that idempotency tokens derive from. */
function pingValue(ppId: string, pingKey: string): string {
  return `${ppId}|${pingKey}`;
}

function parsePingValue(value: string): { ppId: string; ping?: string } {
  const [ppId, ping] = value.split('|', 2);
  return { ppId: ppId!, ping: ping || undefined };
}

function alarmMessage(watched: Watched | undefined, a: CloudWatchAlarm, kind: AlarmKind | undefined, value: string | undefined, count: number, firstAt: string, pingKey: string): Message {
  const name = watched?.name ?? a.AlarmName;
  const k = kind ? KIND_TEXT[kind] : { what: `alarm ${a.AlarmName}`, advice: 'See the alarm in CloudWatch.' };
  const threshold = a.Trigger?.Threshold;
  const measured = value !== undefined && threshold !== undefined ? `${Number(value).toFixed(1)} against a threshold of ${threshold}` : a.NewStateReason ?? '';
  const msg: Message = {
    text: `${name}: ${k.what}${count > 1 ? ` (${count} alarms since ${firstAt})` : ''}`,
    title: `${name}: ${k.what}`,
    tone: 'warning',
    fields: [
      { label: 'Metric', value: `${a.Trigger?.Namespace ?? ''} ${a.Trigger?.MetricName ?? ''}`.trim() || a.AlarmName },
      { label: 'Value', value: measured || 'n/a' },
      { label: 'Since', value: a.StateChangeTime ?? firstAt },
    ],
    body: [k.advice],
    context: count > 1 ? [`Fired ${count} times since ${firstAt}; repeats update this message.`] : [`alarm ${a.AlarmName}`],
  };
  if (kind === 'cpu-idle' && watched) {
    const v = pingValue(watched.provisionedProductId, pingKey);
    msg.actions = [
      { id: 'idle-stop', label: 'Stop', value: v },
      { id: 'idle-terminate', label: 'Terminate', value: v, style: 'danger' },
      { id: 'idle-snooze', label: 'Snooze 24 h', value: v },
      { id: 'idle-keep', label: 'Keep', value: v },
    ];
  }
  return msg;
}

/** One resource's alert (a provisioned product and alarm kind): its message, and how often it fired in the window. */
interface AlertState {
  /** Outbox key of the message every repeat and recovery updates. */
  key: string;
  count: number;
  firstAt: string;
  firstAtMs: number;
  open: boolean;
  /** Bumped on every change, so the outbox can drop an update that arrives after a newer one. */
  seq: number;
}

type Step = 'posted' | 'coalesced' | 'recovered' | 'snoozed' | 'ignored';

/**
 * One notification applied to its resource's alert state, atomically, in one round trip that also reads what routing
 * needs. A replayed MessageId returns the outcome stored the first time.
 * KEYS: topic owner, watched, snooze, alert state, applied marker, the new message's outbox announcement. ARGV: event,
 * message key, now, state change time, coalescing window, open TTL, applied TTL, whether snooze applies, announcement TTL.
 */
const ALERT_STEP = `
local owner = redis.call('GET', KEYS[1])
local watched = redis.call('GET', KEYS[2])
local applied = redis.call('GET', KEYS[5])
if applied then return {owner, watched, applied} end
local step, st
local raw = redis.call('GET', KEYS[4])
if raw then st = cjson.decode(raw) end
local now = tonumber(ARGV[3])
if not owner and not watched then
  step = 'ignored'
elseif ARGV[1] == 'ALARM' then
  if ARGV[8] == '1' and redis.call('EXISTS', KEYS[3]) == 1 then
    step = 'snoozed'
  elseif st and (st.open or now < st.firstAtMs + tonumber(ARGV[5])) then
    st.count = st.count + 1
    st.open = true
    st.seq = st.seq + 1
    step = 'coalesced'
  else
    st = {key = ARGV[2], count = 1, firstAt = ARGV[4], firstAtMs = now, open = true, seq = 1}
    step = 'posted'
    -- Announced before any repeat can see it: a repeat's edit waits for this message instead of posting anew.
    redis.call('SET', KEYS[6], '1', 'PX', ARGV[9])
  end
  if step ~= 'snoozed' then redis.call('SET', KEYS[4], cjson.encode(st), 'PX', ARGV[6]) end
elseif ARGV[1] == 'OK' and st and st.open then
  st.open = false
  st.seq = st.seq + 1
  step = 'recovered'
  local left = st.firstAtMs + tonumber(ARGV[5]) - now
  if left > 0 then redis.call('SET', KEYS[4], cjson.encode(st), 'PX', left) else redis.call('DEL', KEYS[4]) end
else
  step = 'ignored'
end
local out = cjson.encode({step = step, state = st})
redis.call('SET', KEYS[5], out, 'PX', ARGV[7])
return {owner, watched, out}
`;
function alertStep(deps: CoreDeps, keys: string[], args: (string | number)[]): Promise<[string | null, string | null, string]> {
  return deps.store.script(ALERT_STEP, keys, args);
}

export interface AlertResult {
  outcome: Step;
}

/** One SNS notification to its owner's DM; safe to run concurrently and to retry (the state step is atomic and replayable). */
export async function deliverAlert(n: SnsNotification, deps: CoreDeps): Promise<AlertResult> {
  const parsed = parseAlert(n);
  if (parsed.type === 'alarm') return deliverAlarm(n, parsed.alarm, parsed.value, deps);
  const owner = await deps.store.getJson<Owner>(topicOwnerKey(deps, n.topicArn));
  if (!owner) {
    deps.log.warn({ topicArn: n.topicArn, messageId: n.messageId }, 'notification from a topic with no owner; dropped');
    return { outcome: 'ignored' };
  }
  const to = { platform: owner.platform, kind: 'user' as const, userId: owner.userId };
  if (parsed.type === 'budget') {
    const message: Message = {
      text: `Budget ${parsed.alertType === 'FORECASTED' ? 'forecast to be exceeded' : 'exceeded'}: ${parsed.amount ?? '?'} against ${parsed.threshold}`,
      title: parsed.alertType === 'FORECASTED' ? 'Your spend is forecast to pass your budget' : 'You have passed a budget threshold',
      tone: 'warning',
      fields: [
        { label: 'Budget', value: `${parsed.budget}${parsed.budgeted ? ` (${parsed.budgeted} a month)` : ''}` },
        { label: parsed.alertType === 'FORECASTED' ? 'Forecast' : 'Spent', value: parsed.amount ?? '?' },
        { label: 'Threshold', value: parsed.threshold },
      ],
      body: ['/scicomp list shows what you run; stop or terminate what you no longer need. /scicomp budget shows the details.'],
    };
    await deps.outbox.send({ key: `sns:${n.messageId}`, to, message });
    await deps.feed.publish({ type: 'budget', summary: `${owner.email}: ${message.text}`, key: `sns:${n.messageId}` });
    return { outcome: 'posted' };
  }
  await deps.outbox.send({ key: `sns:${n.messageId}`, to, message: { text: parsed.text.slice(0, 2900), title: 'AWS notification', tone: 'info' } });
  return { outcome: 'posted' };
}

async function deliverAlarm(n: SnsNotification, a: CloudWatchAlarm, value: string | undefined, deps: CoreDeps): Promise<AlertResult> {
  const ref = parseAlarmName(a.AlarmName);
  // Keyed by resource, not by alarm: an alarm recreated for the same product and kind continues the same message.
  const resource = ref ? `${ref.provisionedProductId}:${ref.kind}` : a.AlarmName;
  const keys = [
    topicOwnerKey(deps, n.topicArn),
    ref ? watchedKey(deps, ref.provisionedProductId) : deps.store.key('watched', '-'),
    ref ? snoozeKey(deps, ref.provisionedProductId) : deps.store.key('snooze', '-'),
    deps.store.key('alert', resource),
    deps.store.key('alert-applied', n.messageId),
    announcedKey(deps.store, `sns:${n.messageId}`),
  ];
  const args = [a.NewStateValue, `sns:${n.messageId}`, deps.clock.now(), a.StateChangeTime ?? n.timestamp, COALESCE_MS, OPEN_TTL_MS, appliedTtlMs(deps), ref?.kind === 'cpu-idle' ? '1' : '0', ANNOUNCE_TTL_MS];
  const [ownerJson, watchedJson, out] = await alertStep(deps, keys, args);
  const watched = watchedJson ? (JSON.parse(watchedJson) as Watched) : undefined;
  // A configured topic, or topic-owner keys lost: the alarm's provisioned product still names its owner.
  const owner = ownerJson ? (JSON.parse(ownerJson) as Owner) : watched?.owner;
  const { step, state } = JSON.parse(out) as { step: Step; state?: AlertState };
  if (!owner) {
    deps.log.warn({ topicArn: n.topicArn, alarm: a.AlarmName, messageId: n.messageId }, 'alarm with no known owner; dropped');
    return { outcome: 'ignored' };
  }
  const name = watched?.name ?? a.AlarmName;
  if (step === 'snoozed') {
    await deps.audit.append({ actor: 'scicomp', action: 'alert.snoozed', target: name, outcome: 'not sent', requestId: n.messageId });
    return { outcome: 'snoozed' };
  }
  if (step === 'ignored' || !state) return { outcome: 'ignored' };
  const to = { platform: owner.platform, kind: 'user' as const, userId: owner.userId };
  const key = `sns:${n.messageId}`;
  const replaces = state.key === key ? undefined : state.key;
  if (step === 'recovered') {
    const times = `it fired ${state.count} time${state.count === 1 ? '' : 's'}${state.count > 1 ? ` since ${state.firstAt}` : ''}`;
    await deps.outbox.send({
      key,
      replaces,
      version: state.seq,
      to,
      message: { text: `${name} recovered: ${ref ? KIND_TEXT[ref.kind].recovered : `${a.AlarmName} is OK`}.`, title: `${name} recovered`, tone: 'success', context: [`alarm ${a.AlarmName} is OK again (${a.StateChangeTime ?? n.timestamp}); ${times}`] },
    });
    return { outcome: 'recovered' };
  }
  const message = alarmMessage(watched, a, ref?.kind, value, state.count, state.firstAt, state.key);
  await deps.outbox.send({ key, replaces, version: state.seq, to, message });
  if (step === 'posted') await deps.feed.publish({ type: 'alarm', summary: `${owner.email}: ${message.text}`, key });
  return { outcome: step };
}

// ---------- acting on alerts ----------

async function ownedWatched(ppId: string, actor: Actor, deps: CoreDeps) {
  const product = (await deps.catalog.searchProvisioned()).find((p) => p.id === ppId);
  if (!product) throw new NotFoundError('That product no longer exists.');
  if (!isOwner(product, actor.email)) throw new NotAuthorizedError(`${product.name} is not yours; only its owner can act on its alerts.`);
  return product;
}

export function parseDuration(text: string): number {
  const m = /^(\d+)\s*(m|min|h|d)$/i.exec(text.trim());
  if (!m) throw new UserInputError(`"${text}" is not a duration: use minutes, hours or days, like 30m, 24h or 3d.`);
  const ms = Number(m[1]) * { m: 60_000, min: 60_000, h: 3600_000, d: 86400_000 }[m[2]!.toLowerCase() as 'm' | 'min' | 'h' | 'd'];
  if (ms <= 0) throw new UserInputError('Snooze for at least a minute.');
  if (ms > SNOOZE_MAX_MS) throw new UserInputError('Snooze for at most 30 days; terminate what you no longer need.');
  return ms;
}

async function snooze(ppId: string, name: string, ms: number, ctx: Ctx, deps: CoreDeps): Promise<Message> {
  const until = deps.clock.now() + ms;
  await deps.store.redis.set(snoozeKey(deps, ppId), String(until), 'PX', ms);
  await deps.audit.append({ actor: actorLabel(ctx.actor), action: 'alert.snooze', target: name, parameters: { until: new Date(until).toISOString() }, outcome: 'ok', requestId: ctx.requestId });
  return { text: `Idle pings for ${name} are muted until ${new Date(until).toISOString().slice(0, 16).replace('T', ' ')} UTC.`, tone: 'success' };
}

export async function snoozeCommand(name: string, duration: string, ctx: Ctx, deps: CoreDeps): Promise<Message> {
  const ms = parseDuration(duration);
  const product = await ownProduct(deps, ctx.actor, name);
  return snooze(product.id, product.name, ms, ctx, deps);
}

export const idleActions = {
  'idle-stop': async (value: string, ctx: Ctx, deps: CoreDeps): Promise<Message> => {
    const { ppId, ping } = parsePingValue(value);
    const product = await ownedWatched(ppId, ctx.actor, deps);
    const actions = product.productId && product.versionId ? await deps.catalog.listServiceActions(product.productId, product.versionId) : [];
    const stop = actions.find((a) => /stop/i.test(a.name));
    if (!stop) {
      return { text: `${product.name} has no Stop action in the catalog, so I can't stop it. Terminate it if you are done, or ask IT to add a stop action to ${product.productName ?? 'its product'}.`, tone: 'warning' };
    }
    // One ping, one stop: a double click (or both of two clicks on one ping) reuses the token and so the record.
    const token = awsToken('stop', ping ? requestIdFrom('idle-stop', ppId, ping) : ctx.requestId);
    const { recordId } = await deps.catalog.executeServiceAction({ provisionedProductId: ppId, serviceActionId: stop.id, token });
    await deps.audit.append({ actor: actorLabel(ctx.actor), action: 'aws.service-action', target: product.name, parameters: { action: stop.name }, outcome: `record ${recordId}`, requestId: ctx.requestId });
    await deps.watcher.watch({
      recordId,
      provisionedProductId: ppId,
      name: product.name,
      productName: product.productName ?? product.name,
      kind: deps.policy().productRule(product.productName ?? product.name).kind,
      action: 'service-action',
      owner: { platform: ctx.actor.platform, userId: ctx.actor.userId, email: ctx.actor.email },
      requestId: ctx.requestId,
    });
    return { text: `Stopping ${product.name} (${stop.name}). I'll tell you when it is done.`, tone: 'info' };
  },
  'idle-terminate': async (value: string, ctx: Ctx, deps: CoreDeps): Promise<Message> => {
    const product = await ownedWatched(parsePingValue(value).ppId, ctx.actor, deps);
    return terminate(product.name, ctx, deps);
  },
  'idle-snooze': async (value: string, ctx: Ctx, deps: CoreDeps): Promise<Message> => {
    const { ppId } = parsePingValue(value);
    const product = await ownedWatched(ppId, ctx.actor, deps);
    return snooze(ppId, product.name, 24 * 3600_000, ctx, deps);
  },
  'idle-keep': async (value: string, ctx: Ctx, deps: CoreDeps): Promise<Message> => {
    const product = await ownedWatched(parsePingValue(value).ppId, ctx.actor, deps);
    await deps.audit.append({ actor: actorLabel(ctx.actor), action: 'alert.keep', target: product.name, outcome: 'ok', requestId: ctx.requestId });
    return { text: `Keeping ${product.name} running. I'll ping you again at its next idle alarm.`, tone: 'success' };
  },
};

// ---------- budget ----------

export function bar(fraction: number, width = 20): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

export async function budgetCommand(ctx: Ctx, deps: CoreDeps): Promise<Message> {
  const topicArn = await deps.store.redis.get(userTopicKey(deps, ctx.actor.email));
  const summary = topicArn ? await deps.budgets.describeUserBudget({ accountId: topicArn.split(':')[4]!, name: budgetName(ctx.actor.email) }) : undefined;
  if (!summary) return { text: 'You have no budget yet: it is created with your first launch.', tone: 'info' };
  const used = summary.limitUsd > 0 ? summary.actualUsd / summary.limitUsd : 0;
  const usd = (n: number) => `$${n.toFixed(2)}`;
  return {
    text: `You have spent ${usd(summary.actualUsd)} of your ${usd(summary.limitUsd)} monthly budget (${Math.round(used * 100)}%).`,
    title: 'Your budget this month',
    tone: used >= 1 ? 'error' : used >= 0.8 ? 'warning' : 'info',
    fields: [
      { label: 'Budget', value: `${usd(summary.limitUsd)} a month` },
      { label: 'Spent to date', value: usd(summary.actualUsd) },
      { label: 'Forecast', value: summary.forecastUsd !== undefined ? usd(summary.forecastUsd) : 'not yet available' },
    ],
    code: [`${bar(used)} ${Math.round(used * 100)}%`],
  };
}

// ---------- status ----------

const KIND_SHORT: Record<AlarmKind, string> = { 'cpu-high': 'CPU', 'cpu-idle': 'idle', 'memory-high': 'memory', 'disk-high': 'disk' };

/** `status <name>` with what watches it: its alarms (and a snooze), and the owner's spend this month. */
export async function statusWithWatch(name: string, ctx: Ctx, deps: CoreDeps): Promise<Message> {
  const product = await ownProduct(deps, ctx.actor, name);
  const [message, watched, snoozedUntil, topicArn] = await Promise.all([
    statusOf(product, deps),
    deps.store.getJson<Watched>(watchedKey(deps, product.id)),
    deps.store.redis.get(snoozeKey(deps, product.id)),
    deps.store.redis.get(userTopicKey(deps, ctx.actor.email)),
  ]);
  const t = thresholds(deps);
  const kinds = (watched?.alarms ?? []).map((a) => parseAlarmName(a)?.kind).filter((k): k is AlarmKind => k !== undefined);
  const alarms = kinds.map((k) => `${KIND_SHORT[k]} ${k === 'cpu-idle' ? '<' : '>'} ${t[k].threshold} %`).join(', ');
  const fields = [...(message.fields ?? [])];
  fields.push({ label: 'Alarms', value: alarms || 'none (only running instances are watched)' });
  if (snoozedUntil) fields.push({ label: 'Idle pings', value: `snoozed until ${new Date(Number(snoozedUntil)).toISOString().slice(0, 16).replace('T', ' ')} UTC` });
  // Spend is tracked per owner (the OwnerEmail cost allocation tag), not per product.
  const budget = topicArn ? await deps.budgets.describeUserBudget({ accountId: topicArn.split(':')[4]!, name: budgetName(ctx.actor.email) }).catch(() => undefined) : undefined;
  if (budget) fields.push({ label: 'Your spend this month', value: `$${budget.actualUsd.toFixed(2)} of $${budget.limitUsd.toFixed(2)}` });
  return { ...message, fields };
}

export { isOwner };
