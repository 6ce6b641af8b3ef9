// The wiring contract: one test body run against the in-memory repository and the Redis one (real Redis, own prefix).
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryWiring } from '../../src/adapters/memory/wiring.js';
import { Store } from '../../src/adapters/redis/store.js';
import { RedisWiring } from '../../src/adapters/redis/wiring.js';
import type { WiringRepository } from '../../src/core/repositories/wiring.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = `t${randomBytes(5).toString('hex')}`;
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const implementations: [string, () => WiringRepository][] = [
  ['in memory', () => new MemoryWiring()],
  ['in Redis', () => new RedisWiring(new Store(redis, `${prefix}:${randomBytes(3).toString('hex')}`))],
];

const ARN = 'arn:aws:sns:us-east-1:111122223333:scicomp-user-jdoe-synapse-org';

describe.each(implementations)('wiring %s', (_name, make) => {
  it('keeps each person’s topic by email, whatever its case', async () => {
    const wiring = make();
    expect(await wiring.topicOf('jdoe@synapse.org')).toBeUndefined();
    await wiring.setTopic('JDoe@Synapse.org', ARN);
    expect(await wiring.topicOf('jdoe@synapse.org')).toBe(ARN);
    expect(await wiring.topicOf('JDOE@SYNAPSE.ORG')).toBe(ARN);
    expect(await wiring.topicOf('asmith@synapse.org')).toBeUndefined();
    await wiring.setTopic('jdoe@synapse.org', `${ARN}-2`);
    expect(await wiring.topicOf('jdoe@synapse.org')).toBe(`${ARN}-2`);
  });
});
