// One verified SNS message: a subscription confirmation for our topic, or a notification for its owner. Job id = MessageId.
import { DelayedError, type Job } from 'bullmq';
import { deliverAlert } from '../src/core/alerts.js';
import type { CoreDeps } from '../src/core/context.js';
import type { SnsMessage } from '../src/http/sns.js';
import { QUEUE } from './queues.js';

export const name = QUEUE.sns;
export type Payload = SnsMessage;

const LOCK_MS = 30_000;

/** Notifications of one alarm are handled one at a time, so coalescing counts them exactly. */
function lockTarget(m: SnsMessage): string {
  try {
    const alarm = (JSON.parse(m.Message) as { AlarmName?: unknown }).AlarmName;
    if (typeof alarm === 'string') return alarm;
  } catch {
    // not an alarm
  }
  return m.MessageId;
}

export async function process(job: Job<Payload>, deps: CoreDeps, token?: string): Promise<string> {
  const m = job.data;
  if (m.Type === 'SubscriptionConfirmation') {
    await deps.topics.confirmSubscription(m.TopicArn, m.Token);
    await deps.audit.append({ actor: 'sns', action: 'sns.confirm-subscription', target: m.TopicArn, outcome: 'confirmed', requestId: m.MessageId });
    return 'confirmed';
  }
  if (m.Type !== 'Notification') return 'ignored';
  const lock = deps.store.key('alert-lock', lockTarget(m));
  if (!(await deps.store.claim(lock, LOCK_MS, job.id ?? m.MessageId))) {
    await job.moveToDelayed(Date.now() + 100, token);
    throw new DelayedError();
  }
  try {
    const { outcome } = await deliverAlert({ messageId: m.MessageId, topicArn: m.TopicArn, subject: m.Subject, message: m.Message, timestamp: m.Timestamp }, deps);
    return outcome;
  } finally {
    await deps.store.del(lock);
  }
}
