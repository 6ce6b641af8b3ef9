// Conversation references in Redis: one JSON key per person, channel and tenant, renewed by every activity received.
import {
  CONVERSATION_TTL_MS,
  conversationOfKey,
  type ConversationOf,
  type ConversationRef,
  type ConversationsRepository,
  type UnreachableMark,
} from '../../core/repositories/conversations.js';
import type { Store } from './store.js';

export const conversationKey = (store: Pick<Store, 'key'>, of: ConversationOf): string => store.key('conv', conversationOfKey(of));
const serviceUrlKey = (store: Pick<Store, 'key'>, tenantId: string) => store.key('conv', 'service-url', tenantId);
export const unreachableKey = (store: Pick<Store, 'key'>, person: string) => store.key('conv', 'unreachable', person);

/** Deletes the reference only while it is still the given conversation. KEYS: reference. ARGV: conversation id or ''. */
const DROP = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
if ARGV[1] ~= '' and cjson.decode(raw).conversationId ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`;

export class RedisConversations implements ConversationsRepository {
  constructor(
    private readonly store: Store,
    private readonly ttlMs = CONVERSATION_TTL_MS,
  ) {}

  async save(of: ConversationOf, ref: ConversationRef): Promise<void> {
    const multi = this.store.redis.multi().set(conversationKey(this.store, of), JSON.stringify(ref), 'PX', this.ttlMs);
    if ('person' in of) multi.del(unreachableKey(this.store, of.person));
    await multi.exec();
  }

  async get(of: ConversationOf): Promise<ConversationRef | undefined> {
    return this.store.getJson<ConversationRef>(conversationKey(this.store, of));
  }

  async drop(of: ConversationOf, conversationId?: string): Promise<boolean> {
    return (await this.store.script<number>(DROP, [conversationKey(this.store, of)], [conversationId ?? ''])) === 1;
  }

  async saveServiceUrl(tenantId: string, serviceUrl: string): Promise<void> {
    await this.store.redis.set(serviceUrlKey(this.store, tenantId), serviceUrl, 'PX', this.ttlMs);
  }

  async serviceUrl(tenantId: string): Promise<string | undefined> {
    return (await this.store.redis.get(serviceUrlKey(this.store, tenantId))) ?? undefined;
  }

  async markUnreachable(person: string, mark: UnreachableMark, ttlMs: number): Promise<void> {
    await this.store.setJson(unreachableKey(this.store, person), mark, ttlMs);
  }

  async unreachable(person: string): Promise<UnreachableMark | undefined> {
    return this.store.getJson<UnreachableMark>(unreachableKey(this.store, person));
  }
}
