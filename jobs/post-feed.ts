// The admin feeds: each event to the Slack and the Teams incoming webhook, retried apart from user alerts. A webhook that
// refuses a post as if its URL was rotated makes the next attempt re-read the URL from Secrets Manager.
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { FeedEvent } from '../src/core/context.js';
import { escapeMrkdwn } from '../src/adapters/slack/render.js';
import { UpstreamError } from '../src/core/errors.js';
import type { SecretsPort } from '../src/core/ports.js';
import { QUEUE } from './queues.js';

export const name = QUEUE.feed;
export interface Payload {
  target: 'slack' | 'teams';
  event: FeedEvent;
}

export interface Deps {
  secrets: SecretsPort;
  fetch?: typeof fetch;
  log: Logger;
}

const ICON: Record<FeedEvent['type'], string> = {
  launched: ':rocket:', terminated: ':wastebasket:', 'termination-failed': ':x:', updated: ':arrows_counterclockwise:',
  alarm: ':rotating_light:', budget: ':money_with_wings:', 'policy-changed': ':scroll:', failed: ':x:',
};

export function feedBody(target: Payload['target'], e: FeedEvent): unknown {
  const text = `[${e.type}] ${e.summary}`;
  // Summaries carry product and people's names: on Slack they must not become mentions or links.
  if (target === 'slack') return { text: `${ICON[e.type]} ${escapeMrkdwn(text)}` };
  return {
    type: 'message',
    attachments: [
      { contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', version: '1.4', body: [{ type: 'TextBlock', text, wrap: true }] } },
    ],
  };
}

export async function process(job: Job<Payload>, deps: Deps): Promise<string> {
  const { target, event } = job.data;
  const url = await deps.secrets.get(target === 'slack' ? 'slackFeedWebhookUrl' : 'teamsFeedWebhookUrl');
  if (!url) return 'not configured';
  let res: Response;
  try {
    res = await (deps.fetch ?? fetch)(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(feedBody(target, event)), signal: AbortSignal.timeout(10_000) });
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
