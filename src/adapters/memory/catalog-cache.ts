// The catalog cache in one process's memory, for core scenarios and the console.
import type { Clock, LaunchOptions, Product } from '../../core/ports.js';
import type { CatalogCacheRepository, LaunchOptionsId } from '../../core/repositories/catalog-cache.js';
import { ExpiringMap } from './expiring-map.js';

const optionsKey = (id: LaunchOptionsId) => JSON.stringify([id.productId, id.versionId, id.pathId ?? null]);

export class MemoryCatalogCache implements CatalogCacheRepository {
  private readonly list: ExpiringMap<Product[]>;
  private readonly options: ExpiringMap<LaunchOptions>;

  constructor(clock: Clock) {
    this.list = new ExpiringMap(clock);
    this.options = new ExpiringMap(clock);
  }

  async products(): Promise<Product[] | undefined> {
    const products = this.list.get('products');
    return products && structuredClone(products);
  }

  async saveProducts(products: Product[], ttlMs: number): Promise<void> {
    this.list.set('products', products, ttlMs);
  }

  async launchOptions(id: LaunchOptionsId): Promise<LaunchOptions | undefined> {
    const options = this.options.get(optionsKey(id));
    return options && structuredClone(options);
  }

  async saveLaunchOptions(id: LaunchOptionsId, options: LaunchOptions, ttlMs: number): Promise<void> {
    this.options.set(optionsKey(id), options, ttlMs);
  }
}
