// Replies go to Slack's response URLs only: never to another origin, never along a redirect.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { responseUrlAllowed, SlackChat } from '../../../src/adapters/slack/chat.js';
import { Store } from '../../../src/adapters/redis/store.js';
import { UpstreamError } from '../../../src/core/errors.js';
import { staticSecrets } from '../../support/harness.js';
import { SlackApi } from '../../support/slack-api.js';
import { REDIS_URL } from '../../support/redis.js';

let slack: SlackApi;
let elsewhere: SlackApi;
let redis: Redis;
let chat: SlackChat;

beforeAll(async () => {
  slack = await new SlackApi().start();
  elsewhere = await new SlackApi().start();
  redis = new Redis(REDIS_URL);
  const store = new Store(redis, `t${randomBytes(5).toString('hex')}`);
  chat = new SlackChat({ secrets: staticSecrets({ slackBotToken: 'xoxb-test-token' }), store, apiUrl: slack.apiUrl });
});

afterAll(async () => {
  await chat.close();
  redis.disconnect();
  await slack.close();
  await elsewhere.close();
});

const replyTo = (url: string) => ({ platform: 'slack' as const, kind: 'reply' as const, ref: JSON.stringify({ url }) });

describe('response URL posts', () => {
  it('refuses a response URL that answers with a redirect, and does not follow it', async () => {
    slack.failNext('response_url', { status: 302, location: elsewhere.responseUrl('stolen') });
    const err = await chat.post(replyTo(slack.responseUrl('r1')), { text: 'your product is ready' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).retryable).toBe(false);
    expect((err as Error).message).toContain('redirect');
    expect(elsewhere.calls).toEqual([]);
    // The recorder took the refused call; a normal one still works.
    await chat.post(replyTo(slack.responseUrl('r2')), { text: 'hello' });
    expect(slack.of('response_url').map((c) => c.body.responseId)).toEqual(['r2']);
  });

  it('refuses a response URL outside hooks.slack.com and the configured Slack API origin, without calling it', async () => {
    const err = await chat.post(replyTo(elsewhere.responseUrl('r3')), { text: 'hello' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).retryable).toBe(false);
    expect(elsewhere.calls).toEqual([]);
  });

  it('allows only https://hooks.slack.com, or the Slack API origin when one is configured', () => {
    expect(responseUrlAllowed('https://hooks.slack.com/commands/T1/2/abc')).toBe(true);
    expect(responseUrlAllowed('https://hooks.slack.com:443/actions/T1/2/abc')).toBe(true);
    for (const url of ['http://hooks.slack.com/commands/T1', 'https://hooks.slack.com.evil.example/x', 'https://hooks.slack.com@evil.example/x', 'https://user@hooks.slack.com/x', 'https://evil.example/hooks.slack.com/', 'not a url']) {
      expect(responseUrlAllowed(url), url).toBe(false);
    }
    expect(responseUrlAllowed('http://127.0.0.1:9999/response/x', 'http://127.0.0.1:9999/api/')).toBe(true);
    expect(responseUrlAllowed('http://127.0.0.1:9998/response/x', 'http://127.0.0.1:9999/api/')).toBe(false);
  });
});
