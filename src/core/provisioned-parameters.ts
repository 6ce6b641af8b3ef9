// What each provisioned product runs with, as far as scicomp set it: the parameters of each record it started, and of
// the last one that succeeded. Service Catalog does not say; NoEcho values are never kept, so they stay unknown.
import type { CoreDeps, WatchRequest } from './context.js';
import type { ProductRecord, ProvisionedProduct } from './ports.js';

/** Long enough for the record's watcher to settle it, and to be read while it is the product's last successful one. */
const RECORD_TTL_MS = 30 * 86400_000;
/** Products live long; terminating one forgets it. */
const PRODUCT_TTL_MS = 2 * 365 * 86400_000;

/** The full parameter set a record started by scicomp applies (provision: every parameter; update: current and changes). */
export async function rememberRecordParameters(deps: Pick<CoreDeps, 'productParameters'>, recordId: string, parameters: Record<string, string>, secretKeys: readonly string[] = []): Promise<void> {
  const kept = Object.fromEntries(Object.entries(parameters).filter(([k]) => !secretKeys.includes(k)));
  await deps.productParameters.saveRecord(recordId, kept, RECORD_TTL_MS);
}

/** A settled record: one that succeeded is what the product now runs with; a terminated product is forgotten. */
export async function rememberSettledParameters(w: WatchRequest, record: ProductRecord, deps: Pick<CoreDeps, 'productParameters'>): Promise<void> {
  const ppId = w.provisionedProductId ?? record.provisionedProductId;
  if (!ppId || record.status !== 'SUCCEEDED') return;
  if (w.action === 'terminate') return deps.productParameters.forgetProduct(ppId);
  const parameters = await deps.productParameters.ofRecord(record.id);
  if (parameters) await deps.productParameters.saveProduct(ppId, parameters, PRODUCT_TTL_MS);
}

/**
 * The product's current parameters as far as known: those of its last successful record when scicomp started it, else
 * those of the last record of scicomp's that settled (a stop, a start or a re-tag in between changes none). Empty when
 * unknown: whoever judges them must treat a missing value as unknown, not as a default.
 */
export async function currentParameters(deps: Pick<CoreDeps, 'productParameters'>, p: ProvisionedProduct): Promise<Record<string, string>> {
  const last = p.lastSuccessfulRecordId ? await deps.productParameters.ofRecord(p.lastSuccessfulRecordId) : undefined;
  return last ?? (await deps.productParameters.ofProduct(p.id)) ?? {};
}
