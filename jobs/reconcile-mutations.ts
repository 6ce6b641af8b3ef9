// Reconciles journaled AWS mutations every MUTATION_RECONCILE_MS: none is left without a watch until its owner has heard.
import { Job, type Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { CoreDeps, WatchRequest } from '../src/core/context.js';
import { reconcileMutations, type Watches } from '../src/core/mutations.js';
import { jobIdFor, QUEUE } from './queues.js';

export const name = QUEUE.mutations;
/** One scheduler whichever replica upserts it, so one run per interval for the whole deployment. */
export const SCHEDULER_ID = 'reconcile-mutations';
export type Payload = Record<string, never>;

export type Deps = Pick<CoreDeps, 'catalog' | 'sealer' | 'clock' | 'audit' | 'feed' | 'mutations' | 'watcher'> & {
  log: Logger;
  /** The watch-provision queue, where each record's watch job is found by its id. */
  watchQueue: Queue;
  /** How old a mutation must be before it is reconciled: its own job has had time to start the watch. */
  graceMs: number;
};

/** Creates the job scheduler, or changes its interval; every replica calls it at start and they share the one scheduler. */
export async function schedule(queue: Queue, everyMs: number): Promise<void> {
  await queue.upsertJobScheduler(SCHEDULER_ID, { every: everyMs }, {
    name: 'reconcile',
    data: {},
    // A failed run is not retried: the next one, an interval later, is the retry.
    opts: { attempts: 1, removeOnComplete: { count: 10 }, removeOnFail: { count: 50 } },
  });
}

/** Watch jobs by record, in the watch-provision queue (their job id derives from the record id). */
export function watchesIn(queue: Queue, watcher: CoreDeps['watcher']): Watches {
  return {
    state: async (recordId) => {
      const job = await Job.fromId(queue, jobIdFor('watch', recordId));
      if (!job) return 'missing';
      const state = await job.getState();
      return state === 'completed' ? 'done' : state === 'failed' ? 'failed' : state === 'unknown' ? 'missing' : 'running';
    },
    restart: async (w: WatchRequest) => {
      const job = await Job.fromId(queue, jobIdFor('watch', w.recordId));
      if (job && (await job.isFailed())) await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      else await watcher.watch(w);
    },
  };
}

export async function process(_job: Job<Payload>, deps: Deps): Promise<string> {
  const { checked, called, watched, settled } = await reconcileMutations(deps, watchesIn(deps.watchQueue, deps.watcher), deps.graceMs);
  if (called || watched || settled) deps.log.info({ checked, called, watched, settled }, 'AWS mutations reconciled');
  return `${checked} checked: ${called} called again, ${watched} watched, ${settled} settled`;
}
