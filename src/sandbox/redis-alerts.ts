// The sandbox account's SNS topics, CloudWatch alarms and Budgets in Redis under `<prefix>:sandbox:`, shared by every process.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { PutMetricAlarmCommandInput } from '@aws-sdk/client-cloudwatch';
import { Store } from '../adapters/redis/store.js';
import { alarmInput } from '../adapters/aws/alerts.js';
import { ALARM_KINDS } from '../core/alarm-names.js';
import { NotFoundError, UpstreamError } from '../core/errors.js';
import type { AlarmsPort, BudgetsPort, BudgetSummary, InstanceAlarmsInput, TopicsPort, UserTopicInput } from '../core/ports.js';

export interface SandboxSubscription {
  protocol: string;
  endpoint: string;
  confirmed: boolean;
  /** The token the SubscriptionConfirmation carries (HTTP(S) endpoints). */
  token?: string;
}

/** Sends a SubscriptionConfirmation for `token` to an endpoint, as SNS does after Subscribe (see SandboxSns.confirm). */
export type ConfirmationSender = (topicArn: string, endpoint: string, token: string) => Promise<void>;

const sandboxStore = (redis: Redis, prefix: string) => new Store(redis, `${prefix}:sandbox`);

export class RedisSandboxTopics implements TopicsPort {
  private readonly store: Store;
  /** Set once the sandbox SNS can sign (shared.ts): until then, HTTP(S) subscriptions wait unconfirmed. */
  sendConfirmation?: ConfirmationSender;

  constructor(
    redis: Redis,
    prefix: string,
    private readonly accountId = '111122223333',
    private readonly region = 'us-east-1',
  ) {
    this.store = sandboxStore(redis, prefix);
  }

  private subscriptionsKey(topicArn: string): string {
    return this.store.key('subscriptions', topicArn);
  }

  async createTopic(input: UserTopicInput): Promise<string> {
    const arn = `arn:aws:sns:${this.region}:${this.accountId}:${input.name}`;
    await this.store.redis
      .multi()
      .hsetnx(this.store.key('topics'), arn, JSON.stringify({ ownerEmail: input.ownerEmail }))
      .hsetnx(this.store.key('topic-of'), input.ownerEmail.toLowerCase(), arn)
      .exec();
    return arn;
  }

  async ensureSubscriptions(topicArn: string, input: UserTopicInput): Promise<void> {
    if (!(await this.store.redis.hexists(this.store.key('topics'), topicArn))) throw new NotFoundError(`Topic ${topicArn} does not exist.`);
    const key = this.subscriptionsKey(topicArn);
    const email: SandboxSubscription = { protocol: 'email', endpoint: input.ownerEmail, confirmed: false };
    await this.store.redis.hsetnx(key, `email:${input.ownerEmail}`, JSON.stringify(email));
    if (!input.endpoint) return;
    const protocol = new URL(input.endpoint).protocol.replace(':', '');
    const field = `${protocol}:${input.endpoint}`;
    const fresh: SandboxSubscription = { protocol, endpoint: input.endpoint, confirmed: false, token: randomBytes(64).toString('hex') };
    await this.store.redis.hsetnx(key, field, JSON.stringify(fresh));
    const sub = JSON.parse((await this.store.redis.hget(key, field))!) as SandboxSubscription;
    // Subscribe again re-sends the confirmation of a subscription still pending, as SNS does.
    if (!sub.confirmed && sub.token) {
      await this.store.redis.hset(this.store.key('subscription-tokens'), sub.token, `${topicArn} ${field}`);
      await this.sendConfirmation?.(topicArn, input.endpoint, sub.token);
    }
  }

  async confirmSubscription(topicArn: string, token: string): Promise<void> {
    const where = await this.store.redis.hget(this.store.key('subscription-tokens'), token);
    const [arn, field] = where ? [where.slice(0, where.indexOf(' ')), where.slice(where.indexOf(' ') + 1)] : [];
    if (arn !== topicArn || !field) throw new UpstreamError(`Invalid token for ${topicArn} (InvalidParameter)`, false);
    const key = this.subscriptionsKey(topicArn);
    const raw = await this.store.redis.hget(key, field);
    if (!raw) throw new UpstreamError(`Invalid token for ${topicArn} (InvalidParameter)`, false);
    await this.store.redis.hset(key, field, JSON.stringify({ ...(JSON.parse(raw) as SandboxSubscription), confirmed: true }));
  }

  /** The topic's owner and subscriptions, as ListSubscriptionsByTopic shows them. */
  async topic(topicArn: string): Promise<{ ownerEmail: string; subscriptions: SandboxSubscription[] } | undefined> {
    const raw = await this.store.redis.hget(this.store.key('topics'), topicArn);
    if (!raw) return undefined;
    const subscriptions = Object.values(await this.store.redis.hgetall(this.subscriptionsKey(topicArn))).map((s) => JSON.parse(s) as SandboxSubscription);
    return { ...(JSON.parse(raw) as { ownerEmail: string }), subscriptions };
  }

  /** The topic created for an owner's email, if any. */
  async topicOf(email: string): Promise<string | undefined> {
    return (await this.store.redis.hget(this.store.key('topic-of'), email.toLowerCase())) ?? undefined;
  }
}

export class RedisSandboxAlarms implements AlarmsPort {
  private readonly store: Store;

  constructor(redis: Redis, prefix: string) {
    this.store = sandboxStore(redis, prefix);
  }

  async putInstanceAlarms(input: InstanceAlarmsInput): Promise<string[]> {
    const alarms = ALARM_KINDS.map((kind) => alarmInput(input, kind));
    await this.store.redis.hset(this.store.key('alarms'), Object.fromEntries(alarms.map((a) => [a.AlarmName!, JSON.stringify(a)])));
    return alarms.map((a) => a.AlarmName!);
  }

  async deleteAlarms(names: string[]): Promise<void> {
    if (names.length) await this.store.redis.hdel(this.store.key('alarms'), ...names);
  }

  /** An alarm as PutMetricAlarm made it. */
  async alarm(name: string): Promise<PutMetricAlarmCommandInput | undefined> {
    const raw = await this.store.redis.hget(this.store.key('alarms'), name);
    return raw ? (JSON.parse(raw) as PutMetricAlarmCommandInput) : undefined;
  }
}

export interface SandboxBudget {
  ownerEmail: string;
  topicArn: string;
  summary: BudgetSummary;
}

export class RedisSandboxBudgets implements BudgetsPort {
  private readonly store: Store;

  constructor(redis: Redis, prefix: string) {
    this.store = sandboxStore(redis, prefix);
  }

  async ensureUserBudget(input: { accountId: string; name: string; ownerEmail: string; monthlyUsd: number; topicArn: string }): Promise<void> {
    const budget: SandboxBudget = { ownerEmail: input.ownerEmail, topicArn: input.topicArn, summary: { limitUsd: input.monthlyUsd, actualUsd: 0, forecastUsd: 0 } };
    await this.store.redis.hsetnx(this.store.key('budgets'), input.name, JSON.stringify(budget));
  }

  async describeUserBudget(input: { name: string }): Promise<BudgetSummary | undefined> {
    return (await this.budget(input.name))?.summary;
  }

  async budget(name: string): Promise<SandboxBudget | undefined> {
    const raw = await this.store.redis.hget(this.store.key('budgets'), name);
    return raw ? (JSON.parse(raw) as SandboxBudget) : undefined;
  }

  /** What AWS Budgets would report as spent (the sandbox's budget notifications spend at least their amount). */
  async setSpend(name: string, actualUsd: number, forecastUsd?: number): Promise<void> {
    const b = await this.budget(name);
    if (b) await this.store.redis.hset(this.store.key('budgets'), name, JSON.stringify({ ...b, summary: { ...b.summary, actualUsd, forecastUsd } }));
  }
}
