// The conversations repository as every inbound turn writes to it: a reference this process stored a moment ago, unchanged,
// is not written again, so a busy conversation costs Redis one write a minute rather than several per message.
import { conversationOfKey, type ConversationOf, type ConversationRef, type ConversationsRepository, type UnreachableMark } from '../../core/repositories/conversations.js';

/** How long an unchanged reference (or connector URL) goes unwritten; far below its 90-day expiry. */
const FRESH_MS = 60_000;
const MAX_ENTRIES = 50_000;

/** A reference without the moment it was learned: what decides whether it changed. */
const sameAs = (ref: ConversationRef): string => JSON.stringify({ ...ref, learnedAt: 0 });

export class RememberedConversations implements ConversationsRepository {
  private readonly written = new Map<string, { value: string; at: number }>();

  constructor(
    private readonly inner: ConversationsRepository,
    private readonly now: () => number = Date.now,
  ) {}

  private fresh(key: string, value: string): boolean {
    const w = this.written.get(key);
    return w !== undefined && w.value === value && this.now() - w.at < FRESH_MS;
  }

  private note(key: string, value: string): void {
    if (this.written.size >= MAX_ENTRIES) this.written.clear();
    this.written.set(key, { value, at: this.now() });
  }

  async save(of: ConversationOf, ref: ConversationRef): Promise<void> {
    const key = conversationOfKey(of);
    const value = sameAs(ref);
    if (this.fresh(key, value)) return;
    await this.inner.save(of, ref);
    this.note(key, value);
  }

  get(of: ConversationOf): Promise<ConversationRef | undefined> {
    return this.inner.get(of);
  }

  async drop(of: ConversationOf, conversationId?: string): Promise<boolean> {
    this.written.delete(conversationOfKey(of));
    return this.inner.drop(of, conversationId);
  }

  async saveServiceUrl(tenantId: string, serviceUrl: string): Promise<void> {
    const key = `u:${tenantId}`;
    if (this.fresh(key, serviceUrl)) return;
    await this.inner.saveServiceUrl(tenantId, serviceUrl);
    this.note(key, serviceUrl);
  }

  serviceUrl(tenantId: string): Promise<string | undefined> {
    return this.inner.serviceUrl(tenantId);
  }

  async markUnreachable(person: string, mark: UnreachableMark, ttlMs: number): Promise<void> {
    // Saving the person's chat again is what clears the mark: the next one must reach Redis.
    this.written.delete(conversationOfKey({ person }));
    await this.inner.markUnreachable(person, mark, ttlMs);
  }

  unreachable(person: string): Promise<UnreachableMark | undefined> {
    return this.inner.unreachable(person);
  }
}
