// The outbox's one attempt at a message, on real Redis: two attempts at the same message at once (a redelivered SNS
// message in another job) post it once, however slow the platform is to answer; an attempt that died after posting is
// not posted again; a conversation's messages go in the order they were numbered.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { deliver, type Deps, type Outcome, type Queued } from '../../jobs/deliver-message.js';
import { jobIdFor, Queues } from '../../jobs/queues.js';
import { announcedKey } from '../../src/adapters/redis/outbox-marks.js';
import { SlackChat } from '../../src/adapters/slack/chat.js';
import { REDIS_URL } from '../support/redis.js';
import { Store } from '../../src/adapters/redis/store.js';
import { Channels } from '../../src/core/channel.js';
import type { OutboxItem } from '../../src/core/context.js';
import type { Address, ChatPort } from '../../src/core/ports.js';
import { eventually, staticSecrets } from '../support/harness.js';
import { SlackApi } from '../support/slack-api.js';

const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
const opened: { store: Store; queues: Queues }[] = [];

const apis: SlackApi[] = [];

afterAll(async () => {
  for (const api of apis) await api.close();
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
  return { channels, store, refs: queues.refs, order: queues.order, log: pino({ level: 'silent' }) };
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

/** The real Slack adapter against the recording Slack API; `dies` makes its posts reach Slack and then never return. */
async function slack(d: Deps): Promise<{ api: SlackApi; chat: SlackChat & { dies?: boolean } }> {
  const api = await new SlackApi().start();
  apis.push(api);
  const chat: SlackChat & { dies?: boolean } = new SlackChat({ secrets: staticSecrets({ slackBotToken: 'xoxb-test' }), store: d.store, apiUrl: api.apiUrl });
  const post = chat.post.bind(chat);
  chat.post = async (...args) => {
    const dies = chat.dies;
    const posted = await post(...args);
    // The process died here: the message is in Slack, and nothing else of this attempt happens.
    if (dies) return new Promise(() => {});
    return posted;
  };
  d.channels = new Channels([{ platform: 'slack', chat, pacing: d.channels.get('slack')!.pacing, commandText: (w) => w }]);
  return { api, chat };
}

describe('an attempt that posted and did not finish', () => {
  it('is found by the next attempt, after the lease, and recorded: one post, which later updates edit', async () => {
    // A lease long enough that "within the lease" holds on a busy machine too.
    const d: Deps = { ...deps(slowChat(0), 1), leaseMs: 1500 };
    const { api, chat } = await slack(d);
    const msg: OutboxItem = { key: 'sns:crash-1', to: { platform: 'slack', kind: 'user', userId: 'UCRASH' }, message: { text: 'cpu is high' } };
    chat.dies = true;
    void deliver(msg, d);
    await eventually(() => api.of('chat.postMessage').length === 1, 'the post reached Slack');
    chat.dies = false;
    // Within the lease the message is still the dead attempt's.
    expect(await deliver(msg, d)).toMatchObject({ laterMs: expect.any(Number) });
    const retried = await eventually(async () => {
      const o = await deliver(msg, d);
      return 'done' in o ? o : undefined;
    }, 'the retry after the lease');
    expect(retried).toEqual({ done: 'found' });
    expect(api.of('chat.postMessage')).toHaveLength(1);
    expect(api.of('conversations.history')[0]?.body).toMatchObject({ channel: 'DUCRASH', include_all_metadata: 'true' });
    // What was found is where later messages look: an update edits that message.
    expect(JSON.parse((await d.refs.get(msg.key))!.ref)).toEqual({ channel: 'DUCRASH', ts: api.of('chat.postMessage')[0]!.response!.ts });
    expect(await deliver({ key: 'sns:crash-2', replaces: msg.key, to: msg.to, message: { text: 'cpu is fine' } }, d)).toEqual({ done: 'updated' });
    expect(api.of('chat.update')[0]?.body).toMatchObject({ ts: api.of('chat.postMessage')[0]!.response!.ts });
    expect(await deliver(msg, d)).toEqual({ done: 'duplicate' });
  });

  it('a post whose answer was lost (Slack did the work, then a 500) is not posted again', async () => {
    const d: Deps = deps(slowChat(0), 1);
    const { api } = await slack(d);
    const msg: OutboxItem = { key: 'sns:lost-answer', to: { platform: 'slack', kind: 'channel', channel: 'CALERTS' }, message: { text: 'disk is full' } };
    api.failNext('chat.postMessage', { status: 500, error: 'internal_error', afterPosting: true });
    await expect(deliver(msg, d)).rejects.toThrow(/HTTP 500/);
    await new Promise((r) => setTimeout(r, 5));
    expect(await deliver(msg, d)).toEqual({ done: 'found' });
    expect(api.of('chat.postMessage')).toHaveLength(1);
  });

  it('without the history scopes, it says so and posts again rather than fail the message', async () => {
    const warnings: string[] = [];
    const d: Deps = deps(slowChat(0), 1);
    d.log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    const { api } = await slack(d);
    const msg: OutboxItem = { key: 'sns:no-scope', to: { platform: 'slack', kind: 'user', userId: 'USCOPE' }, message: { text: 'idle' } };
    api.failNext('chat.postMessage', { status: 500, error: 'internal_error', afterPosting: true });
    api.failNext('conversations.history', { status: 200, error: 'missing_scope' });
    await expect(deliver(msg, d)).rejects.toThrow(/HTTP 500/);
    await new Promise((r) => setTimeout(r, 5));
    expect(await deliver(msg, d)).toEqual({ done: 'posted' });
    expect(api.of('chat.postMessage')).toHaveLength(2);
    expect(warnings.join('')).toContain('history scopes');
  });

  it('a post Slack refused (429) is posted when its turn comes, without asking Slack what it holds', async () => {
    const d: Deps = deps(slowChat(0), 1);
    const { api } = await slack(d);
    const msg: OutboxItem = { key: 'sns:refused', to: { platform: 'slack', kind: 'user', userId: 'UREFUSED' }, message: { text: 'budget' } };
    api.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    expect(await deliver(msg, d)).toEqual({ laterMs: 1000 });
    expect(await eventually(async () => {
      const o = await deliver(msg, d);
      return 'done' in o ? o : undefined;
    }, 'posted after Retry-After', 3000)).toEqual({ done: 'posted' });
    expect(api.of('chat.postMessage')).toHaveLength(1);
    expect(api.of('conversations.history')).toHaveLength(0);
  });
});

describe('a conversation’s messages', () => {
  it('go in the order they were numbered, whichever attempt comes first; an update waits for its post', async () => {
    const chat = slowChat(0);
    const d: Deps = deps(chat, 1);
    const to: Address = { platform: 'slack', kind: 'user', userId: 'UORDER' };
    const items: OutboxItem[] = [
      { key: 'launching', to, message: { text: 'Launching' } },
      { key: 'ready', to, replaces: 'launching', message: { text: 'is ready' } },
      { key: 'alert', to, message: { text: 'cpu is high' } },
    ];
    const queued: Queued[] = [];
    for (const item of items) queued.push({ ...item, seq: await d.order.assign(item) });
    expect(queued.map((q) => q.seq)).toEqual([1, 2, 3]);
    // The same message numbered again (a re-send) keeps its number.
    expect(await d.order.assign(items[0]!)).toBe(1);
    const [launching, ready, alert] = queued as [Queued, Queued, Queued];
    expect(await deliver(alert, d)).toMatchObject({ afterMs: expect.any(Number) });
    expect(await deliver(ready, d)).toMatchObject({ afterMs: expect.any(Number) });
    expect(chat.posts).toHaveLength(0);
    expect(await deliver(launching, d)).toEqual({ done: 'posted' });
    await new Promise((r) => setTimeout(r, 5));
    expect(await deliver(alert, d)).toMatchObject({ afterMs: expect.any(Number) });
    chat.update = async () => {};
    expect(await deliver(ready, d)).toEqual({ done: 'updated' });
    await new Promise((r) => setTimeout(r, 5));
    expect(await deliver(alert, d)).toEqual({ done: 'posted' });
  });

  it('an edit numbered before the message it edits (two producers raced) lets that message go first', async () => {
    const chat = slowChat(0);
    const updates: string[] = [];
    chat.update = async (_ref, msg) => void updates.push(msg.text);
    const d: Deps = deps(chat, 1);
    const to: Address = { platform: 'slack', kind: 'user', userId: 'URACE' };
    const first: OutboxItem = { key: 'race-first', to, message: { text: 'alarm' } };
    const repeat: OutboxItem = { key: 'race-repeat', to, replaces: first.key, message: { text: 'alarm x2' } };
    const r: Queued = { ...repeat, seq: await d.order.assign(repeat) };
    const f: Queued = { ...first, seq: await d.order.assign(first) };
    // The alert's own step says its first message is on its way, as deliverAlarm's does.
    await d.store.redis.set(announcedKey(d.store, first.key), '1', 'PX', 60_000);
    expect(await deliver(r, d)).toEqual({ laterMs: 1 });
    expect(await deliver(f, d)).toEqual({ done: 'posted' });
    await new Promise((res) => setTimeout(res, 3));
    expect(await deliver(r, d)).toEqual({ done: 'updated' });
    expect(chat.posts).toHaveLength(1);
    expect(updates).toEqual(['alarm x2']);
  });

  it('an update overtaken by a newer one queued behind it gives way: only the newest is shown', async () => {
    const chat = slowChat(0);
    const updates: string[] = [];
    chat.update = async (_ref, msg) => void updates.push(msg.text);
    const d: Deps = deps(chat, 1);
    const to: Address = { platform: 'slack', kind: 'user', userId: 'UFLAP' };
    const first: OutboxItem = { key: 'flap-1', to, version: 1, message: { text: 'alarm' } };
    const repeats = [2, 3, 4].map((v): OutboxItem => ({ key: `flap-${v}`, to, replaces: 'flap-1', version: v, message: { text: `alarm x${v}` } }));
    const queued: Queued[] = [];
    for (const item of [first, ...repeats]) queued.push({ ...item, seq: await d.order.assign(item) });
    const outcomes: Outcome[] = [];
    for (const q of queued) {
      outcomes.push(await deliver(q, d));
      await new Promise((r) => setTimeout(r, 3));
    }
    expect(outcomes).toEqual([{ done: 'posted' }, { done: 'superseded' }, { done: 'superseded' }, { done: 'updated' }]);
    expect(updates).toEqual(['alarm x4']);
  });

  it('a message never queued (its producer died) or failed for good is passed over once stale; a queued one is waited for', async () => {
    const chat = slowChat(0);
    const d: Deps = deps(chat, 1);
    const queues = opened.at(-1)!.queues;
    const to: Address = { platform: 'slack', kind: 'user', userId: 'USTALE' };
    const lost: OutboxItem = { key: 'lost', to, message: { text: 'numbered, never queued' } };
    const queued: OutboxItem = { key: 'queued', to, message: { text: 'queued, not yet run' } };
    const last: OutboxItem = { key: 'last', to, message: { text: 'after both' } };
    const [lostSeq, queuedSeq, lastSeq] = [await d.order.assign(lost), await d.order.assign(queued), await d.order.assign(last)];
    await queues.deliver.add('deliver', { ...queued, seq: queuedSeq }, { jobId: jobIdFor('msg', queued.key), delay: 60_000 });
    const place = { order: d.order.key(to), seq: lastSeq };
    // Fresh, the lost one is given time: its producer may be about to queue it.
    const head = (await d.order.turn(place))!;
    expect(head).toMatchObject({ seq: lostSeq, jobId: jobIdFor('msg', lost.key) });
    expect(await d.order.passOverStale(place, head)).toBe(false);
    // Long after (as a later look sees it), it is passed over; the queued one after it is not.
    expect(await d.order.passOverStale(place, { ...head, headForMs: 60_000, ageMs: 3600_000 })).toBe(true);
    const next = (await d.order.turn(place))!;
    expect(next).toMatchObject({ seq: queuedSeq });
    expect(await d.order.passOverStale(place, { ...next, headForMs: 60_000, ageMs: 3600_000 })).toBe(false);
    expect(await deliver({ ...last, seq: lastSeq }, d)).toMatchObject({ afterMs: expect.any(Number) });
    expect(await deliver({ ...queued, seq: queuedSeq }, d)).toEqual({ done: 'posted' });
    await new Promise((r) => setTimeout(r, 3));
    expect(await deliver({ ...last, seq: lastSeq }, d)).toEqual({ done: 'posted' });
    expect(chat.posts).toHaveLength(2);
  });

  it('a reply to a command is a conversation of its own: it waits for no DM', async () => {
    const chat = slowChat(0);
    const d: Deps = deps(chat, 1);
    const dm: OutboxItem = { key: 'dm-first', to: { platform: 'slack', kind: 'user', userId: 'UREPLY' }, message: { text: 'dm' } };
    const reply: OutboxItem = { key: 'reply-1', to: { platform: 'slack', kind: 'reply', ref: '{"url":"https://hooks.slack.com/x"}' }, message: { text: 'ok' } };
    await d.order.assign(dm);
    expect(await deliver({ ...reply, seq: await d.order.assign(reply) }, d)).toEqual({ done: 'posted' });
    expect(await d.store.redis.exists(d.store.key('outbox', 'sent', jobIdFor('msg', reply.key)))).toBe(1);
  });
});
