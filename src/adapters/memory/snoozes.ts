// Snoozes in memory, each expiring when it ends.
import type { Clock } from '../../core/ports.js';
import type { SnoozesRepository } from '../../core/repositories/snoozes.js';
import { ExpiringMap } from './expiring-map.js';

export class MemorySnoozes implements SnoozesRepository {
  readonly entries: ExpiringMap<number>;

  constructor(private readonly clock: Clock) {
    this.entries = new ExpiringMap(clock);
  }

  async snooze(ppId: string, untilMs: number): Promise<void> {
    this.entries.set(ppId, untilMs, Math.max(1, untilMs - this.clock.now()));
  }

  async until(ppId: string): Promise<number | undefined> {
    return this.entries.get(ppId);
  }

  async clear(ppId: string): Promise<void> {
    this.entries.delete(ppId);
  }

  /** Read inside the alert step, which must not yield. */
  isSnoozed(ppId: string): boolean {
    return this.entries.has(ppId);
  }
}
