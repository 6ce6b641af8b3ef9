// Expires an approval request nobody decided in time: buttons removed, requester told. A decided request is left alone.
import type { Job } from 'bullmq';
import { expire } from '../src/core/approvals.js';
import type { CoreDeps } from '../src/core/context.js';
import { QUEUE } from './queues.js';

export const name = QUEUE.expire;
export interface Payload {
  id: string;
}

export async function process(job: Job<Payload>, deps: CoreDeps): Promise<string> {
  return (await expire(job.data.id, deps)) ? 'expired' : 'already decided';
}
