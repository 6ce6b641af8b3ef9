// Send pacing in memory, and the sliding-window search its Redis twin's Lua script mirrors.
import type { Clock } from '../../core/ports.js';
import type { PaceLimit, PacingRepository, RateWindow, SendSlot } from '../../core/repositories/pacing.js';
import { ExpiringMap } from './expiring-map.js';

const count = (times: readonly number[], from: number, to: number): number => times.filter((s) => s > from && s <= to).length;

/** Whether one more send at `t` keeps `w` over `times`: the window ending at `t` and every one ending at a later send within `w`. */
function violation(unsorted: readonly number[], w: RateWindow, t: number): number | undefined {
  const times = [...unsorted].sort((a, b) => a - b);
  const inWindow = times.filter((s) => s > t - w.windowMs && s <= t);
  // Too many in the window ending at t: wait until enough of them have left it.
  if (inWindow.length >= w.limit) return inWindow[inWindow.length - w.limit]! + w.windowMs;
  // The earliest later send whose window is full already: the new one must come after it (a later one's may leave room).
  for (const x of times) {
    if (x > t && x < t + w.windowMs && count(times, x - w.windowMs, x) >= w.limit) return x + 1;
  }
  return undefined;
}

/**
 * The earliest time ≥ `start` at which one more send keeps every window of every limit, `times[i]` being the sends (any
 * order) booked for `limits[i]`. Each step moves the candidate to the first time the one window it breaks allows, then
 * every window is checked again, until none objects.
 */
export function earliestSlot(limits: readonly PaceLimit[], times: readonly (readonly number[])[], start: number): number {
  let t = start;
  search: for (;;) {
    for (const [i, limit] of limits.entries()) {
      for (const w of limit.windows) {
        const next = violation(times[i] ?? [], w, t);
        if (next !== undefined) {
          t = next;
          continue search;
        }
      }
    }
    return t;
  }
}

const longest = (limit: PaceLimit) => Math.max(0, ...limit.windows.map((w) => w.windowMs));

export class MemoryPacing implements PacingRepository {
  private readonly sends = new Map<string, Map<string, number>>();
  private readonly pauses: ExpiringMap<number>;

  constructor(private readonly clock: Clock) {
    this.pauses = new ExpiringMap(clock);
  }

  async book(limits: PaceLimit[], member: string): Promise<SendSlot> {
    const now = this.clock.now();
    const booked = limits.map((limit) => {
      const sends = this.sends.get(limit.key) ?? new Map<string, number>();
      this.sends.set(limit.key, sends);
      // A send no window reaches back to any more is forgotten.
      for (const [m, at] of sends) if (at <= now - longest(limit)) sends.delete(m);
      return sends;
    });
    const mine = booked[0]?.get(member);
    if (mine !== undefined) return { atMs: mine, waitMs: Math.max(0, mine - now) };
    const start = Math.max(now, ...limits.map((l) => this.pauses.get(l.key) ?? 0));
    const at = earliestSlot(limits, booked.map((s) => [...s.values()]), start);
    for (const sends of booked) sends.set(member, at);
    return { atMs: at, waitMs: at - now };
  }

  async pause(key: string, ms: number): Promise<void> {
    const until = this.clock.now() + ms;
    if (until > (this.pauses.get(key) ?? 0)) this.pauses.set(key, until, ms);
  }
}
