// A conversation's messages arrive in the order they were produced, through 429s, 5xx and lost answers, with two worker
// processes taking them: none lost, none twice, and an update after the message it edits.
import { afterEach, describe, expect, it } from 'vitest';
import { announcedKey } from '../../src/adapters/redis/outbox-marks.js';
import type { OutboxItem } from '../../src/core/context.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { eventually, Harness, stopReplicas } from '../support/harness.js';
import { seeded } from '../support/seeded.js';
import { SlackApi, type Failure, type SlackCall } from '../support/slack-api.js';

const USER = 'UORDER';
const BURST = 20;
/** After every this many messages, an update of the one just sent is queued at once behind it. */
const UPDATE_EVERY = 6;
const harnesses: Harness[] = [];
let slack: SlackApi | undefined;

afterEach(async () => {
  await stopReplicas(harnesses);
  await slack?.close();
  slack = undefined;
});

const FAULTS: Failure[] = [
  { status: 429, retryAfter: 1 },
  { status: 500, error: 'internal_error' },
  { status: 503, error: 'service_unavailable' },
  // Slack posted it; only the answer was lost.
  { status: 500, error: 'internal_error', afterPosting: true },
];

describe('a burst into one DM, with Slack failing at random, on two workers', () => {
  it('arrives in the order it was produced, each message once, each update after its message', async () => {
    slack = await new SlackApi().start();
    const prefix = `order${Math.random().toString(36).slice(2, 10)}`;
    for (let i = 0; i < 2; i++) {
      harnesses.push(await Harness.start({ catalog: new SandboxCatalog({ provisionMs: 100 }), slack, prefix, env: { CHANNEL_INTERVAL_MS: '40' } }));
    }
    const [a, b] = harnesses as [Harness, Harness];
    const random = seeded(65);
    slack.failSometimes('chat.postMessage', 0.2, FAULTS, random);
    slack.failSometimes('chat.update', 0.2, FAULTS, random);

    const to = { platform: 'slack' as const, kind: 'user' as const, userId: USER };
    const updated: string[] = [];
    for (let i = 0; i < BURST; i++) {
      // Produced on either replica, one after another, as a person's messages are.
      const outbox = (i % 2 ? b : a).app.queues.outbox;
      const item: OutboxItem = { key: `burst:${i}`, to, message: { text: `message ${i}` } };
      await outbox.send(item);
      if (i % UPDATE_EVERY === 0) {
        await outbox.send({ key: `burst:${i}:edit`, replaces: item.key, to, message: { text: `message ${i} edited` } });
        updated.push(`message ${i}`);
      }
    }

    const inDm = (c: SlackCall) => c.body.channel === `D${USER}`;
    const posts = () => slack!.of('chat.postMessage').filter(inDm);
    const edits = () => slack!.of('chat.update').filter(inDm);
    await eventually(() => posts().length >= BURST && edits().length >= updated.length, 'every message and update', 60_000);
    expect(posts().map((c) => c.body.text)).toEqual(Array.from({ length: BURST }, (_, i) => `message ${i}`));
    const calls = slack.calls.filter((c) => inDm(c) && (c.method === 'chat.postMessage' || c.method === 'chat.update'));
    for (const text of updated) {
      const post = calls.findIndex((c) => c.method === 'chat.postMessage' && c.body.text === text);
      const edit = calls.findIndex((c) => c.method === 'chat.update' && c.body.text === `${text} edited`);
      expect(edit, `${text} edited after it was posted`).toBeGreaterThan(post);
      expect(calls[edit]!.body.ts).toBe(calls[post]!.response!.ts);
    }
    // Slack really did fail, in every way: the order held through retries and Retry-After, not for want of faults.
    expect(slack.failed.map((f) => f.status).sort()).toEqual([429, 500, 500, 503]);
    expect(slack.of('conversations.history').length).toBeGreaterThan(0);
  });
});

describe('a message Slack refuses for good', () => {
  it('does not hold up the messages after it in its conversation, nor an edit of it', async () => {
    slack = await new SlackApi().start();
    const h = await Harness.start({ catalog: new SandboxCatalog({ provisionMs: 100 }), slack, env: { CHANNEL_INTERVAL_MS: '40' } });
    harnesses.push(h);
    const to = { platform: 'slack' as const, kind: 'channel' as const, channel: 'CARCHIVED' };
    // Slack answers 200 with ok: false, as it does when a channel is archived: no retry can fix that.
    slack.failNext('chat.postMessage', { status: 200, error: 'is_archived' });
    const sent = Date.now();
    // Announced as on its way, as an alert's first message is, so that its edits wait for it.
    await h.app.store.redis.set(announcedKey(h.app.store, 'refused:first'), '1', 'PX', 3600_000);
    await h.app.queues.outbox.send({ key: 'refused:first', to, message: { text: 'refused' } });
    await h.app.queues.outbox.send({ key: 'refused:second', to, message: { text: 'goes through' } });
    await h.app.queues.outbox.send({ key: 'refused:edit', replaces: 'refused:first', to, message: { text: 'the edit, on its own' } });
    const second = await eventually(() => slack!.of('chat.postMessage').find((c) => c.body.text === 'goes through'), 'the message after it');
    // At once, not once the refused one has looked stuck for a while.
    expect(second.at - sent).toBeLessThan(3000);
    await eventually(() => slack!.of('chat.postMessage').find((c) => c.body.text === 'the edit, on its own'), 'the edit, posted as a message of its own');
    expect(slack.of('chat.postMessage').filter((c) => c.body.text === 'refused')).toHaveLength(0);
    expect(slack.failed).toEqual([{ method: 'chat.postMessage', status: 200 }]);
  });
});
