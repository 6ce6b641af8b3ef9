// The admin feeds under a burst, on real Redis with two replicas: events gathered into a few posts per webhook, at most
// one per interval, each event in exactly one post, a replayed event not listed twice, a failed post retried whole.
import { afterEach, describe, expect, it } from 'vitest';
import type { FeedEvent } from '../../src/core/context.js';
import type { SecretName } from '../../src/core/ports.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { eventually, Harness, SIGNING_SECRET, stopReplicas } from '../support/harness.js';

const SLACK_FEED = 'https://hooks.slack.example/services/T0/B0/feed';
const TEAMS_FEED = 'https://teams.example/webhook/feed';
const INTERVAL_MS = 400;

interface Post {
  url: string;
  body: string;
  at: number;
}

let harnesses: Harness[] = [];

afterEach(async () => {
  await stopReplicas(harnesses);
});

const secrets = {
  get: async (n: SecretName) => ({ slackSigningSecret: SIGNING_SECRET, slackBotToken: 'xoxb-test-token', slackFeedWebhookUrl: SLACK_FEED, teamsFeedWebhookUrl: TEAMS_FEED })[n as string],
  invalidate: () => {},
};

/** A webhook that records each post; `refuse` answers the next that many posts with a 500. */
function webhook() {
  const posts: Post[] = [];
  let refuse = 0;
  const fetch = (async (url: string | URL | Request, init?: RequestInit) => {
    if (refuse > 0) {
      refuse--;
      return new Response('', { status: 500 });
    }
    posts.push({ url: String(url), body: String(init?.body), at: Date.now() });
    return new Response('ok', { status: 200 });
  }) as typeof globalThis.fetch;
  return { posts, fetch, refuseNext: (n: number) => (refuse = n) };
}

/** Two replicas on one Redis prefix, as in production. */
async function replicas(fetch: typeof globalThis.fetch, intervalMs = INTERVAL_MS): Promise<Harness[]> {
  const first = await Harness.start({ catalog: new SandboxCatalog(), env: { FEED_INTERVAL_MS: String(intervalMs) }, extra: { secrets, fetch } });
  const second = await Harness.start({ catalog: new SandboxCatalog(), prefix: first.app.config.SCICOMP_PREFIX, slack: first.slack, env: { FEED_INTERVAL_MS: String(intervalMs) }, extra: { secrets, fetch } });
  harnesses = [first, second];
  return harnesses;
}

const event = (i: number): FeedEvent => ({ type: 'alarm', summary: `user${i}@synapse.org: box-${i}: CPU is above its threshold (event-${i}.)`, key: `sns:burst-${i}` });

/** Every event mention in the posts to one webhook, by its number. */
function listed(posts: Post[], url: string): number[] {
  return posts.filter((p) => p.url === url).flatMap((p) => [...p.body.matchAll(/event-(\d+)\./g)].map((m) => Number(m[1])));
}

describe('admin feed digest', () => {
  it('a burst of 500 events from two replicas is a few posts per webhook, each event exactly once', async () => {
    const hook = webhook();
    const [a, b] = await replicas(hook.fetch);
    const N = 500;
    // Both replicas publish at once, and half the events twice (a replayed alarm), the second time on the other replica.
    await Promise.all(Array.from({ length: N }, (_, i) => (i % 2 ? a! : b!).app.deps.feed.publish(event(i))));
    await Promise.all(Array.from({ length: N / 2 }, (_, i) => (i % 2 ? b! : a!).app.deps.feed.publish(event(i * 2))));
    for (const url of [SLACK_FEED, TEAMS_FEED]) {
      await eventually(() => listed(hook.posts, url).length >= N, `all events posted to ${url}`, 20_000);
    }
    // Nothing more comes: wait out one more interval and look again.
    const settled = hook.posts.length;
    await eventually(async () => (await a!.app.queues.feed.getJobCounts('waiting', 'active', 'delayed')).delayed === 0, 'no flush pending');
    expect(hook.posts.length).toBe(settled);
    for (const url of [SLACK_FEED, TEAMS_FEED]) {
      const mine = hook.posts.filter((p) => p.url === url);
      expect(listed(hook.posts, url).sort((x, y) => x - y)).toEqual(Array.from({ length: N }, (_, i) => i));
      // 100 events a post at most: five or six posts, not 500.
      expect(mine.length).toBeGreaterThanOrEqual(5);
      expect(mine.length).toBeLessThanOrEqual(7);
      // At most one post per interval per webhook, across both replicas.
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.at - mine[i - 1]!.at).toBeGreaterThanOrEqual(INTERVAL_MS - 20);
    }
    const slack = JSON.parse(hook.posts.find((p) => p.url === SLACK_FEED)!.body) as { text: string };
    expect(slack.text).toMatch(/^\*\d+ events\*\n:rotating_light: \[alarm\] user\d+@synapse\.org/);
    const teams = JSON.parse(hook.posts.find((p) => p.url === TEAMS_FEED)!.body) as { attachments: { content: { type: string; body: { text: string }[] } }[] };
    expect(teams.attachments[0]!.content.type).toBe('AdaptiveCard');
    expect(teams.attachments[0]!.content.body[1]!.text).toMatch(/^\[alarm\] user\d+@synapse\.org/);
  });

  it('a lone event is posted at once, in the one-event form; the next one waits out the interval', async () => {
    const hook = webhook();
    // An interval long enough that "at once" means at once on a busy machine too.
    const interval = 1500;
    const [a, b] = await replicas(hook.fetch, interval);
    const sent = Date.now();
    await a!.app.deps.feed.publish({ type: 'launched', summary: 'jdoe@synapse.org launched jdoe-box (EC2 Linux)', key: 'launch:1' });
    const post = await eventually(() => hook.posts.find((p) => p.url === SLACK_FEED), 'the post');
    expect(JSON.parse(post.body)).toEqual({ text: ':rocket: [launched] jdoe@synapse.org launched jdoe-box (EC2 Linux)' });
    expect(post.at - sent).toBeLessThan(interval);
    // Right after that post, another event, on the other replica: it is posted one interval after the first.
    await b!.app.deps.feed.publish({ type: 'terminated', summary: 'jdoe@synapse.org terminated jdoe-box', key: 'terminate:1' });
    const next = await eventually(() => hook.posts.filter((p) => p.url === SLACK_FEED)[1], 'the second post');
    expect(JSON.parse(next.body)).toEqual({ text: ':wastebasket: [terminated] jdoe@synapse.org terminated jdoe-box' });
    expect(next.at - post.at).toBeGreaterThanOrEqual(interval - 20);
  });

  it('a post the webhook fails is retried with the same events: none lost, none doubled', async () => {
    const hook = webhook();
    const [a] = await replicas(hook.fetch);
    hook.refuseNext(1);
    await Promise.all(Array.from({ length: 30 }, (_, i) => a!.app.deps.feed.publish(event(i))));
    await eventually(() => listed(hook.posts, SLACK_FEED).length >= 30 && listed(hook.posts, TEAMS_FEED).length >= 30, 'all posted after the retry', 20_000);
    for (const url of [SLACK_FEED, TEAMS_FEED]) expect(listed(hook.posts, url).sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });
});
