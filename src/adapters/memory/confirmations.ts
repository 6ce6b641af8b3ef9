// Confirmations in memory: the confirmation, its claim and what the claiming click started, each expiring by the clock.
import type { Clock } from '../../core/ports.js';
import type { Confirmation, ConfirmationStart, ConfirmationsRepository } from '../../core/repositories/confirmations.js';
import type { Sealed } from '../../core/sealed.js';
import { ExpiringMap } from './expiring-map.js';

export class MemoryConfirmations implements ConfirmationsRepository {
  readonly confirmations: ExpiringMap<Confirmation | Sealed>;
  readonly claims: ExpiringMap<string>;
  private readonly starts: ExpiringMap<ConfirmationStart>;

  constructor(clock: Clock) {
    this.confirmations = new ExpiringMap(clock);
    this.claims = new ExpiringMap(clock);
    this.starts = new ExpiringMap(clock);
  }

  async save(id: string, confirmation: Sealed, ttlMs: number): Promise<void> {
    this.confirmations.set(id, structuredClone(confirmation), ttlMs);
  }

  async get(id: string): Promise<Confirmation | Sealed | undefined> {
    const c = this.confirmations.get(id);
    return c && structuredClone(c);
  }

  async claim(id: string, claimant: string, ttlMs: number): Promise<boolean> {
    const holder = this.claims.get(id);
    if (holder !== undefined) return holder === claimant;
    this.claims.set(id, claimant, ttlMs);
    return true;
  }

  async release(id: string): Promise<void> {
    this.claims.delete(id);
  }

  async start(id: string, started: ConfirmationStart, ttlMs: number): Promise<void> {
    this.starts.set(id, structuredClone(started), ttlMs);
  }

  async started(id: string): Promise<ConfirmationStart | undefined> {
    const s = this.starts.get(id);
    return s && structuredClone(s);
  }

  async remove(id: string): Promise<void> {
    this.confirmations.delete(id);
    this.starts.delete(id);
  }
}
