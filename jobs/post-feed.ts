// The admin feeds: events to the Slack and the Teams incoming webhook, retried apart from user alerts, gathered into one
// post per interval (see feed-digest) so a burst of alarms is a few posts, not a 429 tail. A webhook that refuses a
// post as if its URL was rotated makes the next attempt re-read the URL from Secrets Manager.
import { DelayedError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { FeedEvent } from '../src/core/context.js';
import { escapeMrkdwn } from '../src/adapters/slack/render.js';
import { UpstreamError } from '../src/core/errors.js';
import type { SecretsPort } from '../src/core/ports.js';
import { DIGEST_MAX_CHARS, type FeedDigest } from './feed-digest.js';
import { QUEUE } from './queues.js';

export const name = QUEUE.feed;
/** A digest flush; `event` is the one-event job queued before digests, still posted alone during a rollout. */
export type Payload = { target: 'slack' | 'teams'; gen: string } | { target: 'slack' | 'teams'; event: FeedEvent };

export interface Deps {
  secrets: SecretsPort;
  fetch?: typeof fetch;
  digest: FeedDigest;
  log: Logger;
}

const ICON: Record<FeedEvent['type'], string> = {
  launched: ':rocket:', terminated: ':wastebasket:', 'termination-failed': ':x:', updated: ':arrows_counterclockwise:',
  alarm: ':rotating_light:', budget: ':money_with_wings:', 'policy-changed': ':scroll:', failed: ':x:',
};

function line(e: FeedEvent): string {
  return `[${e.type}] ${e.summary}`;
}

export function feedBody(target: Payload['target'], events: FeedEvent[]): unknown {
  if (target === 'slack') {
    // Summaries carry product and people's names: on Slack they must not become mentions or links.
    const lines = events.map((e) => `${ICON[e.type]} ${escapeMrkdwn(line(e))}`);
    return { text: events.length === 1 ? lines[0] : [`*${events.length} events*`, ...lines].join('\n') };
  }
  const body = [
    ...(events.length === 1 ? [] : [{ type: 'TextBlock', text: `${events.length} events`, weight: 'Bolder', wrap: true }]),
    ...events.map((e) => ({ type: 'TextBlock', text: line(e), wrap: true, spacing: 'None' })),
  ];
  return {
    type: 'message',
    attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', version: '1.4', body } }],
  };
}

/** As many of the events, in order, as fit one post (at least one). */
export function fitting(events: FeedEvent[]): FeedEvent[] {
  let chars = 0;
  let n = 0;
  while (n < events.length && (n === 0 || chars + line(events[n]!).length <= DIGEST_MAX_CHARS)) chars += line(events[n++]!).length;
  return events.slice(0, n);
}

async function post(target: Payload['target'], events: FeedEvent[], deps: Deps): Promise<'posted' | 'not configured'> {
  const url = await deps.secrets.get(target === 'slack' ? 'slackFeedWebhookUrl' : 'teamsFeedWebhookUrl');
  if (!url) return 'not configured';
  let res: Response;
  try {
    res = await (deps.fetch ?? fetch)(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(feedBody(target, events)), signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new UpstreamError(`${target} feed unreachable`, true, undefined, { cause: err });
  }
  if (res.ok) return 'posted';
  if ([401, 403, 404, 410].includes(res.status)) {
    deps.secrets.invalidate();
    deps.log.warn({ target, status: res.status }, 'feed webhook refused the post; re-reading its URL before the next attempt');
  }
  // The URL itself is a secret: only the status is said.
  throw new UpstreamError(`${target} feed answered ${res.status}`, true);
}

async function later(job: Job, token: string | undefined, ms: number): Promise<never> {
  await job.moveToDelayed(Date.now() + Math.max(ms, 1), token);
  throw new DelayedError();
}

/**
 * One flush of a feed's digest: waits out the interval since the last post, posts what has gathered (as much as fits),
 * and goes on while more waits. Events leave the digest only once posted: a crash between the two posts them again.
 */
export async function process(job: Job<Payload>, deps: Deps, token?: string): Promise<string> {
  const data = job.data;
  if ('event' in data) return post(data.target, [data.event], deps);
  const { target, gen } = data;
  const taken = await deps.digest.take(target, gen);
  if ('stale' in taken) return 'superseded';
  if ('waitMs' in taken) return later(job, token, taken.waitMs);
  const batch = fitting(taken.events);
  if (batch.length) {
    try {
      if ((await post(target, batch, deps)) === 'not configured') deps.log.warn({ target, events: batch.length }, 'feed webhook no longer configured; its waiting events are dropped');
    } catch (err) {
      // Out of attempts: the events stay, and the next event starts a flush that posts them.
      if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) await deps.digest.release(target, gen);
      throw err;
    }
  }
  if (await deps.digest.posted(target, gen, batch.length)) return later(job, token, deps.digest.intervalMs);
  return `posted ${batch.length}`;
}
