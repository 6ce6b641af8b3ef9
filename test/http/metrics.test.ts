// GET /metrics through the real server: refused without its token, and after a launch and an alert it shows the
// queues, job durations, Slack calls (429s apart), pending approvals, alert latency and process metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually, Harness } from '../support/harness.js';
import { alarmMessage, notification, sign, verifierForTests } from '../support/sns.js';

const TOKEN = 'metrics-token-5a1f0c2e9b7d4e3a';
const ALICE = 'UMALICE';
const TOPIC = 'arn:aws:sns:us-east-1:111122223333:scicomp-user-umalice-synapse-org';

let h: Harness;
const sandbox = new SandboxCatalog({ provisionMs: 100 });

beforeAll(async () => {
  h = await Harness.start({
    catalog: sandbox,
    env: { METRICS_TOKEN: TOKEN, SCICOMP_PUBLIC_URL: 'https://scicomp.example.org' },
    extra: { snsVerifier: verifierForTests() },
  });
});

afterAll(async () => {
  await dropPrefix(h.app);
  await h.close();
});

async function scrape(): Promise<string> {
  const res = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** The value of one sample, by metric name and labels (in any order); undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('GET /metrics', () => {
  it('is refused without the bearer token, or with a wrong one', async () => {
    const tries: Record<string, string>[] = [{}, { authorization: 'Bearer not-the-token' }, { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` }, { authorization: TOKEN }];
    for (const headers of tries) {
      const res = await fetch(`${h.url}/metrics`, { headers });
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain('scicomp_');
    }
  });

  it('after a launch: job durations, queue counts, Slack calls by method, pending approvals and process metrics', async () => {
    h.slack.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    const { responseId } = await h.command(ALICE, 'launch "EC2 Linux" box');
    await eventually(() => h.replies(responseId).length > 0, 'launch reply');
    await eventually(() => h.dms(ALICE).some((m) => m.includes('umalice-box is ready')), 'ready DM', 15_000);
    // A launch the policy sends to IT: one request pending.
    await h.command(ALICE, 'launch "EC2 Linux" big InstanceType=m5.xlarge');
    await eventually(async () => (await h.app.deps.approvals.pending(0)).total === 1, 'request pending');

    // The second command's job ends after it filed the request; its answer is posted by the outbox after that.
    const text = await eventually(async () => {
      const t = await scrape();
      const done = (sample(t, 'scicomp_job_duration_seconds_count', { queue: 'run-command', outcome: 'completed' }) ?? 0) >= 2;
      const answered = (sample(t, 'scicomp_chat_api_calls_total', { platform: 'slack', method: 'response_url', outcome: 'ok' }) ?? 0) >= 2;
      return done && answered ? t : undefined;
    }, 'both commands done and answered');
    expect(sample(text, 'scicomp_job_duration_seconds_count', { queue: 'watch-provision' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'scicomp_queue_jobs', { queue: 'run-command', state: 'waiting' })).toBe(0);
    for (const state of ['waiting', 'active', 'delayed', 'failed']) expect(sample(text, 'scicomp_queue_jobs', { queue: 'deliver-message', state })).toBeTypeOf('number');
    expect(sample(text, 'scicomp_chat_api_calls_total', { platform: 'slack', method: 'chat.postMessage', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'scicomp_chat_api_calls_total', { platform: 'slack', method: 'chat.postMessage', outcome: 'rate_limited' })).toBe(1);
    expect(sample(text, 'scicomp_chat_api_calls_total', { platform: 'slack', method: 'users.info', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'scicomp_chat_api_calls_total', { platform: 'slack', method: 'response_url', outcome: 'ok' })).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'scicomp_approvals_pending')).toBe(1);
    expect(sample(text, 'scicomp_approval_oldest_pending_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sample(text, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    // No token or webhook ever appears in the metrics.
    expect(text).not.toContain('xoxb-');
  });

  it('after an alert: its latency from POST /sns to the DM', async () => {
    const before = sample(await scrape(), 'scicomp_alert_latency_seconds_count') ?? 0;
    const pp = (await sandbox.searchProvisioned()).find((p) => p.name === 'umalice-box')!.id;
    await eventually(() => h.app.deps.alertState.isKnownTopic(TOPIC), 'the user’s topic known');
    const res = await fetch(`${h.url}/sns`, { method: 'POST', body: JSON.stringify(sign(notification(TOPIC, alarmMessage({ alarmName: `scicomp-${pp}-cpu-high`, state: 'ALARM' })))) });
    expect(res.status, await res.clone().text()).toBe(200);
    await eventually(() => h.dms(ALICE).some((m) => m.includes('CPU is above its threshold')), 'alarm DM');
    const text = await eventually(async () => {
      const t = await scrape();
      return (sample(t, 'scicomp_alert_latency_seconds_count') ?? 0) > before ? t : undefined;
    }, 'alert latency observed');
    expect(sample(text, 'scicomp_alert_latency_seconds_count')).toBe(before + 1);
    // Delivered at once: well within the first buckets, not minutes.
    expect(sample(text, 'scicomp_alert_latency_seconds_bucket', { le: '10' })).toBe(before + 1);
    expect(sample(text, 'scicomp_job_duration_seconds_count', { queue: 'process-sns' })).toBeGreaterThanOrEqual(1);
  });
});
