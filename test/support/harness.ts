// Starts a whole scicomp (web + workers) on loopback against real Redis, a recording Slack API and a given catalog,
// built by the composition root (compose.ts) as every process is, with the test's parts swapped in.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Scicomp } from '../../src/app.js';
import { createApp, type Overrides } from '../../src/compose.js';
import { loadConfig } from '../../src/config.js';
import type { Policy } from '../../src/core/policy.js';
import { createLogger } from '../../src/log.js';
import type { CatalogPort, Clock, SecretName, SecretsPort } from '../../src/core/ports.js';
import { REDIS_URL } from './redis.js';
import { SlackApi } from './slack-api.js';

export { REDIS_URL };
import { buttonClick, interactionBody, sign, slashCommandBody } from './signed.js';

export const SIGNING_SECRET = 'test-signing-secret-8f14e45fceea167a5a36dedd4bea2543';
/** The data key every harness shares, as replicas share theirs: one started on another's prefix opens what it sealed. */
export const DATA_KEY = 'dGVzdC1kYXRhLWtleS0zMi1ieXRlcy1sb25nLi4uLi4=';
/**
 * Slack's pace in tests: one message per conversation per 20 ms, so a test waits for outcomes, not for Slack's second.
 * The one test that proves the real pace asks for SLACK_CHANNEL_INTERVAL_MS=1000.
 */
export const TEST_INTERVAL_MS = '20';

export function staticSecrets(values: Partial<Record<SecretName, string>>): SecretsPort {
  return { get: async (n) => values[n], invalidate: () => {} };
}

export interface HarnessOptions {
  catalog: CatalogPort;
  env?: Record<string, string>;
  policy?: Policy;
  clock?: Clock;
  workers?: boolean;
  slack?: SlackApi;
  prefix?: string;
  extra?: Partial<Overrides>;
}

export class Harness {
  private responses = 0;
  private constructor(
    readonly app: Scicomp,
    readonly slack: SlackApi,
    readonly url: string,
    private readonly ownsSlack: boolean,
  ) {}

  static async start(o: HarnessOptions): Promise<Harness> {
    const slack = o.slack ?? (await new SlackApi().start());
    const config = loadConfig({
      REDIS_URL,
      SCICOMP_PREFIX: o.prefix ?? `t${randomBytes(5).toString('hex')}`,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_BOT_TOKEN: 'xoxb-test-token',
      SLACK_API_URL: slack.apiUrl,
      SCICOMP_DATA_KEY: DATA_KEY,
      SCICOMP_AWS: 'sandbox',
      WATCH_MIN_POLL_MS: '50',
      WATCH_MAX_POLL_MS: '200',
      SLACK_CHANNEL_INTERVAL_MS: TEST_INTERVAL_MS,
      LOG_LEVEL: 'silent',
      // The admin feeds' digest posts at most once per interval: short here, so tests see each post soon.
      FEED_INTERVAL_MS: '100',
      ...o.env,
    });
    // Secrets, the policy (manifests/catalog.yaml) and the rest of the sandbox come from the config, as in a process.
    const app = await createApp(config, {
      catalog: o.catalog,
      policy: o.policy,
      clock: o.clock,
      log: createLogger((process.env.TEST_LOG_LEVEL ?? 'silent') as 'silent'),
      ...o.extra,
    });
    const server = await app.startWeb(0);
    if (o.workers !== false) app.startWorkers();
    return new Harness(app, slack, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, !o.slack);
  }

  async post(path: string, body: string, headers: Record<string, string>): Promise<Response> {
    return fetch(`${this.url}${path}`, { method: 'POST', body, headers });
  }

  /** A signed `/scicomp <text>` from a user; returns the HTTP response and the response URL id its answers go to. */
  async command(userId: string, text: string, triggerId?: string, from: { teamId?: string; appId?: string } = {}): Promise<{ res: Response; responseId: string }> {
    const responseId = `cmd${++this.responses}`;
    const body = slashCommandBody({ userId, text, responseUrl: this.slack.responseUrl(responseId), triggerId, ...from });
    const res = await this.post('/slack/events', body, sign(SIGNING_SECRET, body));
    return { res, responseId };
  }

  async click(userId: string, actionId: string, value: string): Promise<{ res: Response; responseId: string }> {
    const responseId = `click${++this.responses}`;
    const body = interactionBody(buttonClick({ userId, actionId: `scicomp:${actionId}`, value, responseUrl: this.slack.responseUrl(responseId) }));
    const res = await this.post('/slack/events', body, sign(SIGNING_SECRET, body));
    return { res, responseId };
  }

  async interaction(payload: unknown): Promise<Response> {
    const body = interactionBody(payload);
    return this.post('/slack/events', body, sign(SIGNING_SECRET, body));
  }

  /** Replies posted to one response URL, as text (blocks included). */
  replies(responseId: string): string[] {
    return this.slack.replies(responseId);
  }

  /** Messages posted into a user's DM. */
  dms(userId: string): string[] {
    return this.slack.dms(userId);
  }

  async close(): Promise<void> {
    await this.app.close();
    await this.app.store.redis.quit().catch(() => {});
    if (this.ownsSlack) await this.slack.close();
  }
}

/** Polls until `check` returns a truthy value or the deadline passes: waiting on an outcome, not a fixed sleep. */
export async function eventually<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/** Deletes every key under a test's prefix. */
export async function dropPrefix(app: Scicomp): Promise<void> {
  const redis = app.store.redis;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${app.config.SCICOMP_PREFIX}:*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/** Ends the harness a test started, if it did: its keys deleted, then closed (for an `afterEach`). */
export async function stopHarness(h: Harness | undefined): Promise<void> {
  if (!h) return;
  await dropPrefix(h.app);
  await h.close();
}

/** Ends replicas started on one prefix (a test's `harnesses`, emptied): their keys deleted once, then each closed. */
export async function stopReplicas(harnesses: Harness[]): Promise<void> {
  const started = harnesses.splice(0);
  if (started[0]) await dropPrefix(started[0].app);
  for (const h of started) await h.close();
}
