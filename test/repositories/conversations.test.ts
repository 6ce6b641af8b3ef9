// The conversation references contract: one test body run against the in-memory repository and the Redis one (real Redis, own prefix).
import { describe, expect, it } from 'vitest';
import { MemoryConversations } from '../../src/adapters/memory/conversations.js';
import { conversationKey, RedisConversations, unreachableKey } from '../../src/adapters/redis/conversations.js';
import type { Clock } from '../../src/core/ports.js';
import { teamsHandle, type ConversationOf, type ConversationRef, type ConversationsRepository } from '../../src/core/repositories/conversations.js';
import { testRedis } from '../support/backends.js';

const DAY = 24 * 3600_000;
const redis = testRedis();

const clock: Clock = { now: () => Date.now() };

type Made = {
  conversations: ConversationsRepository;
  ttl: (of: ConversationOf) => Promise<number | undefined>;
  markTtl: (person: string) => Promise<number | undefined>;
};

const implementations: [string, (ttlMs?: number) => Made][] = [
  [
    'in memory',
    (ttlMs) => {
      const conversations = new MemoryConversations(clock, ttlMs);
      const key = (of: ConversationOf) => ('person' in of ? `person:${of.person}` : 'channel' in of ? `channel:${of.channel}` : `seen:${of.seen}`);
      return {
        conversations,
        ttl: async (of) => conversations.refs.ttl(key(of)),
        markTtl: async (person) => conversations.marks.ttl(person),
      };
    },
  ],
  [
    'in Redis',
    (ttlMs) => {
      const store = redis.store();
      return {
        conversations: new RedisConversations(store, ttlMs),
        ttl: (of) => redis.ttl(conversationKey(store, of)),
        markTtl: (person) => redis.ttl(unreachableKey(store, person)),
      };
    },
  ],
];

const personal = (id: string, extra: Partial<ConversationRef> = {}): ConversationRef => ({
  serviceUrl: 'https://smba.example.test/amer/',
  conversationId: id,
  conversationType: 'personal',
  tenantId: 'tenant-1',
  botId: '28:app',
  userId: '29:1abc',
  aadObjectId: 'aad-1',
  learnedAt: 1_700_000_000_000,
  ...extra,
});

describe.each(implementations)('conversation references %s', (_name, make) => {
  it('stores, reads and replaces a person’s and a channel’s reference, each under its own key', async () => {
    const { conversations } = make();
    const alice = { person: teamsHandle('AAD-1') };
    expect(alice.person).toBe('teams:aad-1');
    expect(await conversations.get(alice)).toBeUndefined();
    await conversations.save(alice, personal('a:1one'));
    await conversations.save({ channel: '19:c@thread.tacv2' }, personal('19:c@thread.tacv2', { conversationType: 'channel', teamId: '19:t@thread.tacv2' }));
    expect(await conversations.get(alice)).toEqual(personal('a:1one'));
    expect((await conversations.get({ channel: '19:c@thread.tacv2' }))!.teamId).toBe('19:t@thread.tacv2');
    // A person's 1:1 chat and where they were last seen are different keys.
    expect(await conversations.get({ seen: alice.person })).toBeUndefined();
    await conversations.save(alice, personal('a:1two'));
    expect((await conversations.get(alice))!.conversationId).toBe('a:1two');
  });

  it('drops a reference only while it is still the conversation that failed', async () => {
    const { conversations } = make();
    const bob = { person: teamsHandle('aad-2') };
    await conversations.save(bob, personal('a:1new'));
    expect(await conversations.drop(bob, 'a:1old')).toBe(false);
    expect((await conversations.get(bob))!.conversationId).toBe('a:1new');
    expect(await conversations.drop(bob, 'a:1new')).toBe(true);
    expect(await conversations.get(bob)).toBeUndefined();
    expect(await conversations.drop(bob)).toBe(false);
    await conversations.save(bob, personal('a:1again'));
    expect(await conversations.drop(bob)).toBe(true);
  });

  it('keeps references for their TTL, renewed when stored again', async () => {
    const { conversations, ttl } = make(30 * DAY);
    const of = { channel: '19:x@thread.tacv2' };
    await conversations.save(of, personal('19:x@thread.tacv2'));
    const left = (await ttl(of))!;
    expect(left).toBeGreaterThan(30 * DAY - 60_000);
    expect(left).toBeLessThanOrEqual(30 * DAY);
  });

  it('learns each tenant’s service URL, the latest winning', async () => {
    const { conversations } = make();
    expect(await conversations.serviceUrl('tenant-1')).toBeUndefined();
    await conversations.saveServiceUrl('tenant-1', 'https://smba.example.test/amer/');
    await conversations.saveServiceUrl('tenant-2', 'https://smba.example.test/emea/');
    await conversations.saveServiceUrl('tenant-1', 'https://smba.example.test/apac/');
    expect(await conversations.serviceUrl('tenant-1')).toBe('https://smba.example.test/apac/');
    expect(await conversations.serviceUrl('tenant-2')).toBe('https://smba.example.test/emea/');
  });

  it('remembers an unreachable person for a while; a new reference of theirs clears it', async () => {
    const { conversations, markTtl } = make();
    const carol = teamsHandle('aad-3');
    expect(await conversations.unreachable(carol)).toBeUndefined();
    await conversations.markUnreachable(carol, { reason: 'BotNotInConversationRoster', at: 5 }, DAY);
    expect(await conversations.unreachable(carol)).toEqual({ reason: 'BotNotInConversationRoster', at: 5 });
    const left = (await markTtl(carol))!;
    expect(left).toBeGreaterThan(DAY - 60_000);
    expect(left).toBeLessThanOrEqual(DAY);
    // Where they were seen is not their 1:1 chat: the mark stays.
    await conversations.save({ seen: carol }, personal('19:c@thread.tacv2', { conversationType: 'channel' }));
    expect(await conversations.unreachable(carol)).toBeDefined();
    await conversations.save({ person: carol }, personal('a:1carol'));
    expect(await conversations.unreachable(carol)).toBeUndefined();
  });
});

describe('conversation references in memory, by its clock', () => {
  it('expire when the clock passes their TTL', async () => {
    let now = Date.UTC(2026, 10, 23);
    const conversations = new MemoryConversations({ now: () => now }, DAY);
    await conversations.save({ person: 'teams:x' }, personal('a:1x'));
    await conversations.markUnreachable('teams:y', { reason: 'ConversationBlockedByUser', at: now }, DAY / 2);
    now += DAY / 2;
    expect(await conversations.unreachable('teams:y')).toBeUndefined();
    expect(await conversations.get({ person: 'teams:x' })).toBeDefined();
    now += DAY / 2;
    expect(await conversations.get({ person: 'teams:x' })).toBeUndefined();
  });
});
