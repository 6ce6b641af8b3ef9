// How SNS messages are queued, on real Redis: a burst in one turn is one job on its own queue, a lone message keeps its
// MessageId as job id, and a message handed back by a batch runs again even where an earlier job of its id failed.
import { randomBytes } from 'node:crypto';
import { UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { jobIdFor, QUEUE, Queues } from '../../jobs/queues.js';
import { parseSnsMessage } from '../../src/http/sns.js';
import { notification, sign } from '../support/sns.js';
import { REDIS_URL } from '../support/redis.js';

const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
const opened: Queues[] = [];
const topic = 'arn:aws:sns:us-east-1:111122223333:scicomp-user-q';

afterAll(async () => {
  for (const q of opened) {
    await q.close();
    const keys = await redis.keys(`${q.prefix}:*`);
    if (keys.length) await redis.del(...keys);
  }
  redis.disconnect();
});

function queues(): Queues {
  const q = new Queues(redis, `tsnsq${randomBytes(4).toString('hex')}`);
  opened.push(q);
  return q;
}

const message = (subject: string) => parseSnsMessage(JSON.stringify(sign(notification(topic, `${subject}: text`, subject))));

describe('Queues.snsMessage', () => {
  it('a burst in one turn is one job on the batch queue; a lone message is a job of its own, its MessageId the id', async () => {
    const q = queues();
    const burst = ['a', 'b', 'c'].map(message);
    await Promise.all([...burst, burst[1]!].map((m) => q.snsMessage(m)));
    const [batch] = await q.snsBatchQueue.getJobs(['waiting']);
    // Each in its topic's line, all at the one time the batch was written (see sns-line).
    expect(batch?.data).toEqual({ batch: burst.map((m) => ({ ...m, lineAt: expect.any(Number) })) });
    expect(new Set((batch!.data as { batch: { lineAt: number }[] }).batch.map((m) => m.lineAt)).size).toBe(1);
    expect(await q.sns.count()).toBe(0);
    const lone = message('d');
    await q.snsMessage(lone);
    expect((await q.sns.getJob(jobIdFor('sns', lone.MessageId)))?.data).toEqual({ ...lone, lineAt: expect.any(Number) });
    expect(await q.snsBatchQueue.count()).toBe(1);
  });

  it('a message handed back by a batch runs again where a job of its id failed for good before', async () => {
    const q = queues();
    const m = message('e');
    await q.snsOne(m);
    // The earlier job of this MessageId failed for good.
    const worker = new Worker(QUEUE.sns, null, { connection: redis.duplicate(), prefix: q.prefix });
    const token = 'test-token';
    const job = (await worker.getNextJob(token))!;
    await job.moveToFailed(new UnrecoverableError('owner record unreadable'), token);
    expect(await job.getState()).toBe('failed');
    await q.snsRetryAlone(m);
    expect(await (await q.sns.getJob(job.id!))!.getState()).toBe('waiting');
    await worker.close();
  });
});
