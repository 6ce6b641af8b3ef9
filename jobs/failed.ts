// A job that fails for good, however it died (its last attempt, or a worker that kept dying under it): its person and the
// admin feed are told, instead of the work going quiet.
import type { Job } from 'bullmq';
import type { Channels } from '../src/core/channel.js';
import type { Feed, Outbox, WatchRequest } from '../src/core/context.js';
import type { Payload as RunCommandPayload } from '../src/core/interaction.js';
import { QUEUE } from './queues.js';

export interface Deps {
  outbox: Outbox;
  feed: Feed;
  channels: Pick<Channels, 'commandText'>;
  /** Tells an approved request's thread and requester that carrying it out failed for good, and why. */
  carryFailed?: (requestId: string, why: string) => Promise<void>;
}

/** BullMQ's reason for a job whose workers died under it more often than its queue's maxStalledCount allows. */
const STALLED = /stalled more than allowable limit/;

/** True once BullMQ has moved the job to `failed` (no retry left), as its worker's `failed` event reports it. */
export function failedForGood(job: Job | undefined): job is Job {
  return job?.finishedOn !== undefined;
}

/**
 * Tells the person a failed command, watch or approved request was for, and the admin feed. A processor that gave up on purpose
 * (UnrecoverableError) told its person itself; the same outbox keys make a second telling a no-op anyway.
 */
export async function tellFailedForGood(queue: string, job: Job, err: Error, deps: Deps): Promise<void> {
  const stalled = STALLED.test(err.message);
  const toldByProcessor = err.name === 'UnrecoverableError' && !stalled;
  const why = stalled ? 'the workers running it kept stopping' : err.message;
  if (!toldByProcessor && queue === QUEUE.command) {
    const p = job.data as RunCommandPayload;
    await deps.outbox.send({
      key: `failure:${p.requestId}`,
      to: p.reply,
      message: {
        text: 'That could not be finished: scicomp was interrupted while doing it. Anything it started in AWS is followed up and reported in your DM.',
        tone: 'error',
        context: [`Check ${deps.channels.commandText(p.platform, 'list')} before trying again.`],
      },
    });
  }
  if (!toldByProcessor && queue === QUEUE.watch) {
    const w = job.data as WatchRequest;
    const say = deps.channels.commandText(w.owner.platform, `status ${w.name}`);
    await deps.outbox.send({
      key: `watch:${w.recordId}:interrupted`,
      to: { platform: w.owner.platform, kind: 'user', userId: w.owner.userId },
      message: {
        text: w.mutationId ? `I could not follow ${w.name} to the end just now; I'll keep at it and tell you how it ends.` : `I could not follow ${w.name} to the end. ${say} shows where it is.`,
        tone: 'warning',
        context: [`record ${w.recordId} · ${say}`],
      },
    });
  }
  // carry-out's processor gives up on purpose (AWS refused a step) without telling anyone: its thread and requester hear.
  if (queue === QUEUE.carry) await deps.carryFailed?.((job.data as { id: string }).id, why.replace(/\.$/, ''));
  // The feed's own posts cannot report their own failure through it.
  if (queue !== QUEUE.feed) await deps.feed.publish({ type: 'failed', summary: `job ${queue}/${job.id} failed for good: ${why}`, key: `job-failed:${queue}:${job.id}` });
}
