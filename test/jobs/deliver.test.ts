// The outbox's one attempt at a message, on real Redis: two attempts at the same message at once (a redelivered SNS
// message in another job) post it once, however slow the platform is to answer.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { deliver, type Deps, type Outcome } from '../../jobs/deliver-message.js';
import { Queues } from '../../jobs/queues.js';
import { REDIS_URL } from '../support/redis.js';
import { Store } from '../../src/adapters/redis/store.js';
import { Channels } from '../../src/core/channel.js';
import type { OutboxItem } from '../../src/core/context.js';
import type { Address, ChatPort } from '../../src/core/ports.js';

const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
const opened: { store: Store; queues: Queues }[] = [];

afterAll(async () => {
  for (const { store, queues } of opened) {
    await queues.close();
    const keys = await redis.keys(`${store.prefix}:*`);
    if (keys.length) await redis.del(...keys);
  }
  redis.disconnect();
});

/** A Slack that takes `ms` to answer each post, and counts them. */
function slowChat(ms: number): ChatPort & { posts: Address[] } {
  const posts: Address[] = [];
  const never = () => Promise.reject(new Error('not used'));
  return {
    platform: 'slack',
    posts,
    post: async (to) => {
      posts.push(to);
      await new Promise((r) => setTimeout(r, ms));
      return { ref: JSON.stringify({ channel: 'DSLOW', ts: `${posts.length}.0` }) };
    },
    update: never,
    permalink: async () => undefined,
    showForm: never,
    profile: never,
    groupMembers: never,
  };
}

/** The outbox's view of one Slack channel: this chat, at one message per `intervalMs` per conversation. */
function deps(chat: ChatPort, intervalMs = 1000): Deps {
  const store = new Store(redis, `tdeliver${randomBytes(4).toString('hex')}`);
  const queues = new Queues(redis, store.prefix, () => chat);
  opened.push({ store, queues });
  const channels = new Channels([{ platform: 'slack', chat, pacing: { intervalMs }, commandText: (w) => w }]);
  return { channels, store, refs: queues.refs, log: pino({ level: 'silent' }) };
}

const item: OutboxItem = { key: 'sns:redelivered-1', to: { platform: 'slack', kind: 'user', userId: 'USLOW' }, message: { text: 'disk is filling up' } };

describe('deliver', () => {
  it('two attempts at one message at once post it once, even when the post outlasts the channel’s second', async () => {
    const chat = slowChat(1500);
    const d = deps(chat);
    const first = deliver(item, d);
    // The second attempt starts while the first is still posting, and again once the channel's slot has expired.
    await new Promise((r) => setTimeout(r, 50));
    const early = await deliver(item, d);
    await new Promise((r) => setTimeout(r, 1100));
    const late = await deliver(item, d);
    expect(await first).toEqual({ done: 'posted' });
    expect(early).toMatchObject({ laterMs: expect.any(Number) });
    expect(late).toMatchObject({ laterMs: expect.any(Number) });
    const after: Outcome = await deliver(item, d);
    expect(after).toEqual({ done: 'duplicate' });
    expect(chat.posts).toHaveLength(1);
  });

  it('a burst into one channel books each message its own turn, an interval apart; another channel does not wait', async () => {
    const chat = slowChat(0);
    const d = deps(chat, 300);
    const to: Address = { platform: 'slack', kind: 'user', userId: 'UBUSY' };
    const burst = Array.from({ length: 5 }, (_, i): OutboxItem => ({ key: `busy-${i}`, to, message: { text: `busy ${i}` } }));
    const first = await Promise.all(burst.map((m) => deliver(m, d)));
    const waits = first.map((o) => ('laterMs' in o ? o.laterMs : 0)).sort((a, b) => a - b);
    expect(first.filter((o) => 'done' in o)).toHaveLength(1);
    // Turns 300 ms apart (less what the calls themselves took): each message is woken once, at its own turn.
    for (const [i, w] of waits.entries()) expect(w).toBeGreaterThan(i * 300 - 100);
    for (const [i, w] of waits.entries()) expect(w).toBeLessThanOrEqual(i * 300);
    // Asking again before its turn does not lose the turn or book another.
    const again = await deliver(burst[1]!, d);
    expect('laterMs' in again && again.laterMs <= waits[4]!).toBe(true);
    expect(await deliver({ key: 'elsewhere', to: { platform: 'slack', kind: 'user', userId: 'UIDLE' }, message: { text: 'hi' } }, d)).toEqual({ done: 'posted' });
    expect(chat.posts).toHaveLength(2);
  });

  it('an attempt that fails gives the message back: the next attempt sends it', async () => {
    const chat = slowChat(0);
    let fail = true;
    const post = chat.post.bind(chat);
    chat.post = async (to, msg, o) => {
      if (fail) {
        fail = false;
        throw new Error('socket hang up');
      }
      return post(to, msg, o);
    };
    const d = deps(chat, 1);
    await expect(deliver(item, d)).rejects.toThrow('socket hang up');
    await new Promise((r) => setTimeout(r, 5));
    expect(await deliver(item, d)).toEqual({ done: 'posted' });
  });
});
