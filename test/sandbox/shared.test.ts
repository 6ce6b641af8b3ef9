// The sandbox account in Redis behind whole scicomp apps: two processes share it, a restart keeps it, and a tester's
// POST /sandbox/publish reaches the owner's DM through POST /sns with a real signature check, in sandbox mode only.
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { alarmName } from '../../src/core/alarm-names.js';
import { SnsVerifier } from '../../src/http/sns.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { openSharedSandbox, type SharedSandbox } from '../../src/sandbox/shared.js';
import { isLoopback, signMessage } from '../../src/sandbox/sns.js';
import { dropPrefix, eventually, Harness } from '../support/harness.js';
import { SlackApi } from '../support/slack-api.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ALICE = 'UALICE';
const running: Harness[] = [];
let slack: SlackApi | undefined;

afterEach(async () => {
  const prefixes = new Set<string>();
  for (const h of running) if (!prefixes.has(h.app.config.SCICOMP_PREFIX) && prefixes.add(h.app.config.SCICOMP_PREFIX)) await dropPrefix(h.app);
  for (const h of running.splice(0)) await h.close();
  await slack?.close();
  slack = undefined;
});

/** One scicomp process on `prefix` with the shared sandbox account, as `npm start` wires it. */
async function start(prefix: string, o: { workers?: boolean; env?: Record<string, string>; hooks?: boolean } = {}): Promise<{ h: Harness; sandbox: SharedSandbox }> {
  slack ??= await new SlackApi().start();
  const sandbox = await openSharedSandbox({ redisUrl: REDIS_URL, prefix, provisionMs: 100 });
  const h = await Harness.start({
    catalog: sandbox.catalog,
    slack,
    prefix,
    workers: o.workers,
    env: o.env,
    extra: { topics: sandbox.topics, alarms: sandbox.alarms, budgets: sandbox.budgets, ...(o.hooks === false ? {} : { sandbox: sandbox.hooks }) },
  });
  if (o.hooks === false) await sandbox.hooks.close();
  running.push(h);
  return { h, sandbox };
}

const newPrefix = () => `tsh${randomBytes(5).toString('hex')}`;

/**
 * Answers to one command or click: harnesses number their response URLs from 1 each, so two on one recording Slack API
 * (or one started after another) reuse ids; only what arrived after the request counts.
 */
async function answered(h: Harness, send: () => Promise<{ responseId: string }>, what: string): Promise<string> {
  const before = h.slack.calls.length;
  const { responseId } = await send();
  return eventually(
    () => h.slack.calls.slice(before).filter((c) => c.method === 'response_url' && c.body.responseId === responseId).map((c) => JSON.stringify(c.body)).join(''),
    what,
  );
}

async function launch(h: Harness, name: string): Promise<string> {
  await answered(h, () => h.command(ALICE, `launch "EC2 Linux" ${name}`), 'launch reply');
  const ready = await eventually(() => h.dms(ALICE).find((m) => m.includes(`ualice-${name} is ready`)), `ualice-${name} ready`);
  return /(i-[0-9a-f]{17})/.exec(ready)![1]!;
}

const reply = (h: Harness, text: string) => answered(h, () => h.command(ALICE, text), `reply to ${text}`);

function publish(h: Harness, body: unknown): Promise<Response> {
  return fetch(`${h.url}/sandbox/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

function button(dm: string, actionId: string): string {
  const body = JSON.parse(dm) as { blocks?: { elements?: { action_id: string; value: string }[] }[] };
  return (body.blocks ?? []).flatMap((x) => x.elements ?? []).find((e) => e.action_id === `scicomp:${actionId}`)!.value;
}

describe('the sandbox account shared through Redis', () => {
  it('is one account for two processes: launched through A, its status through B', async () => {
    const prefix = newPrefix();
    const { h: a } = await start(prefix);
    const instance = await launch(a, 'box');
    // From here on B's worker answers, with B's own view of the account.
    await a.app.stopWorkers();
    const { h: b } = await start(prefix);
    const status = await reply(b, 'status box');
    expect(status).toContain('ualice-box');
    expect(status).toContain(instance);
  });

  it('survives a restart: a new process on the same prefix has the product, its records, and can terminate it', async () => {
    const prefix = newPrefix();
    const { h: before, sandbox } = await start(prefix);
    const instance = await launch(before, 'kept');
    const pp = (await sandbox.catalog.findProvisionedByName('ualice-kept'))!;
    running.splice(running.indexOf(before), 1);
    await before.close();
    const { h: after, sandbox: again } = await start(prefix);
    expect(await again.catalog.describeRecord(pp.lastRecordId!)).toMatchObject({ status: 'SUCCEEDED', provisionedProductName: 'ualice-kept' });
    expect(await reply(after, 'status kept')).toContain(instance);
    const confirm = await reply(after, 'terminate kept');
    await answered(after, () => after.click(ALICE, 'confirm', /"value":"([^"]+)"/.exec(confirm.slice(confirm.indexOf('scicomp:confirm')))![1]!), 'terminate answered');
    await eventually(() => after.dms(ALICE).some((m) => m.includes('ualice-kept is terminated')), 'terminated');
  });

  it('honours a ProvisionToken across processes: the same token, the same record', async () => {
    const prefix = newPrefix();
    const [{ sandbox: a }, { sandbox: b }] = [await start(prefix, { workers: false }), await start(prefix, { workers: false })];
    const product = (await a.catalog.listProducts()).find((p) => p.name === 'EC2 Linux')!;
    const version = product.versions.find((v) => v.active)!;
    const { pathId } = await a.catalog.launchOptions(product.id, version.id);
    const input = { productId: product.id, versionId: version.id, pathId, name: 'ualice-once', parameters: {}, tags: { OwnerEmail: 'ualice@synapse.org' }, token: 'req-123' };
    const one = await a.catalog.provision(input);
    // Were B to provision anew, this would make its record fail.
    b.catalog.failNext('provision');
    expect(await b.catalog.provision(input)).toEqual(one);
    await eventually(async () => (await b.catalog.describeRecord(one.recordId)).status === 'SUCCEEDED', 'the one record succeeded');
    const [x, y] = await Promise.all([a.catalog.provision({ ...input, name: 'ualice-twice', token: 'req-456' }), b.catalog.provision({ ...input, name: 'ualice-twice', token: 'req-456' })]);
    expect(y).toEqual(x);
    expect((await b.catalog.searchProvisioned()).map((p) => p.name).sort()).toEqual(['ualice-once', 'ualice-twice']);
  });
});

describe('POST /sandbox/publish', () => {
  it('puts an idle ping with Stop, Terminate, Snooze and Keep in the owner’s DM, through POST /sns', async () => {
    const prefix = newPrefix();
    const { h, sandbox } = await start(prefix);
    await launch(h, 'idle');
    const pp = (await sandbox.catalog.findProvisionedByName('ualice-idle'))!;
    await eventually(() => sandbox.alarms.alarm(alarmName(pp.id, 'cpu-idle')), 'alarms made');
    const res = await publish(h, { kind: 'alarm', product: 'ualice-idle', alarm: 'cpu-idle' });
    const body = (await res.json()) as { ok: boolean; topicArn: string; status: number };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ ok: true, status: 200, topicArn: 'arn:aws:sns:us-east-1:111122223333:scicomp-user-ualice-synapse-org' });
    const dm = await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-idle: is idle')), 'idle ping');
    for (const id of ['idle-stop', 'idle-terminate', 'idle-snooze', 'idle-keep']) expect(dm).toContain(`scicomp:${id}`);
    expect(await answered(h, () => h.click(ALICE, 'idle-keep', button(dm, 'idle-keep')), 'keep')).toContain('Keeping ualice-idle running');
  });

  it('puts a budget alert in the owner’s DM and the spend it names in /scicomp budget', async () => {
    const { h } = await start(newPrefix());
    await launch(h, 'spend');
    const res = await publish(h, { kind: 'budget', email: 'ualice@synapse.org' });
    expect(res.status, await res.clone().text()).toBe(200);
    const dm = await eventually(() => h.dms(ALICE).find((m) => m.includes('You have passed a budget threshold')), 'budget alert');
    expect(dm).toContain('$412.50');
    expect(await reply(h, 'budget')).toContain('You have spent $412.50 of your $500.00 monthly budget');
  });

  it('says what is wrong with a request, and publishes nothing', async () => {
    const { h } = await start(newPrefix());
    const cases: [unknown, number, RegExp][] = [
      [{ kind: 'alarm' }, 400, /product: an alarm needs the name of the instance/],
      [{ kind: 'alarm', product: 'nobody-box' }, 404, /no product named nobody-box/],
      [{ kind: 'alarm', product: 'x', alarm: 'cpu-low' }, 400, /alarm: must be one of cpu-high, cpu-idle, memory-high, disk-high/],
      [{ kind: 'email' }, 400, /kind: must be "alarm" or "budget"/],
      [{ kind: 'budget', email: 'nobody@synapse.org' }, 400, /nobody@synapse.org has no topic yet/],
      [{ kind: 'budget', extra: 1 }, 400, /Unrecognized key/i],
    ];
    for (const [request, status, error] of cases) {
      const res = await publish(h, request);
      expect(res.status, JSON.stringify(request)).toBe(status);
      expect(((await res.json()) as { error: string }).error).toMatch(error);
    }
    const notJson = await fetch(`${h.url}/sandbox/publish`, { method: 'POST', body: 'kind=alarm' });
    expect(notJson.status).toBe(400);
    expect(await h.app.queues.sns.getJobCounts()).toMatchObject({ waiting: 0, active: 0, completed: 0 });
  });

  it('answers only this machine: another address is refused before anything is read', async () => {
    for (const a of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '127.8.9.10']) expect(isLoopback(a), a).toBe(true);
    for (const a of ['10.0.0.5', '192.0.2.7', '::ffff:192.0.2.7', '2001:db8::1', '', undefined]) expect(isLoopback(a), String(a)).toBe(false);
    const sandbox = await openSharedSandbox({ redisUrl: REDIS_URL, prefix: newPrefix() });
    try {
      const handler = sandbox.hooks.publishHandler(() => 'http://127.0.0.1:1/sns');
      let status = 0;
      let said = '';
      const req = { socket: { remoteAddress: '192.0.2.7' }, on: () => { throw new Error('the body was read'); } } as unknown as IncomingMessage;
      const res = { writeHead: (s: number) => ((status = s), { end: (b: string) => void (said = b) }) } as unknown as ServerResponse;
      await handler(req, res);
      expect(status).toBe(403);
      expect(said).toContain('only requests from this machine');
    } finally {
      await sandbox.hooks.close();
    }
  });

  it('is not there outside sandbox mode, and nothing the sandbox signs verifies there', async () => {
    const prefix = newPrefix();
    const { h: sandboxed, sandbox } = await start(prefix);
    // On the same Redis and prefix, so with the same sandbox certificate at hand: only the mode differs.
    const { h: real } = await start(prefix, { env: { SCICOMP_AWS: 'aws' }, workers: false });
    const { h: bare } = await start(newPrefix(), { hooks: false });
    expect((await publish(real, { kind: 'budget', email: 'ualice@synapse.org' })).status).toBe(404);
    expect((await publish(bare, { kind: 'budget', email: 'ualice@synapse.org' })).status).toBe(404);
    // A notification signed as the sandbox SNS signs, on a topic every app here knows.
    const topicArn = 'arn:aws:sns:us-east-1:111122223333:scicomp-known';
    for (const app of [sandboxed, real]) await app.app.store.redis.sadd(app.app.store.key('topics'), topicArn);
    const signed = () => signMessage({ Type: 'Notification', MessageId: randomUUID(), TopicArn: topicArn, Message: 'hello', Timestamp: new Date().toISOString() }, sandbox.signer);
    const post = (h: Harness) => fetch(`${h.url}/sns`, { method: 'POST', body: JSON.stringify(signed()) });
    const refused = await post(real);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('signed by the sandbox account');
    expect((await post(sandboxed)).status).toBe(200);
    expect(sandbox.hooks.certificates.size).toBe(1);
  });

  it('never fetches the sandbox certificate where it is not trusted', async () => {
    const sandbox = await openSharedSandbox({ redisUrl: REDIS_URL, prefix: newPrefix() });
    try {
      const fetched: string[] = [];
      const verifier = new SnsVerifier({ fetch: (async (url: string) => (fetched.push(url), new Response(sandbox.signer.cert))) as unknown as typeof fetch });
      const m = signMessage({ Type: 'Notification', MessageId: randomUUID(), TopicArn: 'arn:aws:sns:us-east-1:111122223333:t', Message: 'hi', Timestamp: new Date().toISOString() }, sandbox.signer);
      await expect(verifier.verify(m)).rejects.toMatchObject({ status: 403, message: expect.stringContaining('sandbox') });
      expect(fetched).toEqual([]);
      await expect(new SnsVerifier({ trusted: sandbox.hooks.certificates }).verify(m)).resolves.toBeUndefined();
    } finally {
      await sandbox.hooks.close();
    }
  });
});

describe('the sandbox catalog', () => {
  it('stays in one process when no account is given (unit tests, benches)', async () => {
    const a = new SandboxCatalog();
    const b = new SandboxCatalog();
    const product = (await a.listProducts())[0]!;
    const version = product.versions.at(-1)!;
    const { pathId } = await a.launchOptions(product.id, version.id);
    await a.provision({ productId: product.id, versionId: version.id, pathId, name: 'solo', parameters: {}, tags: {}, token: 't' });
    expect(await b.findProvisionedByName('solo')).toBeUndefined();
  });
});
