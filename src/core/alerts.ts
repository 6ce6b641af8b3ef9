// Watching what users run: their topic and budget on first launch, alarms per instance, and each alert routed to its owner.
import { ALARM_KINDS, alarmName, parseAlarmName } from './alarm-names.js';
import type { Actor, CoreDeps, Ctx, WatchRequest } from './context.js';
import { NotAuthorizedError, NotFoundError, UserInputError } from './errors.js';
import { awsToken, requestIdFrom } from './ids.js';
import { actorLabel } from './launch.js';
import { instanceIdOf, statusOf, terminate } from './lifecycle.js';
import type { Message } from './message.js';
import { startMutation } from './mutations.js';
import { parseAlert, type AlarmAlert, type BudgetAlert, type BudgetPeriod, type SnsNotification, type UnrecognisedAlert } from './notifications.js';
import { isOwner, ownProduct, productById } from './ownership.js';
import type { AlarmKind, ProductRecord } from './ports.js';
import type { AlertState, AlertStep, AlertWindows, Owner, WatchedProduct } from './repositories/alert-state.js';
import type { CommandText } from './channel.js';

export { parseAlert, type ParsedAlert, type SnsNotification } from './notifications.js';

export type { Owner } from './repositories/alert-state.js';

/** Repeats of one resource's alarm within this window of its first update one message (CloudWatch re-notifies only via OK). */
const COALESCE_MS = 6 * 3600_000;
/** An open alarm keeps its message until OK arrives: idle and disk alarms last days. */
const OPEN_TTL_MS = 30 * 86400_000;
/**
 * How long an applied notification's outcome is kept, so a retried job replays it instead of counting it twice: at least
 * as long as POST /sns accepts a message (SNS_MAX_AGE_MS), so a redelivery is never new again.
 */
const APPLIED_TTL_MS = 24 * 3600_000;
const appliedTtlMs = (deps: Pick<CoreDeps, 'snsMaxAgeMs'>) => Math.max(APPLIED_TTL_MS, deps.snsMaxAgeMs ?? 0);
/** How long a repeat's edit waits for its first message to land before it may post on its own. */
const ANNOUNCE_TTL_MS = 3600_000;
const windows = (deps: Pick<CoreDeps, 'snsMaxAgeMs'>): AlertWindows => ({ coalesceMs: COALESCE_MS, openTtlMs: OPEN_TTL_MS, appliedTtlMs: appliedTtlMs(deps), announceTtlMs: ANNOUNCE_TTL_MS });
const SNOOZE_MAX_MS = 30 * 86400_000;

function safeName(email: string): string {
  return email.toLowerCase().replace(/[^a-z0-9_-]/g, '-');
}

export const topicName = (email: string) => `scicomp-user-${safeName(email)}`;
export const budgetName = (email: string) => `scicomp-${safeName(email)}`;

/** The user's SNS topic (with email and HTTPS subscriptions) and monthly budget; idempotent, so every launch may call it. */
export async function ensureUserWiring(owner: Owner, deps: CoreDeps): Promise<string> {
  const input = { name: topicName(owner.email), ownerEmail: owner.email, endpoint: deps.snsEndpoint };
  const topicArn = await deps.topics.createTopic(input);
  // Known before Subscribe: SNS sends its SubscriptionConfirmation at once, and POST /sns refuses unknown topics.
  await deps.alertState.recordTopic(topicArn, owner);
  await deps.wiring.setTopic(owner.email, topicArn);
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
    const watched = await deps.alertState.watched(ppId);
    const names = watched?.alarms ?? ALARM_KINDS.map((k) => alarmName(ppId, k));
    await deps.alarms.deleteAlarms(names);
    await deps.audit.append({ actor: 'scicomp', action: 'aws.delete-alarms', target: w.name, outcome: `${names.length} alarms`, requestId: w.requestId });
    await deps.alertState.unwatch(ppId);
    await deps.snoozes.clear(ppId);
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
  // An update that replaced the instance: the repository drops its old id from the instance index.
  await deps.alertState.watch({ provisionedProductId: ppId, name: w.name, productName: w.productName, owner: w.owner, alarms, ...(instanceId ? { instanceId } : {}) });
}

// ---------- alerts ----------

const KIND_TEXT: Record<AlarmKind, { what: string; recovered: string; advice: (say: CommandText) => string }> = {
  'cpu-high': { what: 'CPU is above its threshold', recovered: 'CPU is back under its threshold', advice: (say) => `If this is not expected, check what is running (top) or move to a larger instance type with ${say('update')}.` },
  'cpu-idle': { what: 'is idle', recovered: 'is busy again', advice: () => 'Stop it to save money, terminate it if you are done, or snooze these pings.' },
  'memory-high': { what: 'memory is nearly full', recovered: 'memory use is back to normal', advice: () => 'Processes may be killed. Free memory or move to an instance type with more memory.' },
  'disk-high': { what: 'disk is filling up', recovered: 'disk use is back under its threshold', advice: (say) => `Delete or move data to S3 before the disk fills, or grow the volume with ${say('update')}.` },
};

const AGENT_STOPPED = 'the CloudWatch agent may have stopped (memory and disk come from the agent), or the instance is stopped.';
/** What an alarm of each kind has no data of (INSUFFICIENT_DATA), and the likely reason. */
const NO_DATA: Record<AlarmKind, { of: string; hint: string }> = {
  'cpu-high': { of: 'CPU', hint: 'CloudWatch gets no CPU data from it: the instance may be stopped.' },
  'cpu-idle': { of: 'CPU', hint: 'CloudWatch gets no CPU data from it: the instance may be stopped.' },
  'memory-high': { of: 'memory', hint: `CloudWatch gets no memory data from it: ${AGENT_STOPPED}` },
  'disk-high': { of: 'disk', hint: `CloudWatch gets no disk data from it: ${AGENT_STOPPED}` },
};

/** Why an alarm scicomp did not name may have no data, from the namespaces it reads. */
function noDataHint(p: AlarmAlert): string {
  const t = p.alarm.Trigger;
  const namespaces = new Set([t?.Namespace, ...(t?.Metrics ?? []).map((q) => q.MetricStat?.Metric?.Namespace)]);
  if (namespaces.has('CWAgent')) return 'CloudWatch has too little data to evaluate it: the CloudWatch agent may have stopped, or the instance is stopped.';
  if (namespaces.has('AWS/EC2')) return 'CloudWatch has too little data to evaluate it: the instance may be stopped or terminated.';
  return 'CloudWatch has too little data to evaluate it: the metric it watches stopped arriving.';
}

/** An idle ping's button value: the provisioned product, and the ping (its message key) that idempotency tokens derive from. */
function pingValue(ppId: string, pingKey: string): string {
  return `${ppId}|${pingKey}`;
}

function parsePingValue(value: string): { ppId: string; ping?: string } {
  const [ppId, ping] = value.split('|', 2);
  return { ppId: ppId!, ping: ping || undefined };
}

function alarmWhat(p: AlarmAlert, kind: AlarmKind | undefined, say: CommandText): { what: string; advice: string } {
  if (kind) return { what: KIND_TEXT[kind].what, advice: KIND_TEXT[kind].advice(say) };
  const composite = p.alarm.AlarmRule !== undefined;
  return { what: `${composite ? 'composite alarm' : 'alarm'} ${p.alarm.AlarmName}`, advice: 'See the alarm in CloudWatch.' };
}

function alarmContext(p: AlarmAlert, extra?: string): string {
  return `alarm ${p.alarm.AlarmName}${p.instanceId ? ` on ${p.instanceId}` : ''}${extra ? `; ${extra}` : ''}`;
}

function alarmMessage(watched: WatchedProduct | undefined, p: AlarmAlert, kind: AlarmKind | undefined, count: number, firstAt: string, pingKey: string, say: CommandText): Message {
  const a = p.alarm;
  const name = watched?.name ?? a.AlarmName;
  const k = alarmWhat(p, kind, say);
  const msg: Message = {
    text: `${name}: ${k.what}${count > 1 ? ` (${count} alarms since ${firstAt})` : ''}`,
    title: `${name}: ${k.what}`,
    tone: 'warning',
    fields: [
      { label: 'Metric', value: p.measures },
      { label: 'Value', value: p.reading || 'n/a' },
      { label: 'Since', value: a.StateChangeTime ?? firstAt },
    ],
    body: [k.advice],
    context: count > 1 ? [`Fired ${count} times since ${firstAt}; repeats update this message.`] : [alarmContext(p)],
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

/** INSUFFICIENT_DATA: the alarm can no longer tell, which for agent metrics usually means the agent stopped. */
function noDataMessage(watched: WatchedProduct | undefined, p: AlarmAlert, kind: AlarmKind | undefined, state: AlertState): Message {
  const a = p.alarm;
  const name = watched?.name ?? a.AlarmName;
  const hint = kind ? NO_DATA[kind].hint : noDataHint(p);
  const fired = state.count > 0 ? `it fired ${state.count} time${state.count === 1 ? '' : 's'} since ${state.firstAt} before that` : undefined;
  return {
    text: kind ? `${name}: no ${NO_DATA[kind].of} data from CloudWatch` : `${name}: alarm ${a.AlarmName} has no data`,
    title: `${name}: no data`,
    tone: 'warning',
    fields: [
      { label: 'Metric', value: p.measures },
      { label: 'Reason', value: p.reading || 'n/a' },
      { label: 'Since', value: a.StateChangeTime ?? state.firstAt },
    ],
    body: [hint],
    context: [alarmContext(p, fired ? `has no data; ${fired}` : 'has no data')],
  };
}

function recoveredMessage(name: string, p: AlarmAlert, kind: AlarmKind | undefined, state: AlertState, at: string): Message {
  const a = p.alarm;
  if (state.count === 0) {
    return { text: `${name}: data is back and ${a.AlarmName} is OK.`, title: `${name} is reporting again`, tone: 'success', context: [`alarm ${a.AlarmName} is OK (${at}); it had no data from ${state.firstAt}`] };
  }
  const times = `it fired ${state.count} time${state.count === 1 ? '' : 's'}${state.count > 1 ? ` since ${state.firstAt}` : ''}`;
  return {
    text: `${name} recovered: ${kind ? KIND_TEXT[kind].recovered : `${a.AlarmName} is OK`}.`,
    title: `${name} recovered`,
    tone: 'success',
    context: [`alarm ${a.AlarmName} is OK again (${at}); ${times}`],
  };
}

const PERIOD_TEXT: Record<BudgetPeriod, { per: string; current: string }> = {
  DAILY: { per: 'a day', current: 'today' },
  MONTHLY: { per: 'a month', current: 'this month' },
  QUARTERLY: { per: 'a quarter', current: 'this quarter' },
  ANNUALLY: { per: 'a year', current: 'this year' },
};

function budgetMessage(b: BudgetAlert, owner: Owner, say: CommandText): Message {
  const forecast = b.alertType === 'FORECASTED';
  const period = b.period ? PERIOD_TEXT[b.period] : undefined;
  const budgeted = b.budgeted ? ` (${b.budgeted} ${period ? period.per : 'budgeted'})` : '';
  // The `budget` command shows scicomp's own monthly budget, not one the owner pointed at their topic themselves.
  const details = b.budget === budgetName(owner.email) ? ` ${say('budget')} shows the details.` : ` ${b.budget} is not the budget ${say('budget')} shows: see it in AWS Budgets.`;
  return {
    text: `Budget ${forecast ? 'forecast to be exceeded' : 'exceeded'}${period ? ` ${period.current}` : ''}: ${b.amount ?? '?'} against ${b.threshold}`,
    title: forecast ? 'Your spend is forecast to pass your budget' : 'You have passed a budget threshold',
    tone: 'warning',
    fields: [
      { label: 'Budget', value: `${b.budget}${budgeted}` },
      { label: forecast ? 'Forecast' : 'Spent', value: b.amount ?? '?' },
      { label: 'Threshold', value: b.threshold },
    ],
    body: [`${say('list')} shows what you run; stop or terminate what you no longer need.${details}`],
  };
}

const UNRECOGNISED = 'Unrecognised AWS notification on your topic';

/** A notification scicomp cannot read still reaches its owner: labelled as such, with its subject and a bounded excerpt. */
function unrecognisedMessage(u: UnrecognisedAlert): Message {
  const subject = u.subject ?? '(no subject)';
  return {
    text: `${UNRECOGNISED}: ${subject}`,
    title: UNRECOGNISED,
    tone: 'info',
    fields: [{ label: 'Subject', value: subject }],
    body: ['scicomp does not know this kind of message, so here is how it begins, as it came.'],
    ...(u.excerpt ? { code: [`${u.truncated ? 'Message (the start of it):' : 'Message:'}\n${u.excerpt}`] } : { context: ['The message was empty.'] }),
  };
}

export interface AlertResult {
  outcome: AlertStep;
}

/** One SNS notification to its owner's DM; safe to run concurrently and to retry (the state step is atomic and replayable). */
export async function deliverAlert(n: SnsNotification, deps: CoreDeps): Promise<AlertResult> {
  const parsed = parseAlert(n);
  if (parsed.type === 'alarm') return deliverAlarm(n, parsed, deps);
  const owner = await deps.alertState.topicOwner(n.topicArn);
  if (!owner) {
    deps.log.warn({ topicArn: n.topicArn, messageId: n.messageId }, 'notification from a topic with no owner; dropped');
    return { outcome: 'ignored' };
  }
  const to = { platform: owner.platform, kind: 'user' as const, userId: owner.userId };
  if (parsed.type === 'budget') {
    const message = budgetMessage(parsed, owner, deps.channels.commands(owner.platform));
    await deps.outbox.send({ key: `sns:${n.messageId}`, to, message });
    await deps.feed.publish({ type: 'budget', summary: `${owner.email}: ${message.text}`, key: `sns:${n.messageId}` });
    return { outcome: 'posted' };
  }
  deps.log.info({ topicArn: n.topicArn, messageId: n.messageId }, 'unrecognised notification delivered as an excerpt');
  await deps.outbox.send({ key: `sns:${n.messageId}`, to, message: unrecognisedMessage(parsed) });
  return { outcome: 'posted' };
}

/**
 * The provisioned product an alarm scicomp did not name is about: the one scicomp alarm its composite rule names, or the
 * instance an InstanceId dimension names (in its trigger or inside Trigger.Metrics).
 */
async function relatedProduct(p: AlarmAlert, deps: CoreDeps): Promise<string | undefined> {
  const fromChildren = new Set(p.children.map((c) => parseAlarmName(c)?.provisionedProductId).filter((id): id is string => id !== undefined));
  if (fromChildren.size === 1) return [...fromChildren][0];
  if (p.instanceId) return deps.alertState.productOfInstance(p.instanceId);
  return undefined;
}

async function deliverAlarm(n: SnsNotification, p: AlarmAlert, deps: CoreDeps): Promise<AlertResult> {
  const a = p.alarm;
  const ref = parseAlarmName(a.AlarmName);
  const ppId = ref?.provisionedProductId ?? (await relatedProduct(p, deps));
  // Keyed by resource, not by alarm: an alarm recreated for the same product and kind continues the same message.
  const resource = ref ? `${ref.provisionedProductId}:${ref.kind}` : a.AlarmName;
  const key = `sns:${n.messageId}`;
  const applied = await deps.alertState.applyAlarm({
    messageId: n.messageId,
    topicArn: n.topicArn,
    provisionedProductId: ppId,
    resource,
    state: a.NewStateValue,
    messageKey: key,
    changedAt: a.StateChangeTime ?? n.timestamp,
    now: deps.clock.now(),
    snoozable: ref?.kind === 'cpu-idle',
    windows: windows(deps),
  });
  const { step, state } = applied;
  let watched = applied.watched;
  // A configured topic, or topic-owner keys lost: the alarm's provisioned product still names its owner.
  const owner = applied.owner ?? watched?.owner;
  // A product found by what the alarm watches is named only to its own owner.
  if (!ref && watched && owner && watched.owner.email.toLowerCase() !== owner.email.toLowerCase()) watched = undefined;
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
  const replaces = state.key === key ? undefined : state.key;
  if (step === 'recovered') {
    await deps.outbox.send({ key, replaces, version: state.seq, to, message: recoveredMessage(name, p, ref?.kind, state, a.StateChangeTime ?? n.timestamp) });
    return { outcome: 'recovered' };
  }
  if (step === 'nodata') {
    await deps.outbox.send({ key, replaces, version: state.seq, to, message: noDataMessage(watched, p, ref?.kind, state) });
    return { outcome: 'nodata' };
  }
  const message = alarmMessage(watched, p, ref?.kind, state.count, state.firstAt, state.key, deps.channels.commands(owner.platform));
  await deps.outbox.send({ key, replaces, version: state.seq, to, message });
  if (step === 'posted') await deps.feed.publish({ type: 'alarm', summary: `${owner.email}: ${message.text}`, key });
  return { outcome: step };
}

// ---------- acting on alerts ----------

async function ownedWatched(ppId: string, actor: Actor, deps: CoreDeps) {
  const product = await productById(deps, ppId);
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
  await deps.snoozes.snooze(ppId, until);
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
    const { recordId, watch } = await startMutation(
      {
        call: { op: 'action', input: { provisionedProductId: ppId, serviceActionId: stop.id, token } },
        watch: {
          provisionedProductId: ppId,
          name: product.name,
          productName: product.productName ?? product.name,
          kind: deps.policy().productRule(product.productName ?? product.name).kind,
          action: 'service-action',
          owner: { platform: ctx.actor.platform, userId: ctx.actor.userId, email: ctx.actor.email },
          requestId: ctx.requestId,
        },
        actor: actorLabel(ctx.actor),
      },
      deps,
    );
    await deps.audit.append({ actor: actorLabel(ctx.actor), action: 'aws.service-action', target: product.name, parameters: { action: stop.name }, outcome: `record ${recordId}`, requestId: ctx.requestId });
    await deps.watcher.watch(watch);
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
  const topicArn = await deps.wiring.topicOf(ctx.actor.email);
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
    deps.alertState.watched(product.id),
    deps.snoozes.until(product.id),
    deps.wiring.topicOf(ctx.actor.email),
  ]);
  const t = thresholds(deps);
  const kinds = (watched?.alarms ?? []).map((a) => parseAlarmName(a)?.kind).filter((k): k is AlarmKind => k !== undefined);
  const alarms = kinds.map((k) => `${KIND_SHORT[k]} ${k === 'cpu-idle' ? '<' : '>'} ${t[k].threshold} %`).join(', ');
  const fields = [...(message.fields ?? [])];
  fields.push({ label: 'Alarms', value: alarms || 'none (only running instances are watched)' });
  if (snoozedUntil !== undefined) fields.push({ label: 'Idle pings', value: `snoozed until ${new Date(snoozedUntil).toISOString().slice(0, 16).replace('T', ' ')} UTC` });
  // Spend is tracked per owner (the OwnerEmail cost allocation tag), not per product.
  const budget = topicArn ? await deps.budgets.describeUserBudget({ accountId: topicArn.split(':')[4]!, name: budgetName(ctx.actor.email) }).catch(() => undefined) : undefined;
  if (budget) fields.push({ label: 'Your spend this month', value: `$${budget.actualUsd.toFixed(2)} of $${budget.limitUsd.toFixed(2)}` });
  return { ...message, fields };
}

export { isOwner };
