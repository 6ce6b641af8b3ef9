// Products and their launch options change rarely; caching them (shared by every replica) keeps commands and forms fast.
import type { CoreDeps } from './context.js';
import type { LaunchOptions, Product } from './ports.js';

const PRODUCTS_TTL_MS = 5 * 60_000;
const OPTIONS_TTL_MS = 10 * 60_000;

export async function cachedProducts(deps: Pick<CoreDeps, 'catalogCache' | 'catalog'>): Promise<Product[]> {
  const hit = await deps.catalogCache.products();
  if (hit !== undefined) return hit;
  const products = await deps.catalog.listProducts();
  await deps.catalogCache.saveProducts(products, PRODUCTS_TTL_MS);
  return products;
}

/** Without `pathId`, the options of the product's first launch path, which list every path. */
export async function cachedLaunchOptions(deps: Pick<CoreDeps, 'catalogCache' | 'catalog'>, productId: string, versionId: string, pathId?: string): Promise<LaunchOptions> {
  const id = { productId, versionId, pathId };
  const hit = await deps.catalogCache.launchOptions(id);
  if (hit !== undefined) return hit;
  const options = await deps.catalog.launchOptions(productId, versionId, pathId);
  await deps.catalogCache.saveLaunchOptions(id, options, OPTIONS_TTL_MS);
  return options;
}
