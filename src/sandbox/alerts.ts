// The sandbox account's SNS, CloudWatch and Budgets: in memory, inspectable by tests, with spend that can be set.
import type { AlarmsPort, BudgetsPort, BudgetSummary, InstanceAlarmsInput, TopicsPort, UserTopicInput } from '../core/ports.js';
import { alarmInput } from '../adapters/aws/alerts.js';
import { ALARM_KINDS } from '../core/alarm-names.js';
import { NotFoundError } from '../core/errors.js';

export class SandboxTopics implements TopicsPort {
  readonly topics = new Map<string, { ownerEmail: string; subscriptions: Set<string>; confirmed: Set<string> }>();

  constructor(private readonly accountId = '111122223333', private readonly region = 'us-east-1') {}

  async createTopic(input: UserTopicInput): Promise<string> {
    const arn = `arn:aws:sns:${this.region}:${this.accountId}:${input.name}`;
    if (!this.topics.has(arn)) this.topics.set(arn, { ownerEmail: input.ownerEmail, subscriptions: new Set<string>(), confirmed: new Set<string>() });
    return arn;
  }

  async ensureSubscriptions(topicArn: string, input: UserTopicInput): Promise<void> {
    const topic = this.topics.get(topicArn);
    if (!topic) throw new NotFoundError(`Topic ${topicArn} does not exist.`);
    topic.subscriptions.add(`email:${input.ownerEmail}`);
    if (input.endpoint) topic.subscriptions.add(`https:${input.endpoint}`);
  }

  async confirmSubscription(topicArn: string, token: string): Promise<void> {
    this.topics.get(topicArn)?.confirmed.add(token);
  }
}

export class SandboxAlarms implements AlarmsPort {
  readonly alarms = new Map<string, ReturnType<typeof alarmInput>>();

  async putInstanceAlarms(input: InstanceAlarmsInput): Promise<string[]> {
    return ALARM_KINDS.map((kind) => {
      const params = alarmInput(input, kind);
      this.alarms.set(params.AlarmName!, params);
      return params.AlarmName!;
    });
  }

  async deleteAlarms(names: string[]): Promise<void> {
    for (const n of names) this.alarms.delete(n);
  }
}

export class SandboxBudgets implements BudgetsPort {
  readonly budgets = new Map<string, { ownerEmail: string; topicArn: string; summary: BudgetSummary }>();

  async ensureUserBudget(input: { accountId: string; name: string; ownerEmail: string; monthlyUsd: number; topicArn: string }): Promise<void> {
    if (!this.budgets.has(input.name)) {
      this.budgets.set(input.name, { ownerEmail: input.ownerEmail, topicArn: input.topicArn, summary: { limitUsd: input.monthlyUsd, actualUsd: 0, forecastUsd: 0 } });
    }
  }

  async describeUserBudget(input: { name: string }): Promise<BudgetSummary | undefined> {
    const b = this.budgets.get(input.name);
    return b ? { ...b.summary } : undefined;
  }

  /** For demos and tests: what AWS Budgets would report as spent. */
  setSpend(name: string, actualUsd: number, forecastUsd?: number): void {
    const b = this.budgets.get(name);
    if (b) b.summary = { ...b.summary, actualUsd, forecastUsd };
  }
}
