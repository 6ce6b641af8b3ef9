// Verified SNS messages: subscription confirmations for our topics, and notifications for their owners. A job holds one
// message (queue process-sns, job id = MessageId) or the burst that arrived in one turn of a web process (queue
// process-sns-batch; see Queues.snsMessage).
import type { Job } from 'bullmq';
import { deliverAlert } from '../src/core/alerts.js';
import type { CoreDeps, Outbox } from '../src/core/context.js';
import { deliver, type Deps as DeliveryDeps } from './deliver-message.js';
import { jobIdFor, QUEUE, type ReceivedSnsMessage } from './queues.js';
import type { SnsLine } from './sns-line.js';

export const name = QUEUE.sns;
export const batchName = QUEUE.snsBatch;
type SnsMessage = ReceivedSnsMessage;
export type Payload = SnsMessage;
export interface BatchPayload {
  batch: SnsMessage[];
}

/** A channel slot that frees within this long is waited for here rather than through a delayed outbox job. */
const WAIT_HERE_MS = 2000;

/**
 * The alert's delivery runs in this job, saving one job per alert. A message whose channel is busy for a moment (the
 * one-per-second pace) waits here; whatever must wait longer or retry, or comes after a message of its conversation
 * still on its way, is queued in the outbox (with the number it took here: the outbox gives the same message the same).
 */
function deliverHere(outbox: Outbox, delivery: DeliveryDeps, numbered: () => Promise<void>): Outbox {
  return {
    permalink: (key) => outbox.permalink(key),
    send: async (item) => {
      let waited = 0;
      let seq: number | undefined;
      try {
        seq = await delivery.order.assign(item);
        await numbered();
        const inOrder = { ...item, seq };
        for (;;) {
          const outcome = await deliver(inOrder, delivery);
          if ('done' in outcome) return;
          if ('afterMs' in outcome) {
            // The message just ahead is on its way (in this very batch, often): wait for it here a moment, as for the
            // pace. Further back, or longer, and the outbox job waits instead, woken when its turn comes: a burst into
            // one channel must not hold the workers other people's alerts need.
            if (outcome.ahead > 1 || waited >= WAIT_HERE_MS) break;
            waited += await delivery.order.waitHere(jobIdFor('msg', item.key), Math.min(outcome.afterMs, WAIT_HERE_MS - waited));
            continue;
          }
          if (waited + outcome.laterMs > WAIT_HERE_MS) break;
          waited += outcome.laterMs;
          await new Promise((r) => setTimeout(r, outcome.laterMs));
        }
      } catch (err) {
        delivery.log.warn({ err }, 'alert not delivered at once; the outbox retries it');
      }
      await outbox.send(item);
      // Numbered by the outbox (the same number, if it was numbered above).
      if (seq === undefined) await numbered();
    },
  };
}

/** Calls `numbered` once the outbox has numbered a message `outbox` sends. */
function afterSending(outbox: Outbox, numbered: () => Promise<void>): Outbox {
  return {
    permalink: (key) => outbox.permalink(key),
    send: async (item) => {
      await outbox.send(item);
      await numbered();
    },
  };
}

/** Every message sent for this notification carries when it reached us, for the alert latency metric. */
function stamped(m: SnsMessage, deps: CoreDeps): CoreDeps {
  const { outbox } = deps;
  if (m.receivedAt === undefined) return deps;
  return { ...deps, outbox: { permalink: (key) => outbox.permalink(key), send: (item) => outbox.send({ ...item, receivedAt: item.receivedAt ?? m.receivedAt }) } };
}

async function processOne(m: SnsMessage, core: CoreDeps, delivery: DeliveryDeps | undefined, line: SnsLine | undefined, itsTurn = false): Promise<string> {
  if (m.Type === 'SubscriptionConfirmation') {
    await core.topics.confirmSubscription(m.TopicArn, m.Token);
    await core.audit.append({ actor: 'sns', action: 'sns.confirm-subscription', target: m.TopicArn, outcome: 'confirmed', requestId: m.MessageId });
    return 'confirmed';
  }
  if (m.Type !== 'Notification') return 'ignored';
  // Its turn in its topic's line: its messages are numbered in their conversation after those of every notification of
  // the topic taken before it, and it leaves the line as soon as they are (or when it had none).
  if (!itsTurn) await line?.waitTurn(m);
  let left: Promise<void> | undefined;
  const leave = () => (left ??= line?.leave(m) ?? Promise.resolve());
  const outbox = delivery ? deliverHere(core.outbox, delivery, leave) : afterSending(core.outbox, leave);
  const deps = stamped(m, { ...core, outbox });
  // No lock: each notification is one atomic step on its resource's alert state, replayed for a MessageId seen before
  // (see deliverAlert), so a retried job or a redelivered message is one alert. One that fails before its messages are
  // numbered keeps its place for its retry.
  const { outcome } = await deliverAlert({ messageId: m.MessageId, topicArn: m.TopicArn, subject: m.Subject, message: m.Message, timestamp: m.Timestamp }, deps);
  await leave();
  return outcome;
}

/** One message, on process-sns: a retry of the job is a retry of the message. */
export async function process(job: Job<Payload>, deps: CoreDeps, delivery?: DeliveryDeps, line?: SnsLine): Promise<string> {
  return processOne(job.data, deps, delivery, line);
}

/**
 * A burst, on process-sns-batch. A message that fails retries in a job of its own (`requeue`), so one bad message neither
 * holds back nor replays the others; if requeueing fails, the batch job retries, and messages already applied replay.
 */
export async function processBatch(job: Job<BatchPayload>, deps: CoreDeps, delivery: DeliveryDeps | undefined, requeue: (m: SnsMessage) => Promise<void>, line?: SnsLine): Promise<string> {
  const { batch } = job.data;
  // Whose turn it is already, asked for the whole batch at once: in a burst, nearly all of them.
  const ready = line ? await line.ready(batch) : new Set<string>();
  const results = await Promise.allSettled(batch.map((m) => processOne(m, deps, delivery, line, ready.has(m.MessageId))));
  const failed = batch.filter((_, i) => results[i]!.status === 'rejected');
  for (const m of failed) await requeue(m);
  if (failed.length) deps.log.warn({ failed: failed.map((m) => m.MessageId) }, 'SNS messages failed in a batch; each retries in a job of its own');
  return `${batch.length - failed.length} of ${batch.length} applied`;
}
