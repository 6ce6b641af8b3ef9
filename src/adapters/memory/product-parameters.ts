// Product parameters in memory, expiring by the clock.
import type { Clock } from '../../core/ports.js';
import type { Parameters, ProductParametersRepository } from '../../core/repositories/product-parameters.js';
import { ExpiringMap } from './expiring-map.js';

export class MemoryProductParameters implements ProductParametersRepository {
  readonly records: ExpiringMap<Parameters>;
  readonly products: ExpiringMap<Parameters>;

  constructor(clock: Clock) {
    this.records = new ExpiringMap(clock);
    this.products = new ExpiringMap(clock);
  }

  async saveRecord(recordId: string, parameters: Parameters, ttlMs: number): Promise<void> {
    this.records.set(recordId, { ...parameters }, ttlMs);
  }

  async ofRecord(recordId: string): Promise<Parameters | undefined> {
    const p = this.records.get(recordId);
    return p && { ...p };
  }

  async saveProduct(ppId: string, parameters: Parameters, ttlMs: number): Promise<void> {
    this.products.set(ppId, { ...parameters }, ttlMs);
  }

  async ofProduct(ppId: string): Promise<Parameters | undefined> {
    const p = this.products.get(ppId);
    return p && { ...p };
  }

  async forgetProduct(ppId: string): Promise<void> {
    this.products.delete(ppId);
  }
}
