// Muted idle pings: a provisioned product's snooze and when it ends.
export interface SnoozesRepository {
  /** Mutes idle pings for the product until `untilMs` (epoch ms); a later snooze replaces an earlier one. */
  snooze(provisionedProductId: string, untilMs: number): Promise<void>;
  /** When the product's snooze ends, or undefined when it has none (or it has ended). */
  until(provisionedProductId: string): Promise<number | undefined>;
  clear(provisionedProductId: string): Promise<void>;
}
