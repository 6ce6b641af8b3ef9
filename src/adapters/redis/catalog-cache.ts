// The catalog cache in Redis: every replica reads what one of them fetched from Service Catalog, until it expires.
import type { LaunchOptions, Product } from '../../core/ports.js';
import type { CatalogCacheRepository, LaunchOptionsId } from '../../core/repositories/catalog-cache.js';
import type { Store } from './store.js';

export class RedisCatalogCache implements CatalogCacheRepository {
  constructor(private readonly store: Store) {}

  private launchOptionsKey(id: LaunchOptionsId): string {
    const parts = ['cache', 'launch-options', id.productId, id.versionId];
    return this.store.key(...(id.pathId ? [...parts, id.pathId] : parts));
  }

  products(): Promise<Product[] | undefined> {
    return this.store.getJson<Product[]>(this.store.key('cache', 'products'));
  }

  saveProducts(products: Product[], ttlMs: number): Promise<void> {
    return this.store.setJson(this.store.key('cache', 'products'), products, ttlMs);
  }

  launchOptions(id: LaunchOptionsId): Promise<LaunchOptions | undefined> {
    return this.store.getJson<LaunchOptions>(this.launchOptionsKey(id));
  }

  saveLaunchOptions(id: LaunchOptionsId, options: LaunchOptions, ttlMs: number): Promise<void> {
    return this.store.setJson(this.launchOptionsKey(id), options, ttlMs);
  }
}
