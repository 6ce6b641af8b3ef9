// A Map whose entries may expire, by an injected clock: in-memory state with the TTLs its Redis twin gives keys. It keeps
// a copy of what is set (the caller's object may change after), and hands out the entry itself, for a repository to update.
import type { Clock } from '../../core/ports.js';

export class ExpiringMap<V> {
  private readonly entries = new Map<string, { value: V; expiresAt?: number }>();

  constructor(private readonly clock: Clock) {}

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt !== undefined && e.expiresAt <= this.clock.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Without `ttlMs` the entry lasts until deleted. */
  set(key: string, value: V, ttlMs?: number): void {
    const copy = structuredClone(value);
    this.entries.set(key, ttlMs === undefined || ttlMs === Infinity ? { value: copy } : { value: copy, expiresAt: this.clock.now() + ttlMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Milliseconds left, like PTTL: undefined for an absent entry, Infinity for one with no expiry. */
  ttl(key: string): number | undefined {
    if (!this.has(key)) return undefined;
    const at = this.entries.get(key)!.expiresAt;
    return at === undefined ? Infinity : at - this.clock.now();
  }
}
