// One verified SNS message: a subscription confirmation for our topic, or a notification for its owner. Job id = MessageId.
import type { Job } from 'bullmq';
import { deliverAlert } from '../src/core/alerts.js';
import type { CoreDeps, Outbox } from '../src/core/context.js';
import type { SnsMessage } from '../src/http/sns.js';
import { deliver, type Deps as DeliveryDeps } from './deliver-message.js';
import { QUEUE } from './queues.js';

export const name = QUEUE.sns;
export type Payload = SnsMessage;

/** The alert's first delivery attempt runs in this job, saving one job per alert; whatever must wait or retry is queued. */
function deliverFirstHere(outbox: Outbox, delivery: DeliveryDeps): Outbox {
  return {
    permalink: (key) => outbox.permalink(key),
    send: async (item) => {
      try {
        if ('done' in (await deliver(item, delivery))) return;
      } catch (err) {
        delivery.log.warn({ err: (err as Error).message }, 'alert not delivered at once; the outbox retries it');
      }
      await outbox.send(item);
    },
  };
}

export async function process(job: Job<Payload>, deps: CoreDeps, delivery?: DeliveryDeps): Promise<string> {
  const m = job.data;
  if (m.Type === 'SubscriptionConfirmation') {
    await deps.topics.confirmSubscription(m.TopicArn, m.Token);
    await deps.audit.append({ actor: 'sns', action: 'sns.confirm-subscription', target: m.TopicArn, outcome: 'confirmed', requestId: m.MessageId });
    return 'confirmed';
  }
  if (m.Type !== 'Notification') return 'ignored';
  const core = delivery ? { ...deps, outbox: deliverFirstHere(deps.outbox, delivery) } : deps;
  // No lock: each notification is one atomic step on its resource's alert state (see deliverAlert).
  const { outcome } = await deliverAlert({ messageId: m.MessageId, topicArn: m.TopicArn, subject: m.Subject, message: m.Message, timestamp: m.Timestamp }, core);
  return outcome;
}
