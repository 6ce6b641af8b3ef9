// The archives contract: one test body run against the in-memory repository and the Redis one (real Redis, own prefix).
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryArchives } from '../../src/adapters/memory/archives.js';
import { RedisArchives } from '../../src/adapters/redis/archives.js';
import { Store } from '../../src/adapters/redis/store.js';
import type { ArchivesRepository } from '../../src/core/repositories/archives.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = `t${randomBytes(5).toString('hex')}`;
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const newStore = () => new Store(redis, `${prefix}:${randomBytes(3).toString('hex')}`);
const implementations: [string, () => ArchivesRepository][] = [
  ['in memory', () => new MemoryArchives()],
  ['in Redis', () => new RedisArchives(newStore())],
];

const ENTRY = { terminatedAt: Date.UTC(2026, 10, 1), productName: 'S3 Private Encrypted Bucket', provisionedProductId: 'pp-1' };

describe.each(implementations)('archives %s', (_name, make) => {
  it('keep each person’s terminated buckets by email, whatever its case, until restored', async () => {
    const archives = make();
    expect(await archives.get('jdoe@synapse.org', 'jdoe-data')).toBeUndefined();
    await archives.add('JDoe@Synapse.org', 'jdoe-data', ENTRY);
    await archives.add('jdoe@synapse.org', 'jdoe-logs', { ...ENTRY, provisionedProductId: 'pp-2' });
    expect(await archives.get('jdoe@synapse.org', 'jdoe-data')).toEqual(ENTRY);
    expect(await archives.get('JDOE@synapse.org', 'jdoe-logs')).toEqual({ ...ENTRY, provisionedProductId: 'pp-2' });
    expect(await archives.get('asmith@synapse.org', 'jdoe-data')).toBeUndefined();
    await archives.remove('jdoe@SYNAPSE.org', 'jdoe-data');
    expect(await archives.get('jdoe@synapse.org', 'jdoe-data')).toBeUndefined();
    expect(await archives.get('jdoe@synapse.org', 'jdoe-logs')).toBeDefined();
  });

  it('a bucket archived again replaces its entry', async () => {
    const archives = make();
    await archives.add('jdoe@synapse.org', 'jdoe-data', ENTRY);
    await archives.add('jdoe@synapse.org', 'jdoe-data', { ...ENTRY, terminatedAt: ENTRY.terminatedAt + 1 });
    expect((await archives.get('jdoe@synapse.org', 'jdoe-data'))!.terminatedAt).toBe(ENTRY.terminatedAt + 1);
  });
});

describe('archives in Redis', () => {
  it('still find, and restore, a bucket archived under the email as it was given', async () => {
    const store = newStore();
    await redis.hset(store.key('archive', 'JDoe@Synapse.org'), 'jdoe-old', JSON.stringify(ENTRY));
    const archives = new RedisArchives(store);
    expect(await archives.get('JDoe@Synapse.org', 'jdoe-old')).toEqual(ENTRY);
    await archives.remove('JDoe@Synapse.org', 'jdoe-old');
    expect(await archives.get('JDoe@Synapse.org', 'jdoe-old')).toBeUndefined();
  });
});
