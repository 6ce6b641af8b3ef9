// AWS mutations journaled before their call and reconciled until their owner has heard how they ended, whatever
// happened to the job that began them.
import type { CoreDeps, WatchRequest } from './context.js';
import { UpstreamError, isUserFacing } from './errors.js';
import type { CatalogPort, ProvisionInput, UpdateInput } from './ports.js';
import type { PendingMutation } from './repositories/mutations.js';
import { openJson, sealJson } from './sealed.js';

export type MutationCall =
  | { op: 'provision'; input: ProvisionInput }
  | { op: 'update'; input: UpdateInput }
  | { op: 'terminate'; input: { provisionedProductId: string; token: string } }
  | { op: 'action'; input: { provisionedProductId: string; serviceActionId: string; token: string } };

/** One AWS change: the call (with its idempotency token) and the watch that tells its owner how it ends. */
export interface Mutation {
  call: MutationCall;
  watch: Omit<WatchRequest, 'recordId' | 'provisionedProductId' | 'mutationId'> & { provisionedProductId?: string };
  /** Who it is done for, in the audit trail. */
  actor: string;
}

export type MutationDeps = Pick<CoreDeps, 'catalog' | 'sealer' | 'clock' | 'log'> & Partial<Pick<CoreDeps, 'mutations'>>;

/** A mutation's journal id: its call and token, the same for every retry of it. */
export function mutationId(call: MutationCall): string {
  return `${call.op}:${call.input.token}`;
}

async function callCatalog(call: MutationCall, catalog: CatalogPort): Promise<{ recordId: string; provisionedProductId?: string }> {
  switch (call.op) {
    case 'provision':
      return catalog.provision(call.input);
    case 'update':
      return { ...(await catalog.update(call.input)), provisionedProductId: call.input.provisionedProductId };
    case 'terminate':
      return { ...(await catalog.terminate(call.input)), provisionedProductId: call.input.provisionedProductId };
    case 'action':
      return { ...(await catalog.executeServiceAction(call.input)), provisionedProductId: call.input.provisionedProductId };
  }
}

/** AWS said no: nothing was changed, so nothing is left to reconcile. */
function refused(err: unknown): boolean {
  return isUserFacing(err) || (err instanceof UpstreamError && !err.retryable);
}

/**
 * Makes the AWS call, journaled first: should the job die before its owner hears the outcome (even after AWS has the
 * change), the reconcile makes the same call again with the same token and follows its record. Returns the record and
 * the watch request to follow it with (settling the journal once the owner is told).
 */
export async function startMutation(m: Mutation, deps: MutationDeps): Promise<{ recordId: string; provisionedProductId?: string; watch: WatchRequest }> {
  const id = mutationId(m.call);
  await deps.mutations?.begin(id, await sealJson(deps.sealer, m), deps.clock.now());
  let result: { recordId: string; provisionedProductId?: string };
  try {
    result = await callCatalog(m.call, deps.catalog);
  } catch (err) {
    if (refused(err)) await deps.mutations?.settle(id);
    throw err;
  }
  await deps.mutations?.recorded(id, result.recordId, result.provisionedProductId);
  return { ...result, watch: watchFor(m, id, result) };
}

function watchFor(m: Mutation, id: string, r: { recordId: string; provisionedProductId?: string }): WatchRequest {
  // The journal id rides with the watch: the watch settles it once the owner has heard the outcome.
  return { ...m.watch, recordId: r.recordId, provisionedProductId: m.watch.provisionedProductId ?? r.provisionedProductId, mutationId: id };
}

/** Where a reconcile looks for, and restarts, the watch of a record. */
export interface Watches {
  /** running: a watch job is waiting, delayed or active; done: it told the owner; failed: it gave up; missing: none. */
  state(recordId: string): Promise<'running' | 'done' | 'failed' | 'missing'>;
  /** Starts the watch again (a failed one from scratch). */
  restart(w: WatchRequest): Promise<void>;
}

export interface ReconcileOutcome {
  checked: number;
  /** AWS calls made again (same token) because the job never got the record. */
  called: number;
  /** Watches started or restarted. */
  watched: number;
  settled: number;
}

/** How long a mutation is kept trying: past this its record is long gone from Service Catalog's memory. */
const GIVE_UP_MS = 7 * 86400_000;
/** How many journaled mutations one reconcile follows at once. */
export const RECONCILE_LANES = 8;

/**
 * Every journaled mutation older than `graceMs` (its job has had time to finish) whose record has no running watch: the
 * AWS call made again with the same token where the record is not known (Service Catalog answers with the same record),
 * then its watch started, so its owner hears how it ends.
 */
export async function reconcileMutations(deps: MutationDeps & Pick<CoreDeps, 'audit' | 'feed'>, watches: Watches, graceMs: number): Promise<ReconcileOutcome> {
  const out: ReconcileOutcome = { checked: 0, called: 0, watched: 0, settled: 0 };
  if (!deps.mutations) return out;
  const now = deps.clock.now();
  const due = (await deps.mutations.pending()).filter((p) => now - p.startedAt >= graceMs);
  out.checked = due.length;
  // A few at a time: each may wait on a slow AWS answer, and one after another a backlog left by dead workers would
  // keep its last owners waiting for the sum of them; all at once would flood the account's API limits.
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let p = due[next++]; p; p = due[next++]) {
      try {
        await reconcileOne(p, deps, watches, now, out);
      } catch (err) {
        // One mutation AWS will not answer for now must not hold back the others; the next run tries it again.
        deps.log.warn({ err, mutation: p.id }, 'could not reconcile an AWS mutation; trying again at the next reconcile');
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(RECONCILE_LANES, due.length) }, lane));
  return out;
}

async function reconcileOne(p: PendingMutation, deps: MutationDeps & Pick<CoreDeps, 'audit' | 'feed'>, watches: Watches, now: number, out: ReconcileOutcome): Promise<void> {
  const journal = deps.mutations!;
  const m = await openJson<Mutation>(deps.sealer, p.sealed);
  if (!m) return;
  const what = `${m.watch.name} (${m.call.op})`;
  if (now - p.startedAt > GIVE_UP_MS) {
    await journal.settle(p.id);
    await deps.feed.publish({ type: 'failed', summary: `${m.watch.owner.email}: ${what} was never reported to its owner; check it in Service Catalog`, key: `mutation:${p.id}:abandoned` });
    return;
  }
  let record: { recordId: string; provisionedProductId?: string } | undefined = p.recordId ? { recordId: p.recordId, provisionedProductId: p.provisionedProductId } : undefined;
  if (!record) {
    try {
      record = await callCatalog(m.call, deps.catalog);
    } catch (err) {
      if (!refused(err)) throw err;
      // AWS refuses it now: nothing was changed then either. The job that began it told its owner, if it lived.
      await journal.settle(p.id);
      await deps.feed.publish({ type: 'failed', summary: `${m.watch.owner.email}: ${what} refused by Service Catalog: ${(err as Error).message}`, key: `mutation:${p.id}:refused` });
      out.settled++;
      return;
    }
    out.called++;
    await journal.recorded(p.id, record.recordId, record.provisionedProductId);
    await deps.audit.append({ actor: m.actor, action: `aws.${m.call.op}`, target: m.watch.name, outcome: `record ${record.recordId} (carried on after its job was interrupted)`, requestId: m.watch.requestId });
  }
  const state = await watches.state(record.recordId);
  if (state === 'running') return;
  if (state === 'done') {
    await journal.settle(p.id);
    out.settled++;
    return;
  }
  deps.log.warn({ mutation: p.id, recordId: record.recordId, watch: state }, 'an AWS mutation had no watch: following it now');
  await watches.restart(watchFor(m, p.id, record));
  out.watched++;
}
