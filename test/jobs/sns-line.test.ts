// Each SNS topic's notifications in the order they reached us, on real Redis: a later one waits for the ones before it
// to leave, a redelivery of one that left does not hold the line again, one whose job died is passed over in time, and
// topics do not wait for each other.
import { describe, expect, it } from 'vitest';
import type { ReceivedSnsMessage } from '../../jobs/queues.js';
import { SnsLine } from '../../jobs/sns-line.js';
import { testRedis } from '../support/backends.js';

const redis = testRedis();
let lastPrefix = '';

function line(passOverMs = 60_000): SnsLine {
  const store = redis.store();
  lastPrefix = store.prefix;
  return new SnsLine(store, passOverMs);
}

const TOPIC = 'arn:aws:sns:us-east-1:111122223333:scicomp-user-a';
const note = (id: string, topic = TOPIC) => ({ Type: 'Notification', MessageId: id, TopicArn: topic, Message: id }) as unknown as ReceivedSnsMessage;

/** Whether the promise has settled by the time Redis has answered a few more round trips. */
async function settledSoon(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 5; i++) await redis.connection.ping();
  await new Promise((r) => setTimeout(r, 150));
  return done;
}

describe('SnsLine', () => {
  it('a notification taken later waits until every one taken before it in its topic has left', async () => {
    const l = line();
    const [first] = await l.join([note('m1')]);
    const [second] = await l.join([note('m2')]);
    expect(second!.lineAt).toBeGreaterThan(first!.lineAt!);
    // The first's turn at once; the second's only once the first has left.
    await l.waitTurn(first!);
    expect(await l.ready([first!, second!])).toEqual(new Set(['m1']));
    const turn = l.waitTurn(second!);
    expect(await settledSoon(turn)).toBe(false);
    await l.leave(first!);
    await turn;
    expect(await l.ready([second!])).toEqual(new Set(['m2']));
  });

  it('notifications taken together, and other topics, do not wait for each other', async () => {
    const l = line();
    const [a, b] = await l.join([note('t1'), note('t2')]);
    const [other] = await l.join([note('o1', `${TOPIC}-other`)]);
    expect(a!.lineAt).toBe(b!.lineAt);
    await Promise.all([l.waitTurn(a!), l.waitTurn(b!), l.waitTurn(other!)]);
  });

  it('a redelivery of a notification that left does not join again: it would hold the line with no job to run it', async () => {
    const l = line();
    const [m] = await l.join([note('r1')]);
    await l.waitTurn(m!);
    await l.leave(m!);
    await l.join([note('r1')]);
    const [next] = await l.join([note('r2')]);
    expect(await settledSoon(l.waitTurn(next!))).toBe(true);
  });

  it('one whose job died for good is passed over after passOverMs, and only then', async () => {
    const l = line(1500);
    await l.join([note('dead')]);
    const [next] = await l.join([note('after')]);
    const turn = l.waitTurn(next!);
    expect(await settledSoon(turn)).toBe(false);
    expect(await turn).toBeGreaterThanOrEqual(1490);
  });

  it('leaves nothing behind for a message that is not a notification', async () => {
    const l = line();
    const confirmation = { ...note('c1'), Type: 'SubscriptionConfirmation' } as ReceivedSnsMessage;
    const [joined] = await l.join([confirmation]);
    expect(joined!.lineAt).toBeUndefined();
    expect(await redis.connection.keys(`${lastPrefix}:*`)).toEqual([]);
  });
});
