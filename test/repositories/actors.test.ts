// The actor cache's contract, one test body run against the in-memory and the Redis implementation.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryActors } from '../../src/adapters/memory/actors.js';
import { RedisActors } from '../../src/adapters/redis/actors.js';
import { Store } from '../../src/adapters/redis/store.js';
import type { Person } from '../../src/core/context.js';
import type { ActorRepository } from '../../src/core/repositories/actors.js';

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
  actors: ActorRepository;
  /** Waits until `ttlMs` has passed (the fake clock moves; Redis is polled to a deadline), then until `check` holds. */
  afterTtl(ttlMs: number, check: () => Promise<boolean>): Promise<void>;
}

const implementations: [string, () => Fixture][] = [
  [
    'memory',
    () => {
      let now = 1_700_000_000_000;
      return {
        actors: new MemoryActors({ now: () => now }),
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
      const prefix = `tactors${randomBytes(4).toString('hex')}`;
      prefixes.push(prefix);
      return {
        actors: new RedisActors(new Store(redis, prefix)),
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

const jdoe: Person = { email: 'jdoe@synapse.org', name: 'Jane Doe', username: 'jdoe', handles: [{ platform: 'slack', userId: 'UJDOE' }] };

describe.each(implementations)('actor cache (%s)', (_name, fixture) => {
  it('remembers the person behind a handle, per platform, and forgets unknown handles', async () => {
    const { actors } = fixture();
    expect(await actors.get({ platform: 'slack', userId: 'UJDOE' })).toBeUndefined();
    await actors.save({ platform: 'slack', userId: 'UJDOE' }, jdoe, 60_000);
    expect(await actors.get({ platform: 'slack', userId: 'UJDOE' })).toEqual(jdoe);
    // The same id on another platform is another account.
    expect(await actors.get({ platform: 'teams', userId: 'UJDOE' })).toBeUndefined();
  });

  it('replaces what it knew, and hands out copies', async () => {
    const { actors } = fixture();
    const handle = { platform: 'slack' as const, userId: 'UJDOE' };
    await actors.save(handle, jdoe, 60_000);
    await actors.save(handle, { ...jdoe, name: 'Jane Q. Doe' }, 60_000);
    const got = (await actors.get(handle))!;
    expect(got.name).toBe('Jane Q. Doe');
    got.email = 'mallory@evil.example';
    expect((await actors.get(handle))!.email).toBe('jdoe@synapse.org');
  });

  it('forgets a person once the TTL has passed', async () => {
    const f = fixture();
    const handle = { platform: 'teams' as const, userId: 'aad-1' };
    await f.actors.save(handle, jdoe, 150);
    expect(await f.actors.get(handle)).toEqual(jdoe);
    await f.afterTtl(150, async () => (await f.actors.get(handle)) === undefined);
  });
});
