// A Map whose entries expire by the injected clock, holding copies, as a Redis value with a TTL behaves for one process.
import type { Clock } from '../../core/ports.js';

export class ExpiringMap<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(private readonly clock: Clock) {}

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (this.clock.now() >= e.expiresAt) {
      this.entries.delete(key);
      return undefined;
    }
    return structuredClone(e.value);
  }

  set(key: string, value: V, ttlMs = Infinity): void {
    this.entries.set(key, { value: structuredClone(value), expiresAt: this.clock.now() + ttlMs });
  }
}
