// The confirmations contract: one test body run against the in-memory repository and the Redis one (real Redis, own prefix).
import { describe, expect, it } from 'vitest';
import { MemoryConfirmations } from '../../src/adapters/memory/confirmations.js';
import { confirmationKey, RedisConfirmations } from '../../src/adapters/redis/confirmations.js';
import type { ConfirmationsRepository } from '../../src/core/repositories/confirmations.js';
import type { Sealed } from '../../src/core/sealed.js';
import { backends, testRedis } from '../support/backends.js';

const MINUTE = 60_000;
const redis = testRedis();

const clock = { now: () => Date.now() };

const implementations = backends<[], { confirmations: ConfirmationsRepository; ttl: (id: string) => Promise<number | undefined> }>(
  () => {
    const confirmations = new MemoryConfirmations(clock);
    return { confirmations, ttl: async (id) => confirmations.confirmations.ttl(id) };
  },
  () => {
    const store = redis.store();
    return { confirmations: new RedisConfirmations(store), ttl: (id) => redis.ttl(confirmationKey(store, id)) };
  },
);

const SEALED: Sealed = { sealed: 's1.abcdefgh.Y29uZmlybQ' };
const STARTED = { terminate: true as const };

describe.each(implementations)('confirmations %s', (_name, make) => {
  it('keeps a sealed confirmation for a while', async () => {
    const { confirmations, ttl } = make();
    expect(await confirmations.get('c1')).toBeUndefined();
    await confirmations.save('c1', SEALED, 15 * MINUTE);
    expect(await confirmations.get('c1')).toEqual(SEALED);
    const left = (await ttl('c1'))!;
    expect(left).toBeGreaterThan(14 * MINUTE);
    expect(left).toBeLessThanOrEqual(15 * MINUTE);
  });

  it('is claimed by one click; the same click again still holds it; a refusal gives it back', async () => {
    const { confirmations } = make();
    await confirmations.save('c1', SEALED, 15 * MINUTE);
    expect(await confirmations.claim('c1', 'click-a', 15 * MINUTE)).toBe(true);
    expect(await confirmations.claim('c1', 'click-b', 15 * MINUTE)).toBe(false);
    expect(await confirmations.claim('c1', 'click-a', 15 * MINUTE)).toBe(true);
    await confirmations.release('c1');
    expect(await confirmations.claim('c1', 'click-b', 15 * MINUTE)).toBe(true);
    expect(await confirmations.claim('c1', 'click-a', 15 * MINUTE)).toBe(false);
  });

  it('ten clicks at once: one claims it', async () => {
    const { confirmations } = make();
    await confirmations.save('c1', SEALED, 15 * MINUTE);
    const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => confirmations.claim('c1', `click-${i}`, 15 * MINUTE)));
    expect(claims.filter(Boolean)).toHaveLength(1);
  });

  it('records what a click started; once used, the confirmation and its start are gone and its claim stays', async () => {
    const { confirmations } = make();
    await confirmations.save('c1', SEALED, 15 * MINUTE);
    expect(await confirmations.claim('c1', 'click-a', 15 * MINUTE)).toBe(true);
    expect(await confirmations.started('c1')).toBeUndefined();
    await confirmations.start('c1', STARTED, 15 * MINUTE);
    expect(await confirmations.started('c1')).toEqual(STARTED);
    await confirmations.remove('c1');
    expect(await confirmations.get('c1')).toBeUndefined();
    expect(await confirmations.started('c1')).toBeUndefined();
    // A click that read it just before it was used cannot claim it now.
    expect(await confirmations.claim('c1', 'click-b', 15 * MINUTE)).toBe(false);
  });
});

describe('confirmations in memory, by its clock', () => {
  it('expire with their claim', async () => {
    let t = Date.UTC(2026, 10, 23);
    const confirmations = new MemoryConfirmations({ now: () => t });
    await confirmations.save('c1', SEALED, 15 * MINUTE);
    await confirmations.claim('c1', 'click-a', 15 * MINUTE);
    t += 15 * MINUTE;
    expect(await confirmations.get('c1')).toBeUndefined();
    expect(await confirmations.claim('c1', 'click-b', 15 * MINUTE)).toBe(true);
  });
});
