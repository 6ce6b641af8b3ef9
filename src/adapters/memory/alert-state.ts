// Alert state in memory, with the semantics of the Redis step (adapters/redis/alert-state.ts): each step runs without
// yielding, so it is atomic, and TTLs follow the injected clock.
import type { Clock } from '../../core/ports.js';
import type { AlarmStateChange, AlertStateRepository, AppliedAlarm, AlertState, AlertStep, Owner, WatchedProduct } from '../../core/repositories/alert-state.js';
import { ExpiringMap } from './expiring-map.js';
import type { MemorySnoozes } from './snoozes.js';

export interface MemoryAlertStateOptions {
  clock: Clock;
  /** Read in the alert step: a snoozed product's idle pings are muted. */
  snoozes: MemorySnoozes;
  /** Marks a new message as on its way to the outbox, in the step that creates it. */
  announce?: (messageKey: string, ttlMs: number) => void;
}

const copy = <T>(v: T | undefined): T | undefined => (v === undefined ? undefined : structuredClone(v));

export class MemoryAlertState implements AlertStateRepository {
  readonly alerts: ExpiringMap<AlertState>;
  readonly applied: ExpiringMap<{ step: AlertStep; state?: AlertState }>;
  private readonly owners = new Map<string, Owner>();
  private readonly known = new Set<string>();
  private readonly products = new Map<string, WatchedProduct>();
  private readonly instances = new Map<string, string>();

  constructor(private readonly o: MemoryAlertStateOptions) {
    this.alerts = new ExpiringMap(o.clock);
    this.applied = new ExpiringMap(o.clock);
  }

  async applyAlarm(c: AlarmStateChange): Promise<AppliedAlarm> {
    const owner = copy(this.owners.get(c.topicArn));
    const watched = c.provisionedProductId ? copy(this.products.get(c.provisionedProductId)) : undefined;
    const replay = this.applied.get(c.messageId);
    if (replay) return { ...copy(replay)!, owner, watched };
    const w = c.windows;
    let st = copy(this.alerts.get(c.resource));
    const snoozed = c.snoozable && c.provisionedProductId !== undefined && this.o.snoozes.isSnoozed(c.provisionedProductId);
    const current = st !== undefined && (st.open || st.nodata || c.now < st.firstAtMs + w.coalesceMs);
    const fresh = (count: number, open: boolean, nodata: boolean): AlertState => {
      // Announced before any repeat can see it: a repeat's edit waits for this message instead of posting anew.
      this.o.announce?.(c.messageKey, w.announceTtlMs);
      return { key: c.messageKey, count, firstAt: c.changedAt, firstAtMs: c.now, open, nodata, seq: 1 };
    };
    let step: AlertStep;
    if (!owner && !watched) {
      step = 'ignored';
    } else if (c.state === 'ALARM') {
      if (snoozed) {
        step = 'snoozed';
      } else if (current && st) {
        st = { ...st, count: st.count + 1, open: true, nodata: false, seq: st.seq + 1 };
        step = 'coalesced';
      } else {
        st = fresh(1, true, false);
        step = 'posted';
      }
      if (step !== 'snoozed') this.alerts.set(c.resource, copy(st)!, w.openTtlMs);
    } else if (c.state === 'INSUFFICIENT_DATA') {
      if (snoozed) {
        step = 'snoozed';
      } else if (st?.nodata) {
        step = 'ignored';
      } else {
        st = current && st ? { ...st, nodata: true, seq: st.seq + 1 } : fresh(0, false, true);
        step = 'nodata';
        this.alerts.set(c.resource, copy(st)!, w.openTtlMs);
      }
    } else if (c.state === 'OK' && st && (st.open || st.nodata)) {
      st = { ...st, open: false, nodata: false, seq: st.seq + 1 };
      step = 'recovered';
      const left = st.firstAtMs + w.coalesceMs - c.now;
      if (left > 0) this.alerts.set(c.resource, copy(st)!, left);
      else this.alerts.delete(c.resource);
    } else {
      step = 'ignored';
    }
    const out = { step, ...(st ? { state: st } : {}) };
    this.applied.set(c.messageId, copy(out)!, w.appliedTtlMs);
    return { ...out, owner, watched };
  }

  async recordTopic(topicArn: string, owner: Owner): Promise<void> {
    this.owners.set(topicArn, copy(owner)!);
    this.known.add(topicArn);
  }

  async topicOwner(topicArn: string): Promise<Owner | undefined> {
    return copy(this.owners.get(topicArn));
  }

  async isKnownTopic(topicArn: string): Promise<boolean> {
    return this.known.has(topicArn);
  }

  async watch(product: WatchedProduct): Promise<WatchedProduct | undefined> {
    const before = this.products.get(product.provisionedProductId);
    this.products.set(product.provisionedProductId, copy(product)!);
    if (product.instanceId) this.instances.set(product.instanceId, product.provisionedProductId);
    if (before?.instanceId && before.instanceId !== product.instanceId) this.instances.delete(before.instanceId);
    return before;
  }

  async watched(ppId: string): Promise<WatchedProduct | undefined> {
    return copy(this.products.get(ppId));
  }

  async unwatch(ppId: string): Promise<WatchedProduct | undefined> {
    const before = this.products.get(ppId);
    this.products.delete(ppId);
    if (before?.instanceId) this.instances.delete(before.instanceId);
    return before;
  }

  async productOfInstance(instanceId: string): Promise<string | undefined> {
    return this.instances.get(instanceId);
  }
}
