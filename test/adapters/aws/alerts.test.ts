import { BudgetsClient, CreateBudgetCommand, CreateNotificationCommand, DescribeBudgetCommand, DescribeNotificationsForBudgetCommand, DuplicateRecordException, UpdateBudgetCommand } from '@aws-sdk/client-budgets';
import { CloudWatchClient, DeleteAlarmsCommand, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { ConfirmSubscriptionCommand, CreateTopicCommand, ListSubscriptionsByTopicCommand, SetTopicAttributesCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsAlarms, AwsBudgets, AwsTopics } from '../../../src/adapters/aws/alerts.js';
import { knownTopicsKey, RedisAlertState, topicOwnerKey } from '../../../src/adapters/redis/alert-state.js';
import { Store } from '../../../src/adapters/redis/store.js';
import { RedisWiring, userTopicKey } from '../../../src/adapters/redis/wiring.js';
import { ensureUserWiring } from '../../../src/core/alerts.js';
import type { CoreDeps } from '../../../src/core/context.js';
import { REDIS_URL } from '../../support/redis.js';

const sns = mockClient(SNSClient);
const cw = mockClient(CloudWatchClient);
const budgets = mockClient(BudgetsClient);
const ARN = 'arn:aws:sns:us-east-1:111122223333:scicomp-user-jdoe-synapse-org';

const redis = new Redis(REDIS_URL);
afterAll(() => redis.disconnect());

beforeEach(() => {
  sns.reset();
  cw.reset();
  budgets.reset();
});

const inputs = (mock: { commandCalls: (c: never) => { args: [{ input: unknown }] }[] }, command: unknown) => mock.commandCalls(command as never).map((c) => c.args[0].input);

describe('AwsTopics', () => {
  it('creates the topic by a stable name, lets CloudWatch and Budgets publish, subscribes email and the bot once', async () => {
    sns.on(CreateTopicCommand).resolves({ TopicArn: ARN });
    sns.on(ListSubscriptionsByTopicCommand).resolves({ Subscriptions: [{ Protocol: 'email', Endpoint: 'jdoe@synapse.org', SubscriptionArn: `${ARN}:1111` }] });
    const topics = new AwsTopics(new SNSClient({ region: 'us-east-1' }));
    const input = { name: 'scicomp-user-jdoe-synapse-org', ownerEmail: 'jdoe@synapse.org', endpoint: 'https://scicomp.example.org/sns' };
    expect(await topics.createTopic(input)).toBe(ARN);
    // Creating the topic subscribes nothing: the caller first records the topic as ours.
    expect(sns.calls().map((c) => c.args[0].constructor.name)).toEqual(['CreateTopicCommand', 'SetTopicAttributesCommand']);
    expect(inputs(sns, CreateTopicCommand)).toEqual([
      { Name: 'scicomp-user-jdoe-synapse-org', Tags: [{ Key: 'OwnerEmail', Value: 'jdoe@synapse.org' }, { Key: 'ManagedBy', Value: 'scicomp' }] },
    ]);
    const policy = inputs(sns, SetTopicAttributesCommand)[0] as { TopicArn: string; AttributeName: string; AttributeValue: string };
    expect(policy.TopicArn).toBe(ARN);
    expect(policy.AttributeName).toBe('Policy');
    expect(JSON.parse(policy.AttributeValue).Statement[0]).toEqual({
      Sid: 'scicomp-cloudwatch-and-budgets-publish',
      Effect: 'Allow',
      Principal: { Service: ['cloudwatch.amazonaws.com', 'budgets.amazonaws.com'] },
      Action: 'SNS:Publish',
      Resource: ARN,
      Condition: { StringEquals: { 'aws:SourceAccount': '111122223333' } },
    });
    await topics.ensureSubscriptions(ARN, input);
    // The email subscription exists already: only the HTTPS one is added.
    expect(inputs(sns, SubscribeCommand)).toEqual([{ TopicArn: ARN, Protocol: 'https', Endpoint: 'https://scicomp.example.org/sns', ReturnSubscriptionArn: true }]);
  });

  it('subscribes the bot again while its subscription is still pending confirmation, so SNS re-sends the confirmation', async () => {
    sns.on(ListSubscriptionsByTopicCommand).resolves({
      Subscriptions: [
        { Protocol: 'email', Endpoint: 'jdoe@synapse.org', SubscriptionArn: 'PendingConfirmation' },
        { Protocol: 'https', Endpoint: 'https://scicomp.example.org/sns', SubscriptionArn: 'PendingConfirmation' },
      ],
    });
    sns.on(SubscribeCommand).resolves({ SubscriptionArn: 'pending confirmation' });
    await new AwsTopics(new SNSClient({ region: 'us-east-1' })).ensureSubscriptions(ARN, { name: 'n', ownerEmail: 'jdoe@synapse.org', endpoint: 'https://scicomp.example.org/sns' });
    // The email one is left alone: re-subscribing would mail the user a new confirmation at every launch.
    expect(inputs(sns, SubscribeCommand)).toEqual([{ TopicArn: ARN, Protocol: 'https', Endpoint: 'https://scicomp.example.org/sns', ReturnSubscriptionArn: true }]);
  });

  it('a first launch records the topic as ours before subscribing, so the immediate confirmation is accepted', async () => {
    const store = new Store(redis, `t${randomBytes(5).toString('hex')}`);
    const owner = { platform: 'slack' as const, userId: 'UJDOE', email: 'jdoe@synapse.org' };
    const alertState = new RedisAlertState(store);
    const seenAtSubscribe: unknown[] = [];
    sns.on(CreateTopicCommand).resolves({ TopicArn: ARN });
    sns.on(ListSubscriptionsByTopicCommand).resolves({ Subscriptions: [] });
    sns.on(SubscribeCommand).callsFake(async (input: { Protocol: string }) => {
      seenAtSubscribe.push([input.Protocol, await alertState.isKnownTopic(ARN), await alertState.topicOwner(ARN)]);
      return { SubscriptionArn: 'pending confirmation' };
    });
    budgets.on(CreateBudgetCommand).resolves({});
    const deps = {
      alertState,
      wiring: new RedisWiring(store),
      topics: new AwsTopics(new SNSClient({ region: 'us-east-1' })),
      budgets: new AwsBudgets(new BudgetsClient({ region: 'us-east-1' })),
      policy: () => ({ doc: { budgets: { monthlyUsd: 500 } } }),
      snsEndpoint: 'https://scicomp.example.org/sns',
      log: pino({ level: 'silent' }),
    } as unknown as CoreDeps;
    expect(await ensureUserWiring(owner, deps)).toBe(ARN);
    expect(sns.calls().map((c) => c.args[0].constructor.name)).toEqual(['CreateTopicCommand', 'SetTopicAttributesCommand', 'ListSubscriptionsByTopicCommand', 'SubscribeCommand', 'SubscribeCommand']);
    expect(seenAtSubscribe).toEqual([
      ['email', true, owner],
      ['https', true, owner],
    ]);
    expect(await deps.wiring.topicOf(owner.email)).toBe(ARN);
    await redis.del(knownTopicsKey(store), topicOwnerKey(store, ARN), userTopicKey(store, owner.email));
  });

  it('confirms a subscription with the token, authenticated on unsubscribe', async () => {
    sns.on(ConfirmSubscriptionCommand).resolves({});
    await new AwsTopics(new SNSClient({ region: 'us-east-1' })).confirmSubscription(ARN, 'tok');
    expect(inputs(sns, ConfirmSubscriptionCommand)).toEqual([{ TopicArn: ARN, Token: 'tok', AuthenticateOnUnsubscribe: 'true' }]);
  });
});

describe('AwsAlarms', () => {
  it('puts the four alarms with the topic as alarm and OK action, and deletes them', async () => {
    cw.on(PutMetricAlarmCommand).resolves({});
    cw.on(DeleteAlarmsCommand).resolves({});
    const alarms = new AwsAlarms(new CloudWatchClient({ region: 'us-east-1' }));
    const t = (threshold: number, periodSeconds: number, evaluationPeriods: number) => ({ threshold, periodSeconds, evaluationPeriods });
    const names = await alarms.putInstanceAlarms({
      provisionedProductId: 'pp-abc',
      instanceId: 'i-0123456789abcdef0',
      topicArn: ARN,
      thresholds: { 'cpu-high': t(95, 60, 3), 'cpu-idle': t(5, 300, 12), 'memory-high': t(85, 60, 3), 'disk-high': t(80, 60, 3) },
    });
    expect(names).toEqual(['scicomp-pp-abc-cpu-high', 'scicomp-pp-abc-cpu-idle', 'scicomp-pp-abc-memory-high', 'scicomp-pp-abc-disk-high']);
    const puts = inputs(cw, PutMetricAlarmCommand);
    expect(puts[0]).toEqual({
      AlarmName: 'scicomp-pp-abc-cpu-high',
      AlarmDescription: 'scicomp: CPU above 95% on i-0123456789abcdef0',
      Namespace: 'AWS/EC2',
      MetricName: 'CPUUtilization',
      Dimensions: [{ Name: 'InstanceId', Value: 'i-0123456789abcdef0' }],
      Statistic: 'Average',
      Period: 60,
      EvaluationPeriods: 3,
      Threshold: 95,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'missing',
      ActionsEnabled: true,
      AlarmActions: [ARN],
      OKActions: [ARN],
      Tags: [{ Key: 'ManagedBy', Value: 'scicomp' }],
    });
    expect(puts[1]).toMatchObject({ MetricName: 'CPUUtilization', ComparisonOperator: 'LessThanThreshold', Threshold: 5, Period: 300, EvaluationPeriods: 12, TreatMissingData: 'notBreaching' });
    expect(puts[2]).toMatchObject({ Namespace: 'CWAgent', MetricName: 'mem_used_percent', Threshold: 85, Period: 60, EvaluationPeriods: 3 });
    expect(puts[3]).toMatchObject({ Namespace: 'CWAgent', MetricName: 'disk_used_percent', Threshold: 80 });
    await alarms.deleteAlarms(names);
    expect(inputs(cw, DeleteAlarmsCommand)).toEqual([{ AlarmNames: names }]);
  });
});

describe('AwsBudgets', () => {
  it('creates a monthly cost budget filtered by OwnerEmail with 80/100 % actual and 100 % forecast notifications', async () => {
    budgets.on(CreateBudgetCommand).resolves({});
    const b = new AwsBudgets(new BudgetsClient({ region: 'us-east-1' }));
    await b.ensureUserBudget({ accountId: '111122223333', name: 'scicomp-jdoe-synapse-org', ownerEmail: 'jdoe@synapse.org', monthlyUsd: 500, topicArn: ARN });
    const subscribers = [{ SubscriptionType: 'SNS', Address: ARN }];
    expect(inputs(budgets, CreateBudgetCommand)).toEqual([
      {
        AccountId: '111122223333',
        Budget: {
          BudgetName: 'scicomp-jdoe-synapse-org',
          BudgetType: 'COST',
          TimeUnit: 'MONTHLY',
          BudgetLimit: { Amount: '500.00', Unit: 'USD' },
          FilterExpression: { Tags: { Key: 'OwnerEmail', Values: ['jdoe@synapse.org'], MatchOptions: ['EQUALS'] } },
        },
        NotificationsWithSubscribers: [
          { Notification: { NotificationType: 'ACTUAL', ComparisonOperator: 'GREATER_THAN', Threshold: 80, ThresholdType: 'PERCENTAGE' }, Subscribers: subscribers },
          { Notification: { NotificationType: 'ACTUAL', ComparisonOperator: 'GREATER_THAN', Threshold: 100, ThresholdType: 'PERCENTAGE' }, Subscribers: subscribers },
          { Notification: { NotificationType: 'FORECASTED', ComparisonOperator: 'GREATER_THAN', Threshold: 100, ThresholdType: 'PERCENTAGE' }, Subscribers: subscribers },
        ],
      },
    ]);
  });

  it('an existing budget gets today’s limit, and the notifications it lost back', async () => {
    budgets.on(CreateBudgetCommand).rejects(new DuplicateRecordException({ message: 'exists', $metadata: {} }));
    budgets.on(UpdateBudgetCommand).resolves({});
    // The 80 % one is still there; the 100 % actual and the forecast were deleted in the console.
    budgets.on(DescribeNotificationsForBudgetCommand).resolves({ Notifications: [{ NotificationType: 'ACTUAL', ComparisonOperator: 'GREATER_THAN', Threshold: 80, ThresholdType: 'PERCENTAGE' }] });
    budgets.on(CreateNotificationCommand).resolves({});
    const b = new AwsBudgets(new BudgetsClient({ region: 'us-east-1' }));
    await b.ensureUserBudget({ accountId: '111122223333', name: 'scicomp-jdoe-synapse-org', ownerEmail: 'jdoe@synapse.org', monthlyUsd: 750, topicArn: ARN });
    expect(inputs(budgets, UpdateBudgetCommand)).toEqual([
      {
        AccountId: '111122223333',
        NewBudget: {
          BudgetName: 'scicomp-jdoe-synapse-org',
          BudgetType: 'COST',
          TimeUnit: 'MONTHLY',
          BudgetLimit: { Amount: '750.00', Unit: 'USD' },
          FilterExpression: { Tags: { Key: 'OwnerEmail', Values: ['jdoe@synapse.org'], MatchOptions: ['EQUALS'] } },
        },
      },
    ]);
    expect(inputs(budgets, DescribeNotificationsForBudgetCommand)).toEqual([{ AccountId: '111122223333', BudgetName: 'scicomp-jdoe-synapse-org', NextToken: undefined }]);
    const subscribers = [{ SubscriptionType: 'SNS', Address: ARN }];
    expect(inputs(budgets, CreateNotificationCommand)).toEqual([
      { AccountId: '111122223333', BudgetName: 'scicomp-jdoe-synapse-org', Notification: { NotificationType: 'ACTUAL', ComparisonOperator: 'GREATER_THAN', Threshold: 100, ThresholdType: 'PERCENTAGE' }, Subscribers: subscribers },
      { AccountId: '111122223333', BudgetName: 'scicomp-jdoe-synapse-org', Notification: { NotificationType: 'FORECASTED', ComparisonOperator: 'GREATER_THAN', Threshold: 100, ThresholdType: 'PERCENTAGE' }, Subscribers: subscribers },
    ]);
  });

  it('reads spend and forecast', async () => {
    budgets.on(DescribeBudgetCommand).resolves({
      Budget: { BudgetName: 'b', BudgetType: 'COST', TimeUnit: 'MONTHLY', BudgetLimit: { Amount: '500.0', Unit: 'USD' }, CalculatedSpend: { ActualSpend: { Amount: '412.57', Unit: 'USD' }, ForecastedSpend: { Amount: '530.10', Unit: 'USD' } } },
    });
    const b = new AwsBudgets(new BudgetsClient({ region: 'us-east-1' }));
    expect(await b.describeUserBudget({ accountId: '111122223333', name: 'b' })).toEqual({ limitUsd: 500, actualUsd: 412.57, forecastUsd: 530.1 });
    expect(inputs(budgets, DescribeBudgetCommand)).toEqual([{ AccountId: '111122223333', BudgetName: 'b' }]);
  });
});

describe('manifests/cloudwatch-agent.json', () => {
  it('publishes mem_used_percent and disk_used_percent (of /) with InstanceId alone, the dimension the alarms watch', () => {
    const agent = JSON.parse(readFileSync('manifests/cloudwatch-agent.json', 'utf8')) as {
      metrics: { append_dimensions: Record<string, string>; aggregation_dimensions: string[][]; metrics_collected: { mem: { measurement: string[] }; disk: { measurement: string[]; resources: string[] } } };
    };
    expect(agent.metrics.append_dimensions).toMatchObject({ InstanceId: '${aws:InstanceId}' });
    expect(agent.metrics.aggregation_dimensions).toContainEqual(['InstanceId']);
    expect(agent.metrics.metrics_collected.mem.measurement).toContain('mem_used_percent');
    expect(agent.metrics.metrics_collected.disk.measurement).toContain('used_percent');
    expect(agent.metrics.metrics_collected.disk.resources).toEqual(['/']);
  });
});
