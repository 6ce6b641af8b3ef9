// The archives contract: one test body run against the in-memory repository and the Redis one (real Redis, own prefix).
import { describe, expect, it } from 'vitest';
import { MemoryArchives } from '../../src/adapters/memory/archives.js';
import { RedisArchives } from '../../src/adapters/redis/archives.js';
import type { ArchivesRepository } from '../../src/core/repositories/archives.js';
import { backends, testRedis } from '../support/backends.js';

const redis = testRedis();

const implementations = backends<[], ArchivesRepository>(
  () => new MemoryArchives(),
  () => new RedisArchives(redis.store()),
);

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
    const store = redis.store();
    await redis.connection.hset(store.key('archive', 'JDoe@Synapse.org'), 'jdoe-old', JSON.stringify(ENTRY));
    const archives = new RedisArchives(store);
    expect(await archives.get('JDoe@Synapse.org', 'jdoe-old')).toEqual(ENTRY);
    await archives.remove('JDoe@Synapse.org', 'jdoe-old');
    expect(await archives.get('JDoe@Synapse.org', 'jdoe-old')).toBeUndefined();
  });
});
