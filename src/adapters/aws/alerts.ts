// The watching half on AWS: per-user SNS topics, CloudWatch alarms per instance, per-user cost budgets (SDK v3).
import { BudgetsClient, CreateBudgetCommand, CreateNotificationCommand, DescribeBudgetCommand, DescribeNotificationsForBudgetCommand, UpdateBudgetCommand, type Budget, type Notification } from '@aws-sdk/client-budgets';
import { CloudWatchClient, DeleteAlarmsCommand, PutMetricAlarmCommand, type PutMetricAlarmCommandInput } from '@aws-sdk/client-cloudwatch';
import { ConfirmSubscriptionCommand, CreateTopicCommand, ListSubscriptionsByTopicCommand, SetTopicAttributesCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import type { AlarmKind, AlarmsPort, AlarmThreshold, BudgetsPort, BudgetSummary, InstanceAlarmsInput, TopicsPort, UserTopicInput } from '../../core/ports.js';
import { ALARM_KINDS, alarmName } from '../../core/alarm-names.js';
import { mapAwsError } from './catalog.js';

async function send<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw mapAwsError(err, what);
  }
}

/** Who may publish to a user's topic: CloudWatch alarms and AWS Budgets of this account only. */
export function topicPolicy(topicArn: string): string {
  const account = topicArn.split(':')[4];
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'scicomp-cloudwatch-and-budgets-publish',
        Effect: 'Allow',
        Principal: { Service: ['cloudwatch.amazonaws.com', 'budgets.amazonaws.com'] },
        Action: 'SNS:Publish',
        Resource: topicArn,
        Condition: { StringEquals: { 'aws:SourceAccount': account } },
      },
    ],
  });
}

export class AwsTopics implements TopicsPort {
  constructor(private readonly sns: SNSClient) {}

  async createTopic(input: UserTopicInput): Promise<string> {
    const created = await send('CreateTopic', () => this.sns.send(new CreateTopicCommand({ Name: input.name, Tags: [{ Key: 'OwnerEmail', Value: input.ownerEmail }, { Key: 'ManagedBy', Value: 'scicomp' }] })));
    const topicArn = created.TopicArn!;
    await send('SetTopicAttributes', () => this.sns.send(new SetTopicAttributesCommand({ TopicArn: topicArn, AttributeName: 'Policy', AttributeValue: topicPolicy(topicArn) })));
    return topicArn;
  }

  async ensureSubscriptions(topicArn: string, input: UserTopicInput): Promise<void> {
    const existing = new Set<string>();
    let NextToken: string | undefined;
    do {
      const page = await send('ListSubscriptionsByTopic', () => this.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn, NextToken })));
      for (const s of page.Subscriptions ?? []) {
        // Our endpoint still pending missed its confirmation (e.g. a 403 before the topic was known): Subscribe again re-sends it.
        if (s.Protocol === 'https' && s.SubscriptionArn === 'PendingConfirmation') continue;
        existing.add(`${s.Protocol}:${s.Endpoint}`);
      }
      NextToken = page.NextToken || undefined;
    } while (NextToken);
    const wanted: [string, string][] = [['email', input.ownerEmail]];
    if (input.endpoint) wanted.push(['https', input.endpoint]);
    for (const [Protocol, Endpoint] of wanted) {
      if (existing.has(`${Protocol}:${Endpoint}`)) continue;
      await send('Subscribe', () => this.sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol, Endpoint, ReturnSubscriptionArn: true })));
    }
  }

  async confirmSubscription(topicArn: string, token: string): Promise<void> {
    await send('ConfirmSubscription', () => this.sns.send(new ConfirmSubscriptionCommand({ TopicArn: topicArn, Token: token, AuthenticateOnUnsubscribe: 'true' })));
  }
}

interface MetricSpec {
  namespace: string;
  metric: string;
  comparison: PutMetricAlarmCommandInput['ComparisonOperator'];
  missing: PutMetricAlarmCommandInput['TreatMissingData'];
  describe: (t: AlarmThreshold) => string;
}

// Memory and disk come from the CloudWatch agent, which publishes them by InstanceId alone only when configured as in
// manifests/cloudwatch-agent.json (append_dimensions InstanceId, aggregation_dimensions [["InstanceId"]], disk measured on "/").
const METRICS: Record<AlarmKind, MetricSpec> = {
  'cpu-high': { namespace: 'AWS/EC2', metric: 'CPUUtilization', comparison: 'GreaterThanThreshold', missing: 'missing', describe: (t) => `CPU above ${t.threshold}%` },
  'cpu-idle': { namespace: 'AWS/EC2', metric: 'CPUUtilization', comparison: 'LessThanThreshold', missing: 'notBreaching', describe: (t) => `CPU below ${t.threshold}% (idle)` },
  'memory-high': { namespace: 'CWAgent', metric: 'mem_used_percent', comparison: 'GreaterThanThreshold', missing: 'missing', describe: (t) => `memory above ${t.threshold}%` },
  'disk-high': { namespace: 'CWAgent', metric: 'disk_used_percent', comparison: 'GreaterThanThreshold', missing: 'missing', describe: (t) => `disk used above ${t.threshold}%` },
};


export function alarmInput(input: InstanceAlarmsInput, kind: AlarmKind): PutMetricAlarmCommandInput {
  const m = METRICS[kind];
  const t = input.thresholds[kind];
  return {
    AlarmName: alarmName(input.provisionedProductId, kind),
    AlarmDescription: `scicomp: ${m.describe(t)} on ${input.instanceId}`,
    Namespace: m.namespace,
    MetricName: m.metric,
    Dimensions: [{ Name: 'InstanceId', Value: input.instanceId }],
    Statistic: 'Average',
    Period: t.periodSeconds,
    EvaluationPeriods: t.evaluationPeriods,
    Threshold: t.threshold,
    ComparisonOperator: m.comparison,
    TreatMissingData: m.missing,
    ActionsEnabled: true,
    AlarmActions: [input.topicArn],
    OKActions: [input.topicArn],
    Tags: [{ Key: 'ManagedBy', Value: 'scicomp' }],
  };
}

export class AwsAlarms implements AlarmsPort {
  constructor(private readonly cw: CloudWatchClient) {}

  async putInstanceAlarms(input: InstanceAlarmsInput): Promise<string[]> {
    const names: string[] = [];
    for (const kind of ALARM_KINDS) {
      const params = alarmInput(input, kind);
      await send('PutMetricAlarm', () => this.cw.send(new PutMetricAlarmCommand(params)));
      names.push(params.AlarmName!);
    }
    return names;
  }

  async deleteAlarms(names: string[]): Promise<void> {
    // DeleteAlarms takes at most 100 names, and deleting a missing alarm is not an error.
    for (let i = 0; i < names.length; i += 100) {
      await send('DeleteAlarms', () => this.cw.send(new DeleteAlarmsCommand({ AlarmNames: names.slice(i, i + 100) })));
    }
  }
}

/** 80 % and 100 % of the budget spent, and a forecast past 100 %. */
const BUDGET_NOTIFICATIONS: Notification[] = [
  { NotificationType: 'ACTUAL', ComparisonOperator: 'GREATER_THAN', Threshold: 80, ThresholdType: 'PERCENTAGE' },
  { NotificationType: 'ACTUAL', ComparisonOperator: 'GREATER_THAN', Threshold: 100, ThresholdType: 'PERCENTAGE' },
  { NotificationType: 'FORECASTED', ComparisonOperator: 'GREATER_THAN', Threshold: 100, ThresholdType: 'PERCENTAGE' },
];

export class AwsBudgets implements BudgetsPort {
  constructor(private readonly budgets: BudgetsClient) {}

  async ensureUserBudget(input: { accountId: string; name: string; ownerEmail: string; monthlyUsd: number; topicArn: string }): Promise<void> {
    const subscribers = [{ SubscriptionType: 'SNS' as const, Address: input.topicArn }];
    const wanted = BUDGET_NOTIFICATIONS.map((Notification) => ({ Notification, Subscribers: subscribers }));
    const budget: Budget = {
      BudgetName: input.name,
      BudgetType: 'COST',
      TimeUnit: 'MONTHLY',
      BudgetLimit: { Amount: input.monthlyUsd.toFixed(2), Unit: 'USD' },
      FilterExpression: { Tags: { Key: 'OwnerEmail', Values: [input.ownerEmail], MatchOptions: ['EQUALS'] } },
    };
    try {
      await this.budgets.send(new CreateBudgetCommand({ AccountId: input.accountId, Budget: budget, NotificationsWithSubscribers: wanted }));
      return;
    } catch (err) {
      if ((err as { name?: string }).name !== 'DuplicateRecordException') throw mapAwsError(err, 'CreateBudget');
    }
    // The budget exists from an earlier launch: bring its limit to today's policy and put back any notification removed since.
    await send('UpdateBudget', () => this.budgets.send(new UpdateBudgetCommand({ AccountId: input.accountId, NewBudget: budget })));
    const present: Notification[] = [];
    let NextToken: string | undefined;
    do {
      const page = await send('DescribeNotificationsForBudget', () => this.budgets.send(new DescribeNotificationsForBudgetCommand({ AccountId: input.accountId, BudgetName: input.name, NextToken })));
      present.push(...(page.Notifications ?? []));
      NextToken = page.NextToken || undefined;
    } while (NextToken);
    const same = (a: Notification, b: Notification) =>
      a.NotificationType === b.NotificationType && a.ComparisonOperator === b.ComparisonOperator && Number(a.Threshold) === Number(b.Threshold) && (a.ThresholdType ?? 'PERCENTAGE') === b.ThresholdType;
    for (const w of wanted) {
      if (present.some((p) => same(p, w.Notification))) continue;
      try {
        await this.budgets.send(new CreateNotificationCommand({ AccountId: input.accountId, BudgetName: input.name, ...w }));
      } catch (err) {
        // Another replica created it between our read and our write.
        if ((err as { name?: string }).name !== 'DuplicateRecordException') throw mapAwsError(err, 'CreateNotification');
      }
    }
  }

  async describeUserBudget(input: { accountId: string; name: string }): Promise<BudgetSummary | undefined> {
    try {
      const res = await this.budgets.send(new DescribeBudgetCommand({ AccountId: input.accountId, BudgetName: input.name }));
      const b = res.Budget;
      if (!b) return undefined;
      return {
        limitUsd: Number(b.BudgetLimit?.Amount ?? 0),
        actualUsd: Number(b.CalculatedSpend?.ActualSpend?.Amount ?? 0),
        forecastUsd: b.CalculatedSpend?.ForecastedSpend ? Number(b.CalculatedSpend.ForecastedSpend.Amount) : undefined,
      };
    } catch (err) {
      if ((err as { name?: string }).name === 'NotFoundException') return undefined;
      throw mapAwsError(err, 'DescribeBudget');
    }
  }
}

export { BudgetsClient, CloudWatchClient, SNSClient };
