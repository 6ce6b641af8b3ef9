// Snoozes in Redis: one key per provisioned product holding when its snooze ends, expiring then.
import type { Clock } from '../../core/ports.js';
import type { SnoozesRepository } from '../../core/repositories/snoozes.js';
import type { Store } from './store.js';

/** Also read by the alert step (alert-state.ts), which mutes an idle ping in the same step that applies it. */
export const snoozeKey = (store: Pick<Store, 'key'>, ppId: string) => store.key('snooze', ppId);

export class RedisSnoozes implements SnoozesRepository {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async snooze(ppId: string, untilMs: number): Promise<void> {
    await this.store.redis.set(snoozeKey(this.store, ppId), String(untilMs), 'PX', Math.max(1, untilMs - this.clock.now()));
  }

  async until(ppId: string): Promise<number | undefined> {
    const raw = await this.store.redis.get(snoozeKey(this.store, ppId));
    return raw === null ? undefined : Number(raw);
  }

  async clear(ppId: string): Promise<void> {
    await this.store.del(snoozeKey(this.store, ppId));
  }
}
