// Journaled AWS mutations in memory (the core on its in-memory repositories, and its tests).
import type { MutationsRepository, PendingMutation } from '../../core/repositories/mutations.js';
import type { Sealed } from '../../core/sealed.js';

export class MemoryMutations implements MutationsRepository {
  readonly entries = new Map<string, PendingMutation>();

  async begin(id: string, sealed: Sealed, at: number): Promise<void> {
    if (!this.entries.has(id)) this.entries.set(id, { id, sealed: structuredClone(sealed), startedAt: at });
  }

  async recorded(id: string, recordId: string, provisionedProductId?: string): Promise<void> {
    const m = this.entries.get(id);
    if (m) this.entries.set(id, { ...m, recordId, ...(provisionedProductId ? { provisionedProductId } : {}) });
  }

  async settle(id: string): Promise<void> {
    this.entries.delete(id);
  }

  async pending(): Promise<PendingMutation[]> {
    return [...this.entries.values()].map((m) => structuredClone(m));
  }
}
