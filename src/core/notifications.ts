// What AWS sends to a user's topic, read into typed alerts: CloudWatch alarm state changes (one metric, metric math,
// anomaly detection, composite) and AWS Budgets notifications; anything else is kept as an unrecognised excerpt.

export interface SnsNotification {
  messageId: string;
  topicArn: string;
  subject?: string;
  message: string;
  timestamp: string;
}

export type AlarmState = 'ALARM' | 'OK' | 'INSUFFICIENT_DATA';
const ALARM_STATES: readonly string[] = ['ALARM', 'OK', 'INSUFFICIENT_DATA'];

export interface Dimension {
  name: string;
  value: string;
}

/** One entry of a metric-math or anomaly-detection alarm's `Trigger.Metrics` (a MetricDataQuery). */
export interface MetricDataQuery {
  Id?: string;
  Expression?: string;
  Label?: string;
  ReturnData?: boolean;
  MetricStat?: { Metric?: { Namespace?: string; MetricName?: string; Dimensions?: Dimension[] }; Period?: number; Stat?: string };
}

export interface AlarmTrigger {
  MetricName?: string;
  Namespace?: string;
  Statistic?: string;
  Threshold?: number;
  ComparisonOperator?: string;
  Dimensions?: Dimension[];
  Metrics?: MetricDataQuery[];
  ThresholdMetricId?: string;
}

/** The fields of a CloudWatch alarm notification that scicomp reads, each checked for its type. */
export interface CloudWatchAlarm {
  AlarmName: string;
  NewStateValue: AlarmState;
  OldStateValue?: string;
  NewStateReason?: string;
  StateChangeTime?: string;
  Trigger?: AlarmTrigger;
  /** Composite alarms only: the rule over other alarms' states. */
  AlarmRule?: string;
}

export type BudgetPeriod = 'DAILY' | 'MONTHLY' | 'QUARTERLY' | 'ANNUALLY';

export interface AlarmAlert {
  type: 'alarm';
  alarm: CloudWatchAlarm;
  /** The datapoint that crossed, from the state reason ("… [97.5 (23/11/26 10:02:00)] …"). */
  value?: string;
  /** What the alarm watches, in words: a metric, an expression and its inputs, an anomaly band, a composite rule. */
  measures: string;
  /** The value against what it crossed, or else the state reason. */
  reading: string;
  /** The instance a dimension names (InstanceId), in the trigger or in any of its metrics. */
  instanceId?: string;
  /** The alarms a composite alarm's rule and triggering children name. */
  children: string[];
}

export interface BudgetAlert {
  type: 'budget';
  budget: string;
  alertType: string;
  threshold: string;
  amount?: string;
  budgeted?: string;
  /** The budget's period, from AWS Budgets' "… for the current month." */
  period?: BudgetPeriod;
}

export interface UnrecognisedAlert {
  type: 'other';
  subject?: string;
  /** The start of the message: control characters removed, bounded in lines and length. */
  excerpt: string;
  truncated: boolean;
}

export type ParsedAlert = AlarmAlert | BudgetAlert | UnrecognisedAlert;

const EXCERPT_CHARS = 600;
const EXCERPT_LINES = 12;
const SUBJECT_CHARS = 100;
/** An expression or composite rule is shown up to this long: CloudWatch allows 10 240 characters. */
const RULE_CHARS = 300;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const obj = (v: unknown): Record<string, unknown> | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function clip(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/** SNS writes dimensions as {name, value}; MetricDataQuery JSON elsewhere as {Name, Value}: either is read. */
function dimensions(v: unknown): Dimension[] {
  return list(v).flatMap((d) => {
    const o = obj(d);
    const name = str(o?.name) ?? str(o?.Name);
    const value = str(o?.value) ?? str(o?.Value);
    return name !== undefined && value !== undefined ? [{ name, value }] : [];
  });
}

function metricQuery(v: unknown): MetricDataQuery | undefined {
  const q = obj(v);
  if (!q) return undefined;
  const stat = obj(q.MetricStat);
  const metric = obj(stat?.Metric);
  return {
    Id: str(q.Id),
    Expression: str(q.Expression),
    Label: str(q.Label),
    ReturnData: typeof q.ReturnData === 'boolean' ? q.ReturnData : undefined,
    MetricStat: stat
      ? { Metric: metric ? { Namespace: str(metric.Namespace), MetricName: str(metric.MetricName), Dimensions: dimensions(metric.Dimensions) } : undefined, Period: num(stat.Period), Stat: str(stat.Stat) }
      : undefined,
  };
}

function trigger(v: unknown): AlarmTrigger | undefined {
  const t = obj(v);
  if (!t) return undefined;
  const metrics = list(t.Metrics).map(metricQuery).filter((q): q is MetricDataQuery => q !== undefined);
  return {
    MetricName: str(t.MetricName),
    Namespace: str(t.Namespace),
    Statistic: str(t.Statistic),
    Threshold: num(t.Threshold),
    ComparisonOperator: str(t.ComparisonOperator),
    Dimensions: dimensions(t.Dimensions),
    Metrics: metrics.length ? metrics : undefined,
    ThresholdMetricId: str(t.ThresholdMetricId),
  };
}

/** An alarm notification as CloudWatch sends it, or undefined for any other JSON (including an unknown state). */
function cloudWatchAlarm(json: unknown): CloudWatchAlarm | undefined {
  const o = obj(json);
  const name = str(o?.AlarmName);
  const state = str(o?.NewStateValue);
  if (!o || !name || !state || !ALARM_STATES.includes(state)) return undefined;
  return {
    AlarmName: name,
    NewStateValue: state as AlarmState,
    OldStateValue: str(o.OldStateValue),
    NewStateReason: str(o.NewStateReason),
    StateChangeTime: str(o.StateChangeTime),
    Trigger: trigger(o.Trigger),
    AlarmRule: str(o.AlarmRule),
  };
}

function alarmNameOf(ref: string): string {
  // An alarm ARN ends in ":alarm:<name>"; a rule may name an alarm either way.
  const i = ref.indexOf(':alarm:');
  return i >= 0 ? ref.slice(i + ':alarm:'.length) : ref;
}

/** The alarms a composite names: in `TriggeringChildren` (ARNs, or {Arn, State}) and in `AlarmRule` (ALARM("name")…). */
function childAlarms(json: Record<string, unknown>, rule: string | undefined): string[] {
  const names = new Set<string>();
  for (const c of list(json.TriggeringChildren)) {
    const ref = str(c) ?? str(obj(c)?.Arn);
    if (ref) names.add(alarmNameOf(ref));
  }
  for (const m of (rule ?? '').matchAll(/\b(?:ALARM|OK|INSUFFICIENT_DATA)\(\s*(?:"([^"]+)"|([^)\s]+))\s*\)/g)) names.add(alarmNameOf((m[1] ?? m[2])!.trim()));
  return [...names];
}

function metricName(q: MetricDataQuery): string | undefined {
  const m = q.MetricStat?.Metric;
  if (!m?.MetricName) return undefined;
  const stat = q.MetricStat?.Stat;
  return `${m.Namespace ? `${m.Namespace} ` : ''}${m.MetricName}${stat ? ` (${stat})` : ''}`;
}

/** One query in words: its metric, or its expression with the metrics the expression reads. */
function queryText(q: MetricDataQuery, byId: Map<string, MetricDataQuery>): string {
  const metric = metricName(q);
  if (metric) return metric;
  if (!q.Expression) return q.Label ?? q.Id ?? 'a metric query';
  const inputs = [...new Set(q.Expression.match(/\b[a-z][a-zA-Z0-9_]*\b/g) ?? [])]
    .map((id) => [id, byId.get(id)] as const)
    .flatMap(([id, input]) => (input && input !== q && metricName(input) ? [`${id} = ${metricName(input)}`] : []));
  return `${clip(q.Expression, RULE_CHARS)}${inputs.length ? ` where ${inputs.join(', ')}` : ''}`;
}

/** What an alarm watches: composite rule, anomaly band, the returned query of metric math, or its one metric. */
function measures(a: CloudWatchAlarm): string {
  if (a.AlarmRule !== undefined) return `composite alarm: ${clip(a.AlarmRule, RULE_CHARS)}`;
  const t = a.Trigger;
  const metrics = t?.Metrics;
  if (metrics) {
    const byId = new Map(metrics.filter((q) => q.Id).map((q) => [q.Id!, q]));
    const band = t.ThresholdMetricId ? byId.get(t.ThresholdMetricId) : undefined;
    // The alarm evaluates the query that returns data; an anomaly alarm's band returns data too, beside its metric.
    const rest = metrics.filter((q) => q !== band);
    const watched = rest.find((q) => q.ReturnData !== false) ?? rest[0];
    if (band) return `${watched ? queryText(watched, byId) : 'a metric'} against its anomaly band ${clip(band.Expression ?? band.Id ?? '', RULE_CHARS)}`;
    if (watched) return queryText(watched, byId);
  }
  return `${t?.Namespace ?? ''} ${t?.MetricName ?? ''}`.trim() || a.AlarmName;
}

const NUMBER = '-?[0-9]+(?:\\.[0-9]+)?(?:[eE][-+]?[0-9]+)?';

function oneDecimal(v: string): string {
  return Number(v).toFixed(1);
}

/** The value against what it crossed: a threshold, or an anomaly band's bounds; else the reason as CloudWatch gave it. */
function reading(a: CloudWatchAlarm, value: string | undefined): string {
  const reason = a.NewStateReason ?? '';
  // "… [537.0 (14/11/25 18:39:00)] was less than the lower thresholds [193.3] or greater than the upper thresholds [531.4] …"
  const band = new RegExp(`lower thresholds? \\[(${NUMBER})\\].*upper thresholds? \\[(${NUMBER})\\]`).exec(reason);
  if (a.NewStateValue === 'ALARM' && value !== undefined && band) return `${oneDecimal(value)} outside the expected band ${oneDecimal(band[1]!)} to ${oneDecimal(band[2]!)}`;
  const threshold = a.Trigger?.Threshold;
  if (a.NewStateValue === 'ALARM' && value !== undefined && threshold !== undefined) return `${oneDecimal(value)} against a threshold of ${threshold}`;
  return clip(reason, RULE_CHARS);
}

function instanceOf(t: AlarmTrigger | undefined): string | undefined {
  const all = [...(t?.Dimensions ?? []), ...(t?.Metrics ?? []).flatMap((q) => q.MetricStat?.Metric?.Dimensions ?? [])];
  return all.find((d) => d.name === 'InstanceId' && /^i-[0-9a-f]+$/.test(d.value))?.value;
}

function alarmAlert(json: Record<string, unknown>, alarm: CloudWatchAlarm): AlarmAlert {
  // "Threshold Crossed: 3 datapoints [97.5 (23/11/26 10:02:00), ...] were greater than the threshold (95.0)."
  const value = new RegExp(`\\[(${NUMBER}) \\(`).exec(alarm.NewStateReason ?? '')?.[1];
  return { type: 'alarm', alarm, value, measures: measures(alarm), reading: reading(alarm, value), instanceId: instanceOf(alarm.Trigger), children: childAlarms(json, alarm.AlarmRule) };
}

const PERIODS: Record<string, BudgetPeriod> = { day: 'DAILY', month: 'MONTHLY', quarter: 'QUARTERLY', year: 'ANNUALLY' };

function budgetAlert(n: SnsNotification): BudgetAlert | undefined {
  const field = (label: string) => new RegExp(`^${label}:[ \\t]*(.+)$`, 'm').exec(n.message)?.[1]?.trim();
  const budget = field('Budget Name');
  if (!budget || !/AWS Budget/i.test(`${n.subject ?? ''}\n${n.message}`)) return undefined;
  const alertType = field('Alert Type') ?? 'ACTUAL';
  // "You requested that we alert you when the ACTUAL Cost associated with your <name> budget is greater than $400.00 for the current month."
  const period = /\bfor the current (day|month|quarter|year)\b/i.exec(n.message)?.[1]?.toLowerCase();
  return {
    type: 'budget',
    budget,
    alertType,
    threshold: field('Alert Threshold') ?? '?',
    amount: field(`${alertType} Amount`),
    budgeted: field('Budgeted Amount'),
    ...(period ? { period: PERIODS[period] } : {}),
  };
}

/** Text from outside made safe to show: no control or bidi characters, no backticks to end a code span, bounded. */
export function excerpt(text: string, maxChars = EXCERPT_CHARS, maxLines = EXCERPT_LINES): { text: string; truncated: boolean } {
  const clean = text
    .replace(/\r\n?/g, '\n')
    .replace(/\t/g, ' ')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g, '')
    .replace(/`/g, "'");
  const lines = clean.split('\n');
  let out = lines.slice(0, maxLines).join('\n');
  let truncated = lines.length > maxLines;
  const chars = Array.from(out);
  if (chars.length > maxChars) {
    out = chars.slice(0, maxChars).join('');
    truncated = true;
  }
  out = out.trimEnd();
  return { text: truncated ? `${out}…` : out, truncated };
}

export function parseAlert(n: SnsNotification): ParsedAlert {
  let json: unknown;
  try {
    json = JSON.parse(n.message);
  } catch {
    // not JSON: a Budgets notification or something else
  }
  const alarm = cloudWatchAlarm(json);
  if (alarm) return alarmAlert(json as Record<string, unknown>, alarm);
  const budget = json === undefined ? budgetAlert(n) : undefined;
  if (budget) return budget;
  const subject = n.subject !== undefined ? excerpt(n.subject, SUBJECT_CHARS, 1).text || undefined : undefined;
  const { text, truncated } = excerpt(n.message);
  return { type: 'other', ...(subject ? { subject } : {}), excerpt: text, truncated };
}
