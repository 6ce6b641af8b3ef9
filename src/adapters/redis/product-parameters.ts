// Product parameters in Redis: one JSON value per record and per provisioned product, expiring.
import type { Parameters, ProductParametersRepository } from '../../core/repositories/product-parameters.js';
import type { Store } from './store.js';

export const recordParametersKey = (store: Pick<Store, 'key'>, recordId: string) => store.key('record-parameters', recordId);
export const productParametersKey = (store: Pick<Store, 'key'>, ppId: string) => store.key('product-parameters', ppId);

export class RedisProductParameters implements ProductParametersRepository {
  constructor(private readonly store: Store) {}

  async saveRecord(recordId: string, parameters: Parameters, ttlMs: number): Promise<void> {
    await this.store.setJson(recordParametersKey(this.store, recordId), parameters, ttlMs);
  }

  async ofRecord(recordId: string): Promise<Parameters | undefined> {
    return this.store.getJson<Parameters>(recordParametersKey(this.store, recordId));
  }

  async saveProduct(ppId: string, parameters: Parameters, ttlMs: number): Promise<void> {
    await this.store.setJson(productParametersKey(this.store, ppId), parameters, ttlMs);
  }

  async ofProduct(ppId: string): Promise<Parameters | undefined> {
    return this.store.getJson<Parameters>(productParametersKey(this.store, ppId));
  }

  async forgetProduct(ppId: string): Promise<void> {
    await this.store.del(productParametersKey(this.store, ppId));
  }
}
