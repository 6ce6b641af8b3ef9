// One contract or scenario body run against the in-memory implementation and the Redis one: the table `describe.each`
// takes, and the file's real Redis connection with a fresh key prefix per build, every prefix's keys deleted after.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, expect } from 'vitest';
import { Store } from '../../src/adapters/redis/store.js';
import type { Clock } from '../../src/core/ports.js';
import { REDIS_URL } from './redis.js';

export interface TestRedis {
  /** The connection itself, for a test that reads or writes keys directly. */
  readonly connection: Redis;
  /** A fresh key prefix of its own; its keys are deleted after the file. */
  prefix(): string;
  /** A Store on a fresh prefix. */
  store(): Store;
  /** Milliseconds left before a key expires, like PTTL: undefined when absent, Infinity when it never expires. */
  ttl(key: string): Promise<number | undefined>;
}

/**
 * The test file's own Redis connection, closed after the file. Call it at the top of the file, not in a shared module:
 * workers keep modules between files (vitest `isolate: false`), and each file cleans up its own prefixes.
 */
export function testRedis(): TestRedis {
  const redis = new Redis(REDIS_URL);
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const p of prefixes) {
      const keys = await redis.keys(`${p}:*`);
      if (keys.length) await redis.del(...keys);
    }
    redis.disconnect();
  });
  const prefix = () => {
    const p = `t${randomBytes(5).toString('hex')}`;
    prefixes.push(p);
    return p;
  };
  return {
    connection: redis,
    prefix,
    store: () => new Store(redis, prefix()),
    ttl: async (key) => {
      const t = await redis.pttl(key);
      return t === -2 ? undefined : t === -1 ? Infinity : t;
    },
  };
}

/** The same body built in memory and in Redis, named for `describe.each('… %s')`. */
export function backends<A extends unknown[], T>(inMemory: (...args: A) => T, inRedis: (...args: A) => T): [string, (...args: A) => T][] {
  return [
    ['in memory', inMemory],
    ['in Redis', inRedis],
  ];
}

/** Waits until `ttlMs` has passed, then until `check` holds. */
export type AfterTtl = (ttlMs: number, check: () => Promise<boolean>) => Promise<void>;

/** In memory: a fake clock, moved past the TTL at once; the entry must be gone then. */
export function fakeClockExpiry(): { clock: Clock; afterTtl: AfterTtl } {
  let now = 1_700_000_000_000;
  return {
    clock: { now: () => now },
    afterTtl: async (ttlMs, check) => {
      now += ttlMs;
      expect(await check()).toBe(true);
    },
  };
}

/** In Redis the key expires by itself: polled to a deadline past the TTL. */
export const realTimeExpiry: AfterTtl = async (ttlMs, check) => {
  const deadline = Date.now() + ttlMs + 5_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('still there after its TTL');
    await new Promise((r) => setTimeout(r, 20));
  }
};
