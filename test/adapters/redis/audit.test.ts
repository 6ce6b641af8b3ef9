import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisAudit } from '../../../src/adapters/redis/audit.js';
import { Store } from '../../../src/adapters/redis/store.js';
import { exportAudit, trimmedNotice } from '../../../src/cli/audit-export.js';
import { REDIS_URL } from '../../support/redis.js';

const redis = new Redis(REDIS_URL);
const prefixes: string[] = [];

function audit(maxLength = 100_000, now = () => Date.now()) {
  const prefix = `taudit${randomBytes(4).toString('hex')}`;
  prefixes.push(prefix);
  return new RedisAudit(new Store(redis, prefix), { now }, maxLength);
}

afterAll(async () => {
  for (const p of prefixes) await redis.del(`${p}:audit`);
  redis.disconnect();
});

describe('RedisAudit', () => {
  it('removes secrets from parameters', async () => {
    const a = audit();
    await a.append({ actor: 'slack:U1', action: 'command.launch', target: 'x', parameters: { InstanceType: 't3.large', apiToken: 'xoxb-secret', Password: 'hunter2' }, outcome: 'ok' });
    const [entry] = await a.recent(1);
    expect(entry!.parameters).toEqual({ InstanceType: 't3.large', apiToken: '[redacted]', Password: '[redacted]' });
    expect(JSON.stringify(await redis.xrange(a.key, '-', '+'))).not.toMatch(/xoxb-secret|hunter2/);
  });

  it('is capped by length, never below the cap', async () => {
    const a = audit(1000);
    const pipeline = redis.pipeline();
    for (let i = 0; i < 3000; i++) pipeline.xadd(a.key, '*', 'entry', JSON.stringify({ actor: 'a', action: 'seed', outcome: String(i) }));
    await pipeline.exec();
    await a.append({ actor: 'a', action: 'last', outcome: 'ok' });
    const length = await redis.xlen(a.key);
    expect(length).toBeGreaterThanOrEqual(1000);
    expect(length).toBeLessThan(3001);
    expect((await a.recent(1))[0]!.action).toBe('last');
  });

  it('exports entries since a date as JSON lines', async () => {
    const a = audit();
    await a.append({ actor: 'a', action: 'one', outcome: 'ok' });
    await a.append({ actor: 'a', action: 'two', outcome: 'ok' });
    const lines: string[] = [];
    expect(await exportAudit(a, Date.now() - 60_000, (l) => void lines.push(l))).toBe(2);
    expect(lines.map((l) => (JSON.parse(l) as { action: string }).action)).toEqual(['one', 'two']);
    expect(await exportAudit(a, Date.now() + 60_000, () => {})).toBe(0);
  });

  it('export says when the trail no longer reaches back to --since', async () => {
    const a = audit(1000);
    expect(await trimmedNotice(a, Date.parse('2026-01-01'), 1000)).toBeUndefined();
    await a.append({ actor: 'scicomp', action: 'test', target: 'x', outcome: 'ok' });
    const oldest = (await a.oldestMs())!;
    expect(await trimmedNotice(a, oldest, 1000)).toBeUndefined();
    expect(await trimmedNotice(a, oldest - 86400_000, 1000)).toMatch(/^audit:export: the trail begins at .*SCICOMP_AUDIT_MAXLEN=1000/);
  });
});
