// The catalog cache: products and their launch options as last read from Service Catalog, each kept for a while.
import type { LaunchOptions, Product } from '../ports.js';

/** One version's launch options, through one launch path or (no `pathId`) the first one. */
export interface LaunchOptionsId {
  productId: string;
  versionId: string;
  pathId?: string;
}

export interface CatalogCacheRepository {
  products(): Promise<Product[] | undefined>;
  saveProducts(products: Product[], ttlMs: number): Promise<void>;
  launchOptions(id: LaunchOptionsId): Promise<LaunchOptions | undefined>;
  saveLaunchOptions(id: LaunchOptionsId, options: LaunchOptions, ttlMs: number): Promise<void>;
}
