// What GET /metrics serves, in one Prometheus registry per app: queues, jobs, alert latency, chat and AWS calls, approvals.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** How a call to a platform or AWS went: throttled is its own outcome, since the fix (pace, quota) differs. */
export type ChatCallOutcome = 'ok' | 'rate_limited' | 'error';
export type AwsCallOutcome = 'ok' | 'throttled' | 'error';
export type JobOutcome = 'completed' | 'failed' | 'delayed';

/** What a queue holds, as BullMQ counts it. */
export interface QueueCounts {
  name: string;
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
}

/** A scrape must answer, not wait for a Redis that is away. */
const SCRAPE_READ_TIMEOUT_MS = 2000;
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

function withinTimeout<T>(p: Promise<T>): Promise<T> {
  return Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), SCRAPE_READ_TIMEOUT_MS).unref())]);
}

export class Metrics {
  readonly registry = new Registry();
  private queues: () => QueueCounts[] = () => [];
  private approvals?: () => Promise<{ pending: number; oldestMs?: number }>;

  private readonly jobDuration = new Histogram({
    name: 'scicomp_job_duration_seconds',
    help: 'Time a job processor ran, by queue and outcome (delayed: it put itself back to wait, e.g. a channel busy or a 429)',
    labelNames: ['queue', 'outcome'] as const,
    buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });

  private readonly alertLatency = new Histogram({
    name: 'scicomp_alert_latency_seconds',
    help: 'From an SNS notification reaching POST /sns to its chat message posted (or updated in place)',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });

  private readonly chatCalls = new Counter({
    name: 'scicomp_chat_api_calls_total',
    help: 'Calls to a chat platform API (Slack Web API, response URLs; Teams), by method and outcome',
    labelNames: ['platform', 'method', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly awsCalls = new Counter({
    name: 'scicomp_aws_api_calls_total',
    help: 'AWS API attempts (each retry counts), by service, operation and outcome',
    labelNames: ['service', 'operation', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // prom-client calls collect() with the gauge as `this`: the registry's sources are reached through this name.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const metrics = this;
    new Gauge({
      name: 'scicomp_queue_jobs',
      help: 'Jobs in each queue by state, read from Redis at scrape time (the same in every process: take max, not sum)',
      labelNames: ['queue', 'state'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        await Promise.all(
          metrics.queues().map(async (q) => {
            const counts = await withinTimeout(q.getJobCounts(...QUEUE_STATES)).catch(() => undefined);
            if (!counts) return;
            for (const state of QUEUE_STATES) this.set({ queue: q.name, state }, counts[state] ?? 0);
          }),
        );
      },
    });
    const oldest = new Gauge({
      name: 'scicomp_approval_oldest_pending_seconds',
      help: 'Age of the oldest approval request still waiting for a decision (0 when none)',
      registers: [this.registry],
    });
    new Gauge({
      name: 'scicomp_approvals_pending',
      help: 'Approval requests waiting for a decision',
      registers: [this.registry],
      async collect() {
        const read = await (metrics.approvals ? withinTimeout(metrics.approvals()).catch(() => undefined) : undefined);
        if (!read) return;
        this.set(read.pending);
        oldest.set(read.oldestMs === undefined ? 0 : Math.max(0, read.oldestMs) / 1000);
      },
    });
  }

  /** The queues counted at each scrape. */
  watchQueues(queues: () => QueueCounts[]): void {
    this.queues = queues;
  }

  /** How many approval requests are pending, and how long the oldest has waited (ms), read at each scrape. */
  watchApprovals(read: () => Promise<{ pending: number; oldestMs?: number }>): void {
    this.approvals = read;
  }

  jobFinished(queue: string, outcome: JobOutcome, seconds: number): void {
    this.jobDuration.observe({ queue, outcome }, seconds);
  }

  /** An alert's message reached its channel; `receivedAt` is when its SNS notification reached us. */
  alertDelivered(receivedAt: number, now = Date.now()): void {
    this.alertLatency.observe(Math.max(0, now - receivedAt) / 1000);
  }

  chatCall(platform: string, method: string, outcome: ChatCallOutcome): void {
    this.chatCalls.inc({ platform, method, outcome });
  }

  awsCall(service: string, operation: string, outcome: AwsCallOutcome): void {
    this.awsCalls.inc({ service, operation, outcome });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
