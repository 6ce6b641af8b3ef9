// Carries out an approved request (provision, transfer, restore task, offboarding list) with the bot's role, idempotently.
import { UnrecoverableError, type Job } from 'bullmq';
import type { CoreDeps } from '../src/core/context.js';
import { isUserFacing } from '../src/core/errors.js';
import { carryOut } from '../src/core/requests.js';
import { QUEUE } from './queues.js';

export const name = QUEUE.carry;
export interface Payload {
  id: string;
}

export async function process(job: Job<Payload>, deps: CoreDeps): Promise<string> {
  try {
    return await carryOut(job.data.id, deps);
  } catch (err) {
    if (isUserFacing(err)) {
      deps.log.warn({ requestId: job.data.id, err }, 'approved request cannot be carried out');
      throw new UnrecoverableError((err as Error).message);
    }
    throw err;
  }
}
