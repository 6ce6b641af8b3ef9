// The catalog cache's contract, one test body run against the in-memory and the Redis implementation.
import { describe, expect, it } from 'vitest';
import { MemoryCatalogCache } from '../../src/adapters/memory/catalog-cache.js';
import { RedisCatalogCache } from '../../src/adapters/redis/catalog-cache.js';
import type { LaunchOptions, Product } from '../../src/core/ports.js';
import type { CatalogCacheRepository } from '../../src/core/repositories/catalog-cache.js';
import { type AfterTtl, backends, fakeClockExpiry, realTimeExpiry, testRedis } from '../support/backends.js';

const redis = testRedis();

interface Fixture {
  cache: CatalogCacheRepository;
  afterTtl: AfterTtl;
}

const implementations = backends<[], Fixture>(
  () => {
    const { clock, afterTtl } = fakeClockExpiry();
    return { cache: new MemoryCatalogCache(clock), afterTtl };
  },
  () => ({ cache: new RedisCatalogCache(redis.store()), afterTtl: realTimeExpiry }),
);

const products: Product[] = [{ id: 'prod-1', name: 'EC2 Linux', versions: [{ id: 'pa-1', name: 'v1', active: true }] }];
const options = (pathId: string): LaunchOptions => ({ pathId, parameters: [{ key: 'InstanceType', allowedValues: ['t3.micro'], defaultValue: 't3.micro' }] });

describe.each(implementations)('catalog cache (%s)', (_name, fixture) => {
  it('keeps the product list until its TTL has passed', async () => {
    const f = fixture();
    expect(await f.cache.products()).toBeUndefined();
    await f.cache.saveProducts(products, 150);
    expect(await f.cache.products()).toEqual(products);
    await f.afterTtl(150, async () => (await f.cache.products()) === undefined);
  });

  it('keeps launch options per product, version and launch path', async () => {
    const { cache } = fixture();
    await cache.saveLaunchOptions({ productId: 'prod-1', versionId: 'pa-1' }, options('lp-first'), 60_000);
    await cache.saveLaunchOptions({ productId: 'prod-1', versionId: 'pa-1', pathId: 'lp-2' }, options('lp-2'), 60_000);
    expect(await cache.launchOptions({ productId: 'prod-1', versionId: 'pa-1' })).toEqual(options('lp-first'));
    expect(await cache.launchOptions({ productId: 'prod-1', versionId: 'pa-1', pathId: 'lp-2' })).toEqual(options('lp-2'));
    expect(await cache.launchOptions({ productId: 'prod-1', versionId: 'pa-2' })).toBeUndefined();
    expect(await cache.launchOptions({ productId: 'prod-2', versionId: 'pa-1' })).toBeUndefined();
  });

  it('forgets launch options once their TTL has passed', async () => {
    const f = fixture();
    const id = { productId: 'prod-1', versionId: 'pa-1' };
    await f.cache.saveLaunchOptions(id, options('lp-first'), 150);
    await f.afterTtl(150, async () => (await f.cache.launchOptions(id)) === undefined);
  });
});
