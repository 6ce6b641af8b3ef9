// Nothing is lost: a watcher outlives its worker, and Slack's 429s delay messages without dropping or doubling them.
import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamError } from '../src/core/errors.js';
import type { TopicsPort } from '../src/core/ports.js';
import { SandboxCatalog } from '../src/sandbox/catalog.js';
import { eventually, Harness, stopHarness } from './support/harness.js';

let h: Harness | undefined;

afterEach(async () => {
  await stopHarness(h);
  h = undefined;
});

describe('watch-provision', () => {
  it('resumes after the worker is closed mid-poll', async () => {
    const sandbox = new SandboxCatalog({ provisionMs: 1500 });
    h = await Harness.start({ catalog: sandbox });
    const { responseId } = await h.command('UCAROL', 'launch "EC2 Linux" resumable');
    await eventually(() => h!.replies(responseId).length > 0, 'launch reply');
    // The watcher has polled once (progress in the DM) and is waiting for its next poll.
    await eventually(() => h!.dms('UCAROL').find((m) => m.includes('Launching ucarol-resumable (EC2 Linux)')), 'progress DM');
    await h.app.stopWorkers();
    const watch = (await h.app.queues.watch.getJobs(['delayed', 'waiting']))[0];
    expect(watch?.data.name).toBe('ucarol-resumable');
    expect(h.dms('UCAROL').some((m) => m.includes('is ready'))).toBe(false);
    h.app.startWorkers();
    await eventually(() => h!.dms('UCAROL').some((m) => m.includes('ucarol-resumable is ready')), 'ready after restart');
    expect(h.dms('UCAROL').filter((m) => m.includes('ucarol-resumable is ready'))).toHaveLength(1);
    // The "in progress" message was updated in place, not followed by a second post.
    const updates = h.slack.of('chat.update').filter((c) => JSON.stringify(c.body).includes('ucarol-resumable is ready'));
    expect(updates).toHaveLength(1);
  });
});

describe('watch-provision, told first', () => {
  it('shows progress in one message edited in place, and tells the owner even when alert wiring keeps failing', async () => {
    const sandbox = new SandboxCatalog({ provisionMs: 800 });
    // SNS refuses every call (a missing IAM permission, say): the owner must still hear how the launch went.
    const refusing = new Proxy({} as TopicsPort, {
      get: () => async () => {
        throw new UpstreamError('SNS: AccessDenied', true);
      },
    });
    h = await Harness.start({ catalog: sandbox, extra: { topics: refusing } });
    await h.command('UFRAN', 'launch "EC2 Linux" unwired');
    await eventually(() => h!.dms('UFRAN').some((m) => m.includes('ufran-unwired is ready')), 'ready despite the failing hook', 15_000);
    expect(h.dms('UFRAN').some((m) => m.includes('ufran-unwired') && m.includes('in progress'))).toBe(true);
    // One message for the whole launch: progress posted once, then edited in place to the outcome.
    expect(h.slack.of('chat.postMessage').filter((c) => c.body.channel === 'DUFRAN')).toHaveLength(1);
    expect(h.dms('UFRAN').filter((m) => m.includes('ufran-unwired is ready'))).toHaveLength(1);
  });
});

describe('GET /healthz', () => {
  it('answers 200 while Redis answers, and 503 (not a hang) when it does not', async () => {
    h = await Harness.start({ catalog: new SandboxCatalog(), workers: false });
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    // Nothing listens on port 1: the app's Redis is gone.
    const away = await Harness.start({ catalog: new SandboxCatalog(), workers: false, env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    try {
      const res = await fetch(`${away.url}/healthz`, { signal: AbortSignal.timeout(5000) });
      expect(res.status).toBe(503);
    } finally {
      away.app.close().catch(() => {});
    }
  });
});

describe('deliver-message', () => {
  it('a 429 from Slack delays the message by Retry-After and loses nothing', async () => {
    const sandbox = new SandboxCatalog({ provisionMs: 50 });
    // The one test at Slack's real pace (every other harness paces at TEST_INTERVAL_MS): one message a second.
    h = await Harness.start({ catalog: sandbox, env: { SLACK_CHANNEL_INTERVAL_MS: '1000' } });
    // Longer than the queue's own first backoff (1 s), so only honouring Retry-After explains the wait.
    h.slack.failNext('chat.postMessage', { status: 429, retryAfter: 3 }, 2);
    const sentAt = Date.now();
    await h.app.queues.outbox.send({ key: 'test:429:a', to: { platform: 'slack', kind: 'user', userId: 'UDAVE' }, message: { text: 'first' } });
    await h.app.queues.outbox.send({ key: 'test:429:b', to: { platform: 'slack', kind: 'user', userId: 'UDAVE' }, message: { text: 'second' } });
    const posts = await eventually(() => {
      const p = h!.slack.of('chat.postMessage').filter((c) => c.body.channel === 'DUDAVE');
      return p.length === 2 ? p : undefined;
    }, 'both messages delivered', 15_000);
    expect(posts.map((p) => p.body.text).sort()).toEqual(['first', 'second']);
    // Retry-After was honoured: the first success came no sooner than three seconds after the 429.
    expect(posts[0]!.at - sentAt).toBeGreaterThanOrEqual(2950);
    // and the channel never saw two messages within a second.
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('never posts the same message twice', async () => {
    const sandbox = new SandboxCatalog({ provisionMs: 50 });
    h = await Harness.start({ catalog: sandbox });
    const item = { key: 'test:dup', to: { platform: 'slack' as const, kind: 'user' as const, userId: 'UERIN' }, message: { text: 'once' } };
    await h.app.queues.outbox.send(item);
    await h.app.queues.outbox.send(item);
    await eventually(() => h!.slack.of('chat.postMessage').some((c) => c.body.text === 'once'), 'delivered');
    // A later re-send of the same key (after completion) is also a no-op: a message queued behind it arrives alone.
    await h.app.queues.outbox.send(item);
    await h.app.queues.outbox.send({ ...item, key: 'test:dup:after', message: { text: 'after' } });
    await eventually(() => h!.slack.of('chat.postMessage').some((c) => c.body.text === 'after'), 'the message after');
    expect(h!.slack.of('chat.postMessage').filter((c) => c.body.text === 'once')).toHaveLength(1);
  });

  it('retries a 5xx', async () => {
    const sandbox = new SandboxCatalog({ provisionMs: 50 });
    h = await Harness.start({ catalog: sandbox });
    h.slack.failNext('chat.postMessage', { status: 503, error: 'service_unavailable' });
    await h.app.queues.outbox.send({ key: 'test:5xx', to: { platform: 'slack', kind: 'channel', channel: 'CFEED' }, message: { text: 'after 503' } });
    await eventually(() => h!.slack.of('chat.postMessage').some((c) => c.body.text === 'after 503'), 'delivered after 503', 15_000);
  });
});
