// The wiring contract: one test body run against the in-memory repository and the Redis one (real Redis, own prefix).
import { describe, expect, it } from 'vitest';
import { MemoryWiring } from '../../src/adapters/memory/wiring.js';
import { RedisWiring } from '../../src/adapters/redis/wiring.js';
import type { WiringRepository } from '../../src/core/repositories/wiring.js';
import { backends, testRedis } from '../support/backends.js';

const redis = testRedis();

const implementations = backends<[], WiringRepository>(
  () => new MemoryWiring(),
  () => new RedisWiring(redis.store()),
);

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
