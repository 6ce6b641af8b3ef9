// The catalog cache's contract, one test body run against the in-memory and the Redis implementation.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryCatalogCache } from '../../src/adapters/memory/catalog-cache.js';
import { RedisCatalogCache } from '../../src/adapters/redis/catalog-cache.js';
import { Store } from '../../src/adapters/redis/store.js';
import type { LaunchOptions, Product } from '../../src/core/ports.js';
import type { CatalogCacheRepository } from '../../src/core/repositories/catalog-cache.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefixes: string[] = [];

afterAll(async () => {
  for (const prefix of prefixes) {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
  }
  redis.disconnect();
});

interface Fixture {
  cache: CatalogCacheRepository;
  /** Waits until `ttlMs` has passed (the fake clock moves; Redis is polled to a deadline), then until `check` holds. */
  afterTtl(ttlMs: number, check: () => Promise<boolean>): Promise<void>;
}

const implementations: [string, () => Fixture][] = [
  [
    'memory',
    () => {
      let now = 1_700_000_000_000;
      return {
        cache: new MemoryCatalogCache({ now: () => now }),
        afterTtl: async (ttlMs, check) => {
          now += ttlMs;
          expect(await check()).toBe(true);
        },
      };
    },
  ],
  [
    'redis',
    () => {
      const prefix = `tcatalog${randomBytes(4).toString('hex')}`;
      prefixes.push(prefix);
      return {
        cache: new RedisCatalogCache(new Store(redis, prefix)),
        afterTtl: async (ttlMs, check) => {
          const deadline = Date.now() + ttlMs + 5_000;
          while (!(await check())) {
            if (Date.now() > deadline) throw new Error('still there after its TTL');
            await new Promise((r) => setTimeout(r, 20));
          }
        },
      };
    },
  ],
];

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
