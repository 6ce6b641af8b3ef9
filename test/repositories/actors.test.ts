// The actor cache's contract, one test body run against the in-memory and the Redis implementation.
import { describe, expect, it } from 'vitest';
import { MemoryActors } from '../../src/adapters/memory/actors.js';
import { RedisActors } from '../../src/adapters/redis/actors.js';
import type { Person } from '../../src/core/context.js';
import type { ActorRepository } from '../../src/core/repositories/actors.js';
import { type AfterTtl, backends, fakeClockExpiry, realTimeExpiry, testRedis } from '../support/backends.js';

const redis = testRedis();

interface Fixture {
  actors: ActorRepository;
  afterTtl: AfterTtl;
}

const implementations = backends<[], Fixture>(
  () => {
    const { clock, afterTtl } = fakeClockExpiry();
    return { actors: new MemoryActors(clock), afterTtl };
  },
  () => ({ actors: new RedisActors(redis.store()), afterTtl: realTimeExpiry }),
);

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
