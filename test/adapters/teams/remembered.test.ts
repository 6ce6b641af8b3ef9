// A replica writes a conversation reference again only when it changed or a minute has passed; a refusal is never masked.
import { describe, expect, it } from 'vitest';
import { MemoryConversations } from '../../../src/adapters/memory/conversations.js';
import { RememberedConversations } from '../../../src/adapters/teams/remembered.js';
import type { ConversationRef } from '../../../src/core/repositories/conversations.js';

const ref = (id: string, learnedAt: number): ConversationRef => ({ serviceUrl: 'https://smba.example/', conversationId: id, conversationType: 'personal', learnedAt });

function counted() {
  const inner = new MemoryConversations({ now: () => 0 });
  const writes: string[] = [];
  const save = inner.save.bind(inner);
  inner.save = async (of, r) => {
    writes.push(r.conversationId);
    await save(of, r);
  };
  return { inner, writes };
}

describe('RememberedConversations', () => {
  it('skips an unchanged reference within the minute, writes a changed or stale one', async () => {
    let now = 0;
    const { inner, writes } = counted();
    const repo = new RememberedConversations(inner, () => now);
    await repo.save({ person: 'teams:a' }, ref('a:1', 1));
    await repo.save({ person: 'teams:a' }, ref('a:1', 2));
    expect(writes).toEqual(['a:1']);
    await repo.save({ person: 'teams:a' }, ref('a:2', 3));
    now = 61_000;
    await repo.save({ person: 'teams:a' }, ref('a:2', 4));
    expect(writes).toEqual(['a:1', 'a:2', 'a:2']);
  });

  it('writes again after a drop or an unreachable mark, so the next message clears the mark', async () => {
    const { inner, writes } = counted();
    const repo = new RememberedConversations(inner, () => 0);
    await repo.save({ person: 'teams:b' }, ref('a:b', 1));
    await repo.markUnreachable('teams:b', { reason: 'BotNotInConversationRoster', at: 0 }, 60_000);
    expect(await repo.unreachable('teams:b')).toBeDefined();
    await repo.save({ person: 'teams:b' }, ref('a:b', 2));
    expect(await repo.unreachable('teams:b')).toBeUndefined();
    await repo.drop({ person: 'teams:b' });
    await repo.save({ person: 'teams:b' }, ref('a:b', 3));
    expect(writes).toEqual(['a:b', 'a:b', 'a:b']);
  });
});
