// The inventory in process memory, for core tests and one-process tools: the same contract as the Redis one.
import type { Inventory, ReplaceOutcome } from '../../core/inventory.js';
import { ownerOf } from '../../core/ownership.js';
import { systemClock, type Clock, type ProvisionedProduct } from '../../core/ports.js';

export class MemoryInventory implements Inventory {
  private readonly products = new Map<string, ProvisionedProduct>();
  /** The write sequence number of the bot's last write to each id, removals included. */
  private readonly touched = new Map<string, number>();
  private seq = 0;
  private lease?: { mark: number; until: number };
  private synced?: { mark: number; at: number };

  constructor(private readonly clock: Clock = systemClock) {}

  async byId(id: string): Promise<ProvisionedProduct | undefined> {
    const p = this.products.get(id);
    return p && structuredClone(p);
  }

  async byOwner(email: string): Promise<ProvisionedProduct[]> {
    const owner = email.toLowerCase();
    return [...this.products.values()].filter((p) => ownerOf(p) === owner).map((p) => structuredClone(p));
  }

  async byName(name: string): Promise<ProvisionedProduct[]> {
    const wanted = name.toLowerCase();
    return [...this.products.values()].filter((p) => p.name.toLowerCase() === wanted).map((p) => structuredClone(p));
  }

  async upsert(p: ProvisionedProduct): Promise<void> {
    this.products.set(p.id, structuredClone(p));
    this.touched.set(p.id, ++this.seq);
  }

  async remove(id: string): Promise<void> {
    this.products.delete(id);
    this.touched.set(id, ++this.seq);
  }

  async beginSnapshot(leaseMs: number): Promise<number | undefined> {
    if (this.lease && this.lease.until > this.clock.now()) return undefined;
    const mark = ++this.seq;
    this.lease = { mark, until: this.clock.now() + leaseMs };
    return mark;
  }

  async holdSnapshot(mark: number, leaseMs: number): Promise<boolean> {
    if (this.lease?.mark !== mark || this.lease.until <= this.clock.now()) return false;
    this.lease.until = this.clock.now() + leaseMs;
    return true;
  }

  async abandonSnapshot(mark: number): Promise<void> {
    if (this.lease?.mark === mark) this.lease = undefined;
  }

  async replaceAll(snapshot: ProvisionedProduct[], mark: number, at: number): Promise<ReplaceOutcome> {
    const outcome: ReplaceOutcome = { applied: false, added: 0, updated: 0, removed: 0, kept: 0, total: 0 };
    await this.abandonSnapshot(mark);
    if (this.synced && this.synced.mark > mark) return { ...outcome, total: this.products.size };
    const newer = (id: string) => (this.touched.get(id) ?? 0) > mark;
    const seen = new Set<string>();
    for (const p of snapshot) {
      seen.add(p.id);
      if (newer(p.id)) {
        outcome.kept++;
        continue;
      }
      const current = this.products.get(p.id);
      if (!current) outcome.added++;
      else if (JSON.stringify(current) !== JSON.stringify(p)) outcome.updated++;
      else continue;
      this.products.set(p.id, structuredClone(p));
    }
    for (const id of [...this.products.keys()]) {
      if (seen.has(id)) continue;
      if (newer(id)) outcome.kept++;
      else {
        this.products.delete(id);
        outcome.removed++;
      }
    }
    for (const [id, seq] of this.touched) if (seq <= mark) this.touched.delete(id);
    this.synced = { mark, at };
    return { ...outcome, applied: true, total: this.products.size };
  }

  async syncedAt(): Promise<number | undefined> {
    return this.synced?.at;
  }
}
