// Sending within a platform's rate limits: sliding windows of the sends booked per key (a conversation, a tenant), shared by every replica.

/** At most `limit` sends in any `windowMs` (a sliding window, not fixed buckets). */
export interface RateWindow {
  limit: number;
  windowMs: number;
}

/** The windows one key's sends must keep, e.g. a Teams conversation's 7 per second and 60 per 30 seconds. */
export interface PaceLimit {
  key: string;
  windows: RateWindow[];
}

/** When a send was booked for (epoch ms), and how long from now that is. */
export interface SendSlot {
  atMs: number;
  waitMs: number;
}

export interface PacingRepository {
  /**
   * Books the earliest time, from now (or the end of a pause) on, at which one more send keeps every window of every
   * limit, counting every send already booked there, past and future; returns it and how long until then. A burst is
   * spread over its windows in one call per message: each waits once, until its own time, instead of polling. Booking
   * the same `member` again, while its send still counts in a window, returns the time it has.
   */
  book(limits: PaceLimit[], member: string): Promise<SendSlot>;
  /** Holds a key's sends for `ms` (a Retry-After): nothing is booked there before then. */
  pause(key: string, ms: number): Promise<void>;
}
