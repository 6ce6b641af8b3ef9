// What each provisioned product runs with, as far as scicomp set it: the parameters of each record it started, and of
// the last one that succeeded. Service Catalog does not say; NoEcho values are never kept, so they stay unknown.
import type { CoreDeps, WatchRequest } from './context.js';
import type { ProductRecord, ProvisionedProduct } from './ports.js';

/** Long enough for the record's watcher to settle it, and to be read while it is the product's last successful one. */
const RECORD_TTL_MS = 30 * 86400_000;
/** Products live long; terminating one forgets it. */
const PRODUCT_TTL_MS = 2 * 365 * 86400_000;

const recordKey = (deps: Pick<CoreDeps, 'store'>, recordId: string) => deps.store.key('record-parameters', recordId);
const productKey = (deps: Pick<CoreDeps, 'store'>, ppId: string) => deps.store.key('product-parameters', ppId);

/** The full parameter set a record started by scicomp applies (provision: every parameter; update: current and changes). */
export async function rememberRecordParameters(deps: Pick<CoreDeps, 'store'>, recordId: string, parameters: Record<string, string>, secretKeys: readonly string[] = []): Promise<void> {
  const kept = Object.fromEntries(Object.entries(parameters).filter(([k]) => !secretKeys.includes(k)));
  await deps.store.setJson(recordKey(deps, recordId), kept, RECORD_TTL_MS);
}

/** A settled record: one that succeeded is what the product now runs with; a terminated product is forgotten. */
export async function rememberSettledParameters(w: WatchRequest, record: ProductRecord, deps: Pick<CoreDeps, 'store'>): Promise<void> {
  const ppId = w.provisionedProductId ?? record.provisionedProductId;
  if (!ppId || record.status !== 'SUCCEEDED') return;
  if (w.action === 'terminate') return void (await deps.store.del(productKey(deps, ppId)));
  const parameters = await deps.store.getJson<Record<string, string>>(recordKey(deps, record.id));
  if (parameters) await deps.store.setJson(productKey(deps, ppId), parameters, PRODUCT_TTL_MS);
}

/**
 * The product's current parameters as far as known: those of its last successful record when scicomp started it, else
 * those of the last record of scicomp's that settled (a stop, a start or a re-tag in between changes none). Empty when
 * unknown: whoever judges them must treat a missing value as unknown, not as a default.
 */
export async function currentParameters(deps: Pick<CoreDeps, 'store'>, p: ProvisionedProduct): Promise<Record<string, string>> {
  const last = p.lastSuccessfulRecordId ? await deps.store.getJson<Record<string, string>>(recordKey(deps, p.lastSuccessfulRecordId)) : undefined;
  return last ?? (await deps.store.getJson<Record<string, string>>(productKey(deps, p.id))) ?? {};
}
