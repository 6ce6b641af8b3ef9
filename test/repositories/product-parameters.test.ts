// The product parameters contract: one test body run against the in-memory repository and the Redis one (real Redis, own prefix).
import { describe, expect, it } from 'vitest';
import { MemoryProductParameters } from '../../src/adapters/memory/product-parameters.js';
import { productParametersKey, RedisProductParameters, recordParametersKey } from '../../src/adapters/redis/product-parameters.js';
import type { ProductParametersRepository } from '../../src/core/repositories/product-parameters.js';
import { backends, testRedis } from '../support/backends.js';

const DAY = 86400_000;
const redis = testRedis();

type Ttl = (what: 'record' | 'product', id: string) => Promise<number | undefined>;

const implementations = backends<[], { parameters: ProductParametersRepository; ttl: Ttl }>(
  () => {
    const parameters = new MemoryProductParameters({ now: () => Date.now() });
    return { parameters, ttl: async (what, id) => (what === 'record' ? parameters.records : parameters.products).ttl(id) };
  },
  () => {
    const store = redis.store();
    return {
      parameters: new RedisProductParameters(store),
      ttl: (what, id) => redis.ttl(what === 'record' ? recordParametersKey(store, id) : productParametersKey(store, id)),
    };
  },
);

describe.each(implementations)('product parameters %s', (_name, make) => {
  it('keep each record’s parameters and each product’s, for a while, until a product is forgotten', async () => {
    const { parameters, ttl } = make();
    expect(await parameters.ofRecord('rec-1')).toBeUndefined();
    await parameters.saveRecord('rec-1', { InstanceType: 't3.large' }, 30 * DAY);
    expect(await parameters.ofRecord('rec-1')).toEqual({ InstanceType: 't3.large' });
    await parameters.saveProduct('pp-1', { InstanceType: 't3.large' }, 730 * DAY);
    await parameters.saveProduct('pp-1', { InstanceType: 'm5.large' }, 730 * DAY);
    expect(await parameters.ofProduct('pp-1')).toEqual({ InstanceType: 'm5.large' });
    expect((await ttl('record', 'rec-1'))!).toBeGreaterThan(30 * DAY - 60_000);
    expect((await ttl('product', 'pp-1'))!).toBeGreaterThan(730 * DAY - 60_000);
    await parameters.forgetProduct('pp-1');
    expect(await parameters.ofProduct('pp-1')).toBeUndefined();
    expect(await parameters.ofRecord('rec-1')).toBeDefined();
  });
});
