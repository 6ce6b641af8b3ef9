// Products and their launch options change rarely; caching them in Redis keeps commands and forms fast on every replica.
import type { CoreDeps } from './context.js';
import type { LaunchOptions, Product } from './ports.js';

const PRODUCTS_TTL_MS = 5 * 60_000;
const OPTIONS_TTL_MS = 10 * 60_000;

async function cached<T>(deps: Pick<CoreDeps, 'store'>, key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
  const hit = await deps.store.getJson<T>(key);
  if (hit !== undefined) return hit;
  const value = await load();
  await deps.store.setJson(key, value, ttlMs);
  return value;
}

export function cachedProducts(deps: Pick<CoreDeps, 'store' | 'catalog'>): Promise<Product[]> {
  return cached(deps, deps.store.key('cache', 'products'), PRODUCTS_TTL_MS, () => deps.catalog.listProducts());
}

/** Without `pathId`, the options of the product's first launch path, which list every path. */
export function cachedLaunchOptions(deps: Pick<CoreDeps, 'store' | 'catalog'>, productId: string, versionId: string, pathId?: string): Promise<LaunchOptions> {
  return cached(deps, launchOptionsKey(deps, productId, versionId, pathId), OPTIONS_TTL_MS, () => deps.catalog.launchOptions(productId, versionId, pathId));
}

export function launchOptionsKey(deps: Pick<CoreDeps, 'store'>, productId: string, versionId: string, pathId?: string): string {
  return pathId ? deps.store.key('cache', 'launch-options', productId, versionId, pathId) : deps.store.key('cache', 'launch-options', productId, versionId);
}

export async function forgetCatalog(deps: Pick<CoreDeps, 'store'>): Promise<void> {
  await deps.store.del(deps.store.key('cache', 'products'));
}
