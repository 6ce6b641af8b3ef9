// The outbox is fair: a burst into one person's DM keeps its pace without holding up anyone else's messages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually, Harness } from '../support/harness.js';
import { notification, sign, verifierForTests } from '../support/sns.js';

const ALICE = 'UALICE';
const BOB = 'UBOB';
const INTERVAL_MS = 500;
/** More than the SNS workers (32): a busy channel that held a worker per message would hold them all. */
const BURST = 80;
/** How much of the burst is watched for its pace. */
const PACED = 8;
const topicOf = (user: string) => `arn:aws:sns:us-east-1:111122223333:scicomp-user-${user.toLowerCase()}-synapse-org`;

let h: Harness;

beforeAll(async () => {
  h = await Harness.start({
    catalog: new SandboxCatalog({ provisionMs: 100 }),
    env: { SLACK_CHANNEL_INTERVAL_MS: String(INTERVAL_MS) },
    extra: { snsVerifier: verifierForTests() },
  });
  // Each user's topic, as their first launch leaves it.
  for (const user of [ALICE, BOB]) {
    await h.app.deps.alertState.recordTopic(topicOf(user), { platform: 'slack', userId: user, email: `${user.toLowerCase()}@synapse.org` });
  }
});

afterAll(async () => {
  await dropPrefix(h.app);
  await h.close();
});

async function notify(user: string, text: string): Promise<void> {
  const res = await fetch(`${h.url}/sns`, { method: 'POST', headers: { 'content-type': 'text/plain; charset=UTF-8' }, body: JSON.stringify(sign(notification(topicOf(user), text))) });
  expect(res.status).toBe(200);
}

const postsTo = (user: string) => h.slack.of('chat.postMessage').filter((c) => c.body.channel === `D${user}`);

describe('a burst of alerts into one DM', () => {
  it('does not hold up another person’s alert, and keeps its own pace of one a channel interval', async () => {
    // One POST after another: each notification is a job of its own, as when SNS delivers a burst over a few moments.
    for (let i = 0; i < BURST; i++) await notify(ALICE, `burst ${i}`);
    const sent = Date.now();
    await notify(BOB, 'for bob');
    const bob = await eventually(() => postsTo(BOB)[0], 'Bob’s alert');
    const aliceSoFar = postsTo(ALICE).length;
    // Bob's DM is a channel of its own: his alert waits for no one's pace but his own.
    expect(bob.at - sent).toBeLessThan(1000);
    expect(aliceSoFar).toBeLessThan(BURST);

    await eventually(() => postsTo(ALICE).length >= PACED, 'the start of the burst', PACED * INTERVAL_MS + 10_000);
    const at = postsTo(ALICE).map((c) => c.at);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    // The recorder stamps arrival, which a call's own latency moves (the first post also opens the DM): the burst as a
    // whole shows the pace, each gap that no two were sent together.
    expect(Math.min(...gaps.slice(1))).toBeGreaterThanOrEqual(INTERVAL_MS / 2);
    expect(at.at(-1)! - at[0]!).toBeGreaterThanOrEqual((at.length - 2) * INTERVAL_MS);
    // Each post is another notification (an unrecognised one: its words are in the blocks, its summary the same).
    expect(new Set(postsTo(ALICE).map((c) => JSON.stringify(c.body.blocks))).size).toBe(at.length);
  });
});
