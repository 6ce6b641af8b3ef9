// NoEcho values through Slack's own door: launched, updated and approved with a password that AWS (the sandbox) receives
// and that nothing keeps in clear: no Redis key of any type under the prefix, no audit entry, no log line, no chat message.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { StoredAuditEntry } from '../../src/core/context.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually, Harness } from '../support/harness.js';
import { testPolicy } from '../support/policy.js';

const ALICE = 'UALICE';
const IT1 = 'UIT1';
/** Distinct per step, so a leak names the step it came from. */
const SECRET = { launch: 'Launch-Pw-7f3a91c2', update: 'Update-Pw-0b8e44d1', approved: 'Approve-Pw-c9d27e55', typo: 's3cret-typo-5d1e' };

let h: Harness;
const sandbox = new SandboxCatalog({ provisionMs: 200 });
const logs: string[] = [];
// Every log line at every level, with no redaction: no line may carry the value at all.
const log = pino({ level: 'trace' }, { write: (line: string) => void logs.push(line) });
const start = (workers: boolean) => Harness.start({ catalog: sandbox, policy: testPolicy(), workers, extra: { log } });

beforeAll(async () => {
  h = await start(true);
});

afterAll(async () => {
  await dropPrefix(h.app);
  await h.close();
});

/** Every key under the test's prefix with everything it holds, whatever its type: strings, hashes, lists, sets, streams (BullMQ jobs are hashes). */
async function redisDump(h: Harness): Promise<{ keys: string[]; text: string }> {
  const redis = h.app.store.redis;
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${h.app.config.SCICOMP_PREFIX}:*`, 'COUNT', 1000);
    keys.push(...found);
    cursor = next;
  } while (cursor !== '0');
  const parts: unknown[] = [];
  for (const key of keys) {
    const type = await redis.type(key);
    const value =
      type === 'string' ? await redis.get(key)
      : type === 'hash' ? await redis.hgetall(key)
      : type === 'list' ? await redis.lrange(key, '0', '-1')
      : type === 'set' ? await redis.smembers(key)
      : type === 'zset' ? await redis.zrange(key, '0', '-1', 'WITHSCORES')
      : type === 'stream' ? await redis.xrange(key, '-', '+')
      : `(${type})`;
    parts.push([key, value]);
  }
  return { keys, text: JSON.stringify(parts) };
}

async function auditText(h: Harness): Promise<string> {
  return JSON.stringify(await h.app.audit.recent(1000));
}

/** Nowhere in clear: Redis, the audit trail, the logs, or anything sent to Slack. */
async function expectNowhere(secret: string, on = h): Promise<void> {
  expect((await redisDump(on)).text).not.toContain(secret);
  expect(await auditText(on)).not.toContain(secret);
  expect(logs.filter((l) => l.includes(secret))).toEqual([]);
  expect(on.slack.calls.filter((c) => JSON.stringify(c.body).includes(secret))).toEqual([]);
}

const reply = (responseId: string, what: string, on = h) => eventually(() => on.replies(responseId).join('\n'), what);

function buttonValue(text: string, actionId: string): string {
  const body = JSON.parse(text) as { blocks: { elements?: { action_id: string; value: string }[] }[] };
  const button = body.blocks.flatMap((b) => b.elements ?? []).find((e) => e.action_id === `scicomp:${actionId}`);
  if (!button) throw new Error(`no ${actionId} button in ${text}`);
  return button.value;
}

describe('a NoEcho parameter value', () => {
  it('waits in the inbox sealed, reaches ProvisionProduct as typed, and is kept nowhere in clear', async () => {
    // An app of its own, whose workers start later: first, what the web process alone leaves in Redis.
    const web = await start(false);
    try {
      const provision = vi.spyOn(sandbox, 'provision');
      const { responseId } = await web.command(ALICE, `launch "EC2 Notebook" nb NotebookPassword=${SECRET.launch}`);
      const inbox = web.app.inbox.key;
      await eventually(async () => (await web.app.store.redis.xlen(inbox)) > 0, 'the command in the inbox');
      // Before any worker has parsed it, nothing knows NotebookPassword is NoEcho: the whole interaction is sealed.
      const queued = await redisDump(web);
      expect(queued.keys).toContain(inbox);
      expect(queued.text).not.toContain(SECRET.launch);
      expect(queued.text).not.toContain('NotebookPassword');

      web.app.startWorkers();
      expect(await reply(responseId, 'launch reply', web)).toContain('Launching ualice-nb');
      await eventually(() => web.dms(ALICE).find((m) => m.includes('ualice-nb is ready')), 'notebook ready');
      expect(provision.mock.calls.map(([input]) => input.parameters.NotebookPassword)).toEqual([SECRET.launch]);
      provision.mockRestore();

      const after = await redisDump(web);
      // The plan a retry would provision from is there, sealed; so is the finished run-command job.
      expect(after.keys.some((k) => k.includes(':launch-plan:'))).toBe(true);
      expect(after.keys.some((k) => k.includes(':run-command:'))).toBe(true);
      await expectNowhere(SECRET.launch, web);
    } finally {
      await dropPrefix(web.app);
      await web.close();
    }
  });

  it('in an update waits sealed in its confirmation and reaches UpdateProvisionedProduct as typed', async () => {
    // A notebook of its own to update.
    const launched = await h.command(ALICE, 'launch "EC2 Notebook" nbu NotebookPassword=Launch-Pw-for-the-update-test');
    await reply(launched.responseId, 'launch reply');
    await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-nbu is ready')), 'notebook ready');
    const { responseId } = await h.command(ALICE, `update nbu NotebookPassword=${SECRET.update}`);
    const ask = await reply(responseId, 'confirmation');
    expect(ask).toContain('NotebookPassword → ••••');
    const id = buttonValue(ask, 'confirm');
    const waiting = await redisDump(h);
    expect(waiting.keys.some((k) => k.endsWith(`:confirm:${id}`))).toBe(true);
    expect(waiting.text).not.toContain(SECRET.update);

    const update = vi.spyOn(sandbox, 'update');
    const click = await h.click(ALICE, 'confirm', id);
    expect(await reply(click.responseId, 'update reply')).toContain('Updating ualice-nbu');
    expect(update.mock.calls.map(([input]) => input.parameters.NotebookPassword)).toEqual([SECRET.update]);
    update.mockRestore();
    await expectNowhere(SECRET.update);
  });

  it('in a launch sent to IT waits sealed in the request until approved, then reaches ProvisionProduct as typed', async () => {
    const { responseId } = await h.command(ALICE, `launch "EC2 Notebook" gpu InstanceType=g4dn.xlarge NotebookPassword=${SECRET.approved}`);
    const filed = await reply(responseId, 'request filed');
    const id = /Request ([A-Za-z0-9_-]+) filed/.exec(filed)![1]!;
    const pending = await redisDump(h);
    expect(pending.keys.some((k) => k.endsWith(`:request:${id}`))).toBe(true);
    expect(pending.text).not.toContain(SECRET.approved);

    const provision = vi.spyOn(sandbox, 'provision');
    const approve = await h.click(IT1, 'approve', id);
    expect(await reply(approve.responseId, 'approval')).toContain(`Approved request ${id}`);
    await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-gpu is ready')), 'approved notebook ready');
    expect(provision.mock.calls.map(([input]) => input.parameters.NotebookPassword)).toEqual([SECRET.approved]);
    provision.mockRestore();
    await expectNowhere(SECRET.approved);
  });

  it('in a command that does not parse is audited as its verb and keys, never its values', async () => {
    const typos = [
      `lanch "EC2 Notebook" nb DbPassword=${SECRET.typo}`,
      `launch "EC2 Notebook" nb DbPassword=${SECRET.typo} extra`,
      `DbPassword=${SECRET.typo}`,
    ];
    for (const text of typos) await reply((await h.command(ALICE, text)).responseId, `refusal of ${text}`);
    const invalid = await eventually(async () => {
      const found = (await h.app.audit.recent(1000)).filter((e: StoredAuditEntry) => e.action === 'command.invalid');
      return found.length === typos.length ? found : undefined;
    }, 'the invalid commands audited');
    expect(invalid.map((e) => e.parameters).reverse()).toEqual([
      { verb: 'unknown', keys: ['DbPassword'] },
      { verb: 'launch', keys: ['DbPassword'] },
      { verb: 'unknown', keys: [] },
    ]);
    expect(invalid.every((e) => e.outcome === 'refused: not a valid command' && e.target === undefined)).toBe(true);
    await expectNowhere(SECRET.typo);
  });
});
