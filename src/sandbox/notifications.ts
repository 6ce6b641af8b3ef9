// What the sandbox's CloudWatch and Budgets publish to a topic, shaped as AWS shapes them (the payloads of test/fixtures/).
import type { PutMetricAlarmCommandInput } from '@aws-sdk/client-cloudwatch';
import type { BudgetSummary } from '../core/ports.js';

const REGION_NAMES: Record<string, string> = { 'us-east-1': 'US East (N. Virginia)', 'us-east-2': 'US East (Ohio)', 'us-west-2': 'US West (Oregon)' };

/** CloudWatch's times in a notification: "2026-11-23T10:03:12.345+0000". */
const cloudWatchTime = (d: Date) => d.toISOString().replace('Z', '+0000');

/** A datapoint's time in a state reason: "23/11/26 10:02:00". */
function datapointTime(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCFullYear() % 100)} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:00`;
}

/** Readings on the side of the threshold the state says: well past it for ALARM, comfortably back for OK. */
function readings(alarm: PutMetricAlarmCommandInput, state: 'ALARM' | 'OK'): number[] {
  const threshold = alarm.Threshold ?? 0;
  const below = alarm.ComparisonOperator === 'LessThanThreshold' || alarm.ComparisonOperator === 'LessThanOrEqualToThreshold';
  const breaching = below ? [1.2, 0.8, 1.6] : [97.5, 96.1, 98.2].map((v) => Math.max(v, threshold + 2.5));
  const normal = below ? [42.0] : [Math.min(42.0, threshold / 2)];
  return state === 'ALARM' ? breaching : normal;
}

function stateReason(alarm: PutMetricAlarmCommandInput, state: 'ALARM' | 'OK', now: Date): string {
  const below = alarm.ComparisonOperator?.startsWith('LessThan') ?? false;
  const comparison = below ? 'less than' : 'greater than';
  const threshold = (alarm.Threshold ?? 0).toFixed(1);
  const period = (alarm.Period ?? 60) * 1000;
  const points = readings(alarm, state).map((v, i) => `${v.toFixed(1)} (${datapointTime(new Date(now.getTime() - (i + 1) * period))})`);
  if (state === 'OK') return `Threshold Crossed: 1 datapoint [${points[0]}] was not ${comparison} the threshold (${threshold}).`;
  const n = alarm.EvaluationPeriods ?? 1;
  return `Threshold Crossed: ${n} out of the last ${n} datapoints [${points.join(', ')}] were ${comparison} the threshold (${threshold}) (minimum ${n} datapoints for OK -> ALARM transition).`;
}

/** A CloudWatch alarm's state change, as SNS delivers it: subject and JSON message. */
export function alarmNotification(alarm: PutMetricAlarmCommandInput, state: 'ALARM' | 'OK', at: { now: Date; accountId: string; region: string }): { subject: string; message: string } {
  const region = REGION_NAMES[at.region] ?? at.region;
  const name = alarm.AlarmName!;
  const message = {
    AlarmName: name,
    AlarmDescription: alarm.AlarmDescription ?? null,
    AWSAccountId: at.accountId,
    AlarmConfigurationUpdatedTimestamp: cloudWatchTime(new Date(at.now.getTime() - 3600_000)),
    NewStateValue: state,
    NewStateReason: stateReason(alarm, state, at.now),
    StateChangeTime: cloudWatchTime(at.now),
    Region: region,
    AlarmArn: `arn:aws:cloudwatch:${at.region}:${at.accountId}:alarm:${name}`,
    OldStateValue: state === 'ALARM' ? 'OK' : 'ALARM',
    OKActions: alarm.OKActions ?? [],
    AlarmActions: alarm.AlarmActions ?? [],
    InsufficientDataActions: alarm.InsufficientDataActions ?? [],
    Trigger: {
      MetricName: alarm.MetricName,
      Namespace: alarm.Namespace,
      StatisticType: 'Statistic',
      Statistic: (alarm.Statistic ?? 'Average').toUpperCase(),
      Unit: null,
      Dimensions: (alarm.Dimensions ?? []).map((d) => ({ value: d.Value, name: d.Name })),
      Period: alarm.Period,
      EvaluationPeriods: alarm.EvaluationPeriods,
      DatapointsToAlarm: alarm.DatapointsToAlarm ?? alarm.EvaluationPeriods,
      ComparisonOperator: alarm.ComparisonOperator,
      Threshold: alarm.Threshold,
      TreatMissingData: alarm.TreatMissingData ?? 'missing',
      EvaluateLowSampleCountPercentile: '',
    },
  };
  return { subject: `${state}: "${name}" in ${region}`, message: JSON.stringify(message) };
}

const usd = (n: number) => `$${n.toFixed(2)}`;

/** An AWS Budgets ACTUAL-cost alert at 80 % of a monthly budget, as SNS delivers it; `amount` is what was spent. */
export function budgetNotification(budget: string, summary: BudgetSummary, at: { now: Date; accountId: string }): { subject: string; message: string; amount: number } {
  const threshold = summary.limitUsd * 0.8;
  const amount = Math.max(summary.actualUsd, Math.round(summary.limitUsd * 82.5) / 100);
  const day = at.now.toLocaleDateString('en-US', { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' });
  const message = [
    `AWS Budget Notification ${day}`,
    `AWS Account ${at.accountId}`,
    '',
    'Dear AWS Customer,',
    '',
    `You requested that we alert you when the ACTUAL Cost associated with your ${budget} budget is greater than ${usd(threshold)} for the current month. The ACTUAL Cost associated with this budget is ${usd(amount)}. You can find additional details below and by accessing the AWS Budgets dashboard [1].`,
    '',
    `Budget Name: ${budget}`,
    'Budget Type: Cost',
    `Budgeted Amount: ${usd(summary.limitUsd)}`,
    'Alert Type: ACTUAL',
    `Alert Threshold: > ${usd(threshold)}`,
    `ACTUAL Amount: ${usd(amount)}`,
    '',
    '[1] https://console.aws.amazon.com/billing/home#/budgets',
    '',
  ].join('\n');
  return { subject: `AWS Budgets: ${budget} has exceeded your alert threshold`, message, amount };
}
