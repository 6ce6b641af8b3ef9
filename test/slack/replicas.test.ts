// Two web and worker processes on one Redis behave as one: a race of two approvers is decided once; expiry; policy reload.
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { pendingKey, RedisApprovals, requestKey } from '../../src/adapters/redis/approvals.js';
import { Store } from '../../src/adapters/redis/store.js';
import { transition } from '../../src/core/approvals.js';
import type { Feed, FeedEvent } from '../../src/core/context.js';
import { systemClock } from '../../src/core/ports.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { eventually, Harness, stopReplicas } from '../support/harness.js';
import { APPROVALS_CHANNEL, policyText, testPolicy } from '../support/policy.js';
import { SlackApi } from '../support/slack-api.js';

const harnesses: Harness[] = [];
let slack: SlackApi | undefined;

afterEach(async () => {
  await stopReplicas(harnesses);
  await slack?.close();
  slack = undefined;
});

async function pair(opts: { expiryHours?: number; env?: Record<string, string>; feed?: Feed } = {}) {
  slack = await new SlackApi().start();
  const sandbox = new SandboxCatalog({ provisionMs: 100 });
  const prefix = `r${Math.random().toString(36).slice(2, 10)}`;
  const policy = testPolicy(opts.expiryHours);
  for (let i = 0; i < 2; i++) {
    harnesses.push(await Harness.start({ catalog: sandbox, slack, prefix, policy, env: opts.env, extra: opts.feed ? { feed: opts.feed } : {} }));
  }
  return { a: harnesses[0]!, b: harnesses[1]!, sandbox, slack };
}

async function fileLaunch(h: Harness, name: string): Promise<string> {
  const { responseId } = await h.command('UALICE', `launch "EC2 Linux" ${name} InstanceType=c5.2xlarge`);
  const text = await eventually(() => h.replies(responseId).join(''), 'request filed');
  return /Request ([A-Za-z0-9_-]+) filed/.exec(text)![1]!;
}

describe('two replicas on one Redis', () => {
  it('two approvers clicking at the same moment on two replicas: one decision, one action', async () => {
    const { a, b, sandbox } = await pair();
    const id = await fileLaunch(a, 'race');
    await eventually(() => a.slack.of('chat.postMessage').some((c) => c.body.channel === APPROVALS_CHANNEL), 'parent posted');
    const [one, two] = await Promise.all([a.click('UIT1', 'approve', id), b.click('UIT2', 'approve', id)]);
    const answers = await eventually(() => {
      const r = [...a.replies(one.responseId), ...b.replies(two.responseId)];
      return r.length === 2 ? r : undefined;
    }, 'both clickers answered');
    expect(answers.filter((t) => t.includes(`Approved request ${id}`))).toHaveLength(1);
    expect(answers.filter((t) => t.includes('was already decided'))).toHaveLength(1);
    await eventually(() => a.dms('UALICE').some((m) => m.includes('ualice-race is ready')), 'provisioned');
    const decisions = a.slack.of('chat.postMessage').filter((c) => c.body.channel === APPROVALS_CHANNEL && c.body.thread_ts && JSON.stringify(c.body).includes('Approved by'));
    expect(decisions).toHaveLength(1);
    expect((await sandbox.searchProvisioned()).filter((p) => p.name === 'ualice-race')).toHaveLength(1);
    expect((await a.app.audit.recent(200)).filter((e) => e.action === 'aws.provision' && e.target === 'ualice-race')).toHaveLength(1);
  });
});

describe('the atomic transition', () => {
  it('fifty concurrent moves of one pending request over ten connections: exactly one wins, the rest learn who', async () => {
    const { a } = await pair();
    const id = await fileLaunch(a, 'atomic');
    await eventually(() => a.slack.of('chat.postMessage').some((c) => c.body.channel === APPROVALS_CHANNEL), 'parent posted');
    const connections = Array.from({ length: 10 }, () => new Redis(a.app.config.REDIS_URL));
    try {
      const replicas = connections.map((r) => ({ approvals: new RedisApprovals(new Store(r, a.app.config.SCICOMP_PREFIX), systemClock) }));
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => transition(replicas[i % replicas.length]!, id, 'pending', i % 2 ? 'approved' : 'denied', { decidedBy: `slack:U${i}`, decidedAt: Date.now() })),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      const winner = await a.app.store.redis.hmget(requestKey(a.app.store, id), 'state', 'decidedBy');
      for (const r of results) if (!r.ok) expect([r.decision?.state, r.decision?.decidedBy]).toEqual(winner);
      expect(await a.app.store.redis.zscore(pendingKey(a.app.store), id)).toBeNull();
    } finally {
      for (const r of connections) r.disconnect();
    }
  });
});

describe('expiry', () => {
  it('removes the buttons, tells the requester, and a replayed click cannot revive it', async () => {
    const { a } = await pair({ expiryHours: 0.5 / 3600 });
    const id = await fileLaunch(a, 'late');
    const expired = await eventually(() => a.slack.of('chat.update').find((c) => c.body.channel === APPROVALS_CHANNEL && JSON.stringify(c.body).includes('without a decision')), 'parent expired', 15_000);
    expect(JSON.stringify(expired.body)).not.toContain('scicomp:approve');
    await eventually(() => a.dms('UALICE').find((m) => m.includes('Your request expired without a decision')), 'requester told');
    const { responseId } = await a.click('UIT1', 'approve', id);
    expect(await eventually(() => a.replies(responseId).join(''), 'late click')).toMatch(/already decided: expired at/);
    expect((await a.app.audit.recent(100)).some((e) => e.action === 'request.expired' && e.target === id)).toBe(true);
  });
});

describe('policy reload', () => {
  it('an admin reloads on every replica, announced in the admin feed; a broken file changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scicomp-policy-'));
    const path = join(dir, 'catalog.yaml');
    writeFileSync(path, policyText());
    const events: FeedEvent[] = [];
    const { a, b } = await pair({ env: { SCICOMP_POLICY: path }, feed: { publish: async (e) => void events.push(e) } });
    await a.app.listenForPolicyReloads();
    await b.app.listenForPolicyReloads();
    expect(b.app.policy.approvalSummary('S3 Synapse Bucket')).toBe('no approval needed');

    writeFileSync(path, policyText().replace('  - name: S3 Synapse Bucket\n    kind: bucket\n    roles: [admin, researcher]', '  - name: S3 Synapse Bucket\n    kind: bucket\n    roles: [admin, researcher]\n    approval: always'));
    const notAdmin = await a.command('UALICE', 'reload');
    expect(await eventually(() => a.replies(notAdmin.responseId).join(''), 'refusal')).toContain('Only admins can reload the catalog policy');
    const { responseId } = await a.command('UIT1', 'reload');
    expect(await eventually(() => a.replies(responseId).join(''), 'reloaded')).toContain('Catalog policy reloaded on every replica');
    await eventually(() => a.app.policy.approvalSummary('S3 Synapse Bucket') === 'always needs approval' && b.app.policy.approvalSummary('S3 Synapse Bucket') === 'always needs approval', 'both replicas reloaded');
    expect(events.map((e) => e.type)).toContain('policy-changed');

    copyFileSync(path, `${path}.good`);
    writeFileSync(path, 'defaults:\n  role: wizard\n');
    const broken = await a.command('UIT1', 'reload');
    expect(await eventually(() => a.replies(broken.responseId).join(''), 'broken')).toMatch(/NOT reloaded.*catalog.yaml:2:\d+: defaults.role/);
    expect(a.app.policy.approvalSummary('S3 Synapse Bucket')).toBe('always needs approval');
    // The refusal is announced where the good reloads are, and audited.
    expect(events.some((e) => e.type === 'policy-changed' && e.summary.includes('REFUSED') && e.summary.includes('defaults.role'))).toBe(true);
    expect((await a.app.audit.recent(100)).some((e) => e.action === 'policy.reload' && e.outcome.startsWith('refused'))).toBe(true);
  });
});
