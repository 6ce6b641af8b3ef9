// Conversation references in memory, each expiring like its Redis twin.
import type { Clock } from '../../core/ports.js';
import {
  CONVERSATION_TTL_MS,
  conversationOfKey,
  type ConversationOf,
  type ConversationRef,
  type ConversationsRepository,
  type UnreachableMark,
} from '../../core/repositories/conversations.js';
import { ExpiringMap } from './expiring-map.js';

export class MemoryConversations implements ConversationsRepository {
  readonly refs: ExpiringMap<ConversationRef>;
  private readonly serviceUrls: ExpiringMap<string>;
  readonly marks: ExpiringMap<UnreachableMark>;

  constructor(
    clock: Clock,
    private readonly ttlMs = CONVERSATION_TTL_MS,
  ) {
    this.refs = new ExpiringMap(clock);
    this.serviceUrls = new ExpiringMap(clock);
    this.marks = new ExpiringMap(clock);
  }

  async save(of: ConversationOf, ref: ConversationRef): Promise<void> {
    this.refs.set(conversationOfKey(of), { ...ref }, this.ttlMs);
    if ('person' in of) this.marks.delete(of.person);
  }

  async get(of: ConversationOf): Promise<ConversationRef | undefined> {
    const ref = this.refs.get(conversationOfKey(of));
    return ref && { ...ref };
  }

  async drop(of: ConversationOf, conversationId?: string): Promise<boolean> {
    const ref = this.refs.get(conversationOfKey(of));
    if (!ref || (conversationId !== undefined && ref.conversationId !== conversationId)) return false;
    this.refs.delete(conversationOfKey(of));
    return true;
  }

  async saveServiceUrl(tenantId: string, serviceUrl: string): Promise<void> {
    this.serviceUrls.set(tenantId, serviceUrl, this.ttlMs);
  }

  async serviceUrl(tenantId: string): Promise<string | undefined> {
    return this.serviceUrls.get(tenantId);
  }

  async markUnreachable(person: string, mark: UnreachableMark, ttlMs: number): Promise<void> {
    this.marks.set(person, { ...mark }, ttlMs);
  }

  async unreachable(person: string): Promise<UnreachableMark | undefined> {
    return this.marks.get(person);
  }
}
