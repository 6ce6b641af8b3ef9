// The IT side: transfer, restore and offboarding requests, what each does once approved, and the IT verbs (approvals, audit, reload).
import { decide, denyCheck, denyForm, loadRequest, mayDecide, openRequest, pendingRequests, requireApprover, sendToVenues, transition, when, type ApprovalRequest, type Carrier, type Clicker, type TransferPayload } from './approvals.js';
import type { Answer, Extensions, VerbHandlers } from './bot.js';
import { cachedLaunchOptions } from './catalog-cache.js';
import type { AuditTarget, Command } from './command.js';
import type { Actor, CoreDeps, Ctx, Person, StoredAuditEntry, WatchRequest } from './context.js';
import { NotAuthorizedError, NotFoundError, UserInputError, isUserFacing } from './errors.js';
import { awsToken } from './ids.js';
import { actorLabel, launchStartedMessage, provisionPlan, type LaunchPlan } from './launch.js';
import { applyUpdate, ARCHIVE_DAYS, changeFields, refuseIfChanging, type UpdatePlan } from './lifecycle.js';
import type { Action, Field, Form, Message } from './message.js';
import { markChanging, refreshProduct } from './inventory.js';
import { startMutation } from './mutations.js';
import { isOwner, ownProductFresh, productsOwnedBy } from './ownership.js';
import type { Platform, ProductKind, ProductRecord, ProvisionedProduct } from './ports.js';
import { maskSecrets, noEchoKeys } from './products.js';
import { handleOn } from './directory.js';
import type { ArchivedBucket } from './repositories/archives.js';

// On-demand us-east-1 prices (USD/hour) for the impact estimate of a launch; unknown types are shown without a figure.
const HOURLY_USD: Record<string, number> = {
  't3.micro': 0.0104, 't3.small': 0.0208, 't3.medium': 0.0416, 't3.large': 0.0832, 'm5.large': 0.096, 'm5.xlarge': 0.192,
  'c5.large': 0.085, 'c5.xlarge': 0.17, 'c5.2xlarge': 0.34, 'c5.4xlarge': 0.68, 'c5n.18xlarge': 3.888, 'r5.xlarge': 0.252, 'g4dn.xlarge': 0.526,
};
const HOURS_A_MONTH = 730;

export function launchImpact(plan: LaunchPlan): string {
  return impactOf(plan.kind, plan.parameters) ?? `a new ${plan.productName}`;
}

/** What a product with these parameters is and costs, when its instance type is known. */
function impactOf(kind: ProductKind, p: Record<string, string>): string | undefined {
  const type = p.InstanceType ?? p.ComputeInstanceType;
  if (!type) return undefined;
  const nodes = kind === 'cluster' ? Number(p.MaxNodes ?? '1') : 1;
  const hourly = HOURLY_USD[type];
  const what = kind === 'cluster' ? `a cluster of up to ${nodes} × ${type}` : `one ${type} instance`;
  return hourly ? `${what}: up to about $${Math.round(hourly * nodes * HOURS_A_MONTH)}/month on demand` : what;
}

export function updateImpact(plan: UpdatePlan): string {
  const after = impactOf(plan.kind, { ...plan.current, ...plan.parameters });
  const replaced = plan.kind === 'instance' || plan.kind === 'cluster' ? '; the update usually replaces the instance, and data on its local disks is lost' : '';
  return `${after ? `afterwards ${after}` : `${plan.productName} with the changes above`}${replaced}`;
}

/** The user id through which to reach a person resolved on this platform. */
function reachOn(person: Person, platform: Platform): string {
  const userId = handleOn(person, platform);
  if (!userId) throw new UserInputError(`I can't reach ${person.name} on ${platform}.`);
  return userId;
}

function principalOf(person: Person, deps: CoreDeps): string {
  const principal = deps.policy().principalOf(person);
  if (!principal) throw new UserInputError(`I don't know ${person.name}'s AWS principal; ask IT to add them to the catalog policy.`);
  return principal;
}

function requester(a: Actor) {
  return { platform: a.platform, userId: a.userId, email: a.email, name: a.name };
}

export interface RequestJobs {
  // A function property, not a method: handlers pass it on unbound.
  scheduleExpiry: (id: string, atMs: number) => Promise<void>;
  carrier: Carrier;
}

// ---------- filing requests ----------

async function transferRequest(cmd: Extract<Command, { verb: 'transfer' }>, ctx: Ctx, deps: CoreDeps, jobs: RequestJobs): Promise<Message> {
  const to = cmd.to;
  if (to.email === ctx.actor.email) throw new UserInputError('You cannot transfer a product to yourself.');
  const product = await ownProductFresh(deps, ctx.actor, cmd.name);
  const transfer: TransferPayload = {
    provisionedProductId: product.id,
    name: product.name,
    productName: product.productName ?? product.name,
    from: { userId: ctx.actor.userId, email: ctx.actor.email, name: ctx.actor.name },
    to: { userId: reachOn(to, ctx.actor.platform), email: to.email, name: to.name, principal: principalOf(to, deps) },
  };
  return openRequest(
    {
      requester: requester(ctx.actor),
      title: `Transfer ${product.name} to ${to.name}`,
      why: `${ctx.actor.name} asks to hand ${product.name} over`,
      fields: [
        { label: 'Product', value: `${product.name} (${transfer.productName})` },
        { label: 'From', value: ctx.actor.email },
        { label: 'To', value: to.email },
      ],
      impact: `${to.name} owns it and pays for it from now on; ${ctx.actor.name} loses access`,
      payload: { kind: 'transfer', transfer },
    },
    ctx,
    deps,
    jobs.scheduleExpiry,
  );
}

/** After ARCHIVE_DAYS the archive is purged: nothing is left to restore. */
function purged(terminatedAt: number, deps: CoreDeps): boolean {
  return deps.clock.now() - terminatedAt > ARCHIVE_DAYS * 86400_000;
}

async function restoreRequest(name: string, ctx: Ctx, deps: CoreDeps, jobs: RequestJobs): Promise<Message> {
  const candidates = [name, `${ctx.actor.username}-${name}`];
  let found: { bucket: string; entry: ArchivedBucket } | undefined;
  for (const bucket of candidates) {
    const entry = await deps.archives.get(ctx.actor.email, bucket);
    if (entry) found = { bucket, entry };
  }
  if (!found) throw new NotFoundError(`You have no archived bucket called "${name}": only buckets you terminated can be restored.`);
  if (purged(found.entry.terminatedAt, deps)) {
    throw new UserInputError(`${found.bucket} was terminated on ${when(found.entry.terminatedAt)}, more than ${ARCHIVE_DAYS} days ago: it has been purged and cannot be restored.`);
  }
  return openRequest(
    {
      requester: requester(ctx.actor),
      title: `Restore bucket ${found.bucket}`,
      why: `${ctx.actor.name} asks for an archived bucket back`,
      fields: [
        { label: 'Bucket', value: `${found.bucket} (${found.entry.productName})` },
        { label: 'Terminated', value: when(found.entry.terminatedAt) },
      ],
      impact: `the bucket and its objects come back from the archive, billed to ${ctx.actor.email}`,
      payload: { kind: 'restore', restore: { bucket: found.bucket, productName: found.entry.productName, terminatedAt: found.entry.terminatedAt } },
    },
    ctx,
    deps,
    jobs.scheduleExpiry,
  );
}

async function offboardRequest(target: Person, ctx: Ctx, deps: CoreDeps, jobs: RequestJobs): Promise<Message> {
  await requireApprover(ctx.actor, deps, 'offboard people');
  const owned = await productsOwnedBy(deps, target.email);
  return openRequest(
    {
      requester: requester(ctx.actor),
      title: `Offboard ${target.name}`,
      why: `${ctx.actor.name} is offboarding ${target.name}`,
      fields: [
        { label: 'User', value: target.email },
        { label: 'Owns', value: owned.length ? owned.map((p) => p.name).join(', ') : 'nothing' },
      ],
      impact: `${owned.length} product${owned.length === 1 ? '' : 's'} to transfer or terminate`,
      payload: { kind: 'offboard', offboard: { user: { userId: reachOn(target, ctx.actor.platform), email: target.email, name: target.name } } },
    },
    ctx,
    deps,
    jobs.scheduleExpiry,
  );
}

// ---------- carrying out ----------

/** Gives a product to someone else: OWNER in Service Catalog, then the OwnerEmail tag. Safe to repeat. */
export async function transferProduct(t: TransferPayload, tokenBase: string, actor: string, deps: CoreDeps, platform: Actor['platform']): Promise<void> {
  const token = (purpose: string) => awsToken(purpose, tokenBase);
  const { recordId } = await deps.catalog.setOwner({ provisionedProductId: t.provisionedProductId, ownerArn: t.to.principal, token: token('owner') });
  await deps.audit.append({ actor, action: 'aws.set-owner', target: t.name, parameters: { to: t.to.email, principal: t.to.principal }, outcome: `record ${recordId}`, requestId: tokenBase });
  const product = await deps.catalog.describeProvisioned(t.provisionedProductId);
  if (!product?.productId || !product.versionId) throw new NotFoundError(`${t.name} no longer exists.`);
  const options = await cachedLaunchOptions(deps, product.productId, product.versionId);
  const retag = await deps.catalog.update({
    provisionedProductId: product.id,
    productId: product.productId,
    versionId: product.versionId,
    parameters: {},
    parameterKeys: options.parameters.map((s) => s.key),
    tags: { ...product.tags, OwnerEmail: t.to.email },
    token: token('retag'),
  });
  await deps.audit.append({ actor, action: 'aws.retag', target: t.name, parameters: { OwnerEmail: t.to.email }, outcome: `record ${retag.recordId}`, requestId: tokenBase });
  await deps.inventory.upsert({ ...product, tags: { ...product.tags, OwnerEmail: t.to.email }, status: 'UNDER_CHANGE', lastRecordId: retag.recordId });
  const kind = deps.policy().productRule(t.productName).kind;
  await deps.watcher.watch({
    recordId: retag.recordId,
    provisionedProductId: product.id,
    name: t.name,
    productName: t.productName,
    kind,
    action: 'transfer',
    owner: { platform, userId: t.to.userId, email: t.to.email },
    requestId: tokenBase,
  });
  await deps.outbox.send({
    key: `transfer:${tokenBase}:from`,
    to: { platform, kind: 'user', userId: t.from.userId },
    message: { text: `${t.name} now belongs to ${t.to.name}; it is no longer in your list.`, tone: 'info' },
  });
  await deps.outbox.send({
    key: `transfer:${tokenBase}:to`,
    to: { platform, kind: 'user', userId: t.to.userId },
    message: { text: `${t.from.name} handed ${t.name} (${t.productName}) over to you. See ${deps.channels.commandText(platform, `status ${t.name}`)}.`, tone: 'info' },
  });
}

function offboardItems(id: string, products: ProvisionedProduct[]): Message[] {
  const messages: Message[] = [];
  for (let i = 0; i < products.length; i += 10) {
    const chunk = products.slice(i, i + 10);
    const actions: Action[] = chunk.flatMap((p) => [
      { id: 'offboard-transfer', label: `Transfer ${p.name} to…`, value: `${id}|${p.id}` },
      { id: 'offboard-terminate', label: `Terminate ${p.name}`, value: `${id}|${p.id}`, style: 'danger' as const },
    ]);
    if (i + 10 >= products.length) {
      actions.push({ id: 'offboard-transfer-all', label: 'Transfer all to…', value: id });
      actions.push({ id: 'offboard-terminate-all', label: 'Terminate all', value: id, style: 'danger' });
    }
    messages.push({
      text: `Products to hand over or terminate (${i + 1}–${i + chunk.length} of ${products.length})`,
      title: 'What they own',
      fields: chunk.map((p) => ({ label: p.name, value: `${p.productName ?? ''} · ${p.status}` })),
      actions,
    });
  }
  return messages;
}

/** How long a begun action's mark is kept: a retry within it carries on without re-checking what it began. */
const STARTED_TTL_MS = 7 * 86400_000;

/**
 * Why a product cannot be acted on now (gone, no longer the expected owner's, in the middle of a change, or what `also`
 * finds), or undefined: then it is marked begun under `action`, so a retry of this very action, which may itself have
 * set the product changing, carries on instead of refusing.
 */
async function notReady(action: string, ppId: string, ownerEmail: string, deps: CoreDeps, also?: (p: ProvisionedProduct) => string | undefined): Promise<string | undefined> {
  if (await deps.approvals.begun(action, ppId)) return undefined;
  const p = await refreshProduct(deps, ppId);
  if (!p) return 'the product no longer exists';
  if (!isOwner(p, ownerEmail)) return `${p.name} no longer belongs to ${ownerEmail}`;
  try {
    refuseIfChanging(p);
  } catch (err) {
    return (err as Error).message;
  }
  const why = also?.(p);
  if (why) return why;
  await deps.approvals.markBegun(action, ppId, STARTED_TTL_MS);
  return undefined;
}

/** An approved request that things have overtaken: nothing is done, and IT and the requester are told why. */
async function notCarriedOut(id: string, request: ApprovalRequest, why: string, deps: CoreDeps): Promise<string> {
  const text = `Approved, but not carried out: ${why}. Nothing was changed; ask again if it is still needed.`;
  await sendToVenues(request, 'not-carried', { text, tone: 'warning' }, deps, { threadOf: 'parent' });
  await deps.outbox.send({ key: `request:${id}:requester:not-carried`, to: { platform: request.requester.platform, kind: 'user', userId: request.requester.userId }, message: { text: `${request.title}: ${text}`, tone: 'warning' } });
  await deps.audit.append({ actor: 'scicomp', action: 'request.not-carried-out', target: id, outcome: why, requestId: id });
  return 'not carried out';
}

/**
 * An approved request whose carrying out failed for good (AWS refused a step, or the workers kept dying under it): IT, in
 * its thread, and the requester hear why, and that part of it may already be done.
 */
export async function carryOutFailed(id: string, why: string, deps: CoreDeps): Promise<void> {
  const found = await loadRequest(deps, id);
  if (!found) return;
  const { request } = found;
  const text = `Approved, but it could not be finished: ${why}. Part of it may already be done in AWS; IT will check it in Service Catalog.`;
  await sendToVenues(request, 'failed', { text, tone: 'error' }, deps, { threadOf: 'parent' });
  await deps.outbox.send({ key: `request:${id}:requester:failed`, to: { platform: request.requester.platform, kind: 'user', userId: request.requester.userId }, message: { text: `${request.title}: ${text}`, tone: 'error' } });
  await deps.audit.append({ actor: 'scicomp', action: 'request.failed', target: id, outcome: why, requestId: id });
}

export async function carryOut(id: string, deps: CoreDeps): Promise<string> {
  const found = await loadRequest(deps, id);
  if (!found) throw new NotFoundError(`There is no request ${id}.`);
  const { request, decision } = found;
  if (decision.state !== 'approved' && decision.state !== 'done') return `not approved (${decision.state})`;
  const actor = decision.decidedBy ?? 'scicomp';
  // What IT hears of it, in the request's thread in every venue.
  const thread = (what: string, message: Message) => sendToVenues(request, what, message, deps, { threadOf: 'parent' });
  const p = request.payload;
  switch (p.kind) {
    case 'launch': {
      const recordId = await provisionPlan(p.plan, actor, deps);
      await thread('carried', { text: `Provisioning ${p.plan.name}: record ${recordId}.`, tone: 'info' });
      await deps.outbox.send({ key: `request:${id}:started`, to: { platform: request.requester.platform, kind: 'user', userId: request.requester.userId }, message: launchStartedMessage(p.plan) });
      return 'provisioning';
    }
    case 'update': {
      const u = p.update;
      const why = await notReady(`carry:${id}`, u.provisionedProductId, u.owner.email, deps, (x) =>
        x.productId !== u.productId || x.versionId !== u.versionId ? `${u.name} was changed to another product version since the request was filed` : undefined,
      );
      if (why) return notCarriedOut(id, request, why, deps);
      const recordId = await applyUpdate(u, awsToken('update', id), actor, id, deps);
      await thread('carried', { text: `Updating ${u.name}: record ${recordId}.`, tone: 'info' });
      await deps.outbox.send({
        key: `request:${id}:started`,
        to: { platform: request.requester.platform, kind: 'user', userId: request.requester.userId },
        message: { text: `Updating ${u.name} as approved (${changeFields(u).map((f) => `${f.label}: ${f.value}`).join(', ')}). I'll post progress here.`, tone: 'info' },
      });
      return 'updating';
    }
    case 'transfer': {
      const why = await notReady(`carry:${id}`, p.transfer.provisionedProductId, p.transfer.from.email, deps);
      if (why) return notCarriedOut(id, request, why, deps);
      await transferProduct(p.transfer, id, actor, deps, request.requester.platform);
      await thread('carried', { text: `Transferred ${p.transfer.name} to ${p.transfer.to.name}.`, tone: 'success' });
      return 'transferred';
    }
    case 'restore':
      if (purged(p.restore.terminatedAt, deps)) {
        const text = `${p.restore.bucket} was terminated on ${when(p.restore.terminatedAt)}, more than ${ARCHIVE_DAYS} days ago: it has been purged and cannot be restored.`;
        await thread('purged', { text, tone: 'warning' });
        await deps.outbox.send({ key: `request:${id}:requester:purged`, to: { platform: request.requester.platform, kind: 'user', userId: request.requester.userId }, message: { text, tone: 'warning' } });
        await deps.audit.append({ actor: 'scicomp', action: 'restore.purged', target: p.restore.bucket, outcome: 'too old to restore', requestId: id });
        return 'purged';
      }
      await thread('task', {
        text: `Task for IT: restore ${p.restore.bucket} from the archive (terminated ${when(p.restore.terminatedAt)}) for ${request.requester.email}, then click Done.`,
        title: `Restore ${p.restore.bucket}`,
        tone: 'info',
        actions: [{ id: 'restore-done', label: 'Done', value: id, style: 'primary' }],
      });
      return 'task posted';
    case 'offboard': {
      const owned = await productsOwnedBy(deps, p.offboard.user.email);
      if (owned.length === 0) {
        await thread('carried', { text: `${p.offboard.user.name} owns nothing: offboarding is complete.`, tone: 'success' });
        return 'nothing owned';
      }
      const messages = offboardItems(id, owned);
      for (const [i, message] of messages.entries()) await thread(`items:${i}`, message);
      return `${owned.length} items listed`;
    }
  }
}

// ---------- clicks after approval ----------

async function approvedOffboard(id: string, who: Clicker, deps: CoreDeps): Promise<ApprovalRequest & { payload: { kind: 'offboard' } }> {
  await requireApprover(who, deps, 'carry out offboarding');
  const found = await loadRequest(deps, id);
  if (!found || found.request.payload.kind !== 'offboard') throw new NotFoundError(`There is no offboarding request ${id}.`);
  if (found.decision.state !== 'approved') throw new UserInputError(`Offboarding request ${id} is ${found.decision.state}, not approved.`);
  return found.request as ApprovalRequest & { payload: { kind: 'offboard' } };
}

async function offboardTerminate(id: string, product: ProvisionedProduct, ctx: Ctx, deps: CoreDeps, request: ApprovalRequest): Promise<string> {
  const user = request.payload.kind === 'offboard' ? request.payload.offboard.user : request.requester;
  const actor = actorLabel(ctx.actor);
  const { recordId, watch } = await startMutation(
    {
      call: { op: 'terminate', input: { provisionedProductId: product.id, token: awsToken('offboard', `${id}-${product.id}`) } },
      watch: {
        provisionedProductId: product.id,
        name: product.name,
        productName: product.productName ?? product.name,
        kind: deps.policy().productRule(product.productName ?? product.name).kind,
        action: 'terminate',
        owner: { platform: ctx.actor.platform, userId: user.userId, email: user.email },
        requestId: id,
      },
      actor,
    },
    deps,
  );
  await markChanging(deps, product.id, recordId);
  await deps.audit.append({ actor, action: 'aws.terminate', target: product.name, outcome: `record ${recordId}`, requestId: id });
  await deps.watcher.watch(watch);
  await sendToVenues(request, `terminate:${product.id}`, { text: `${ctx.actor.name} is terminating ${product.name} (record ${recordId}).`, tone: 'info' }, deps, { threadOf: 'parent' });
  return recordId;
}

/** A termination started from an offboarding thread settles: IT sees the outcome there, not only the departed user's DM. */
export async function reportOffboardRecord(w: WatchRequest, record: ProductRecord, deps: CoreDeps): Promise<void> {
  if (w.action !== 'terminate') return;
  const found = await loadRequest(deps, w.requestId);
  if (!found || found.request.payload.kind !== 'offboard') return;
  const ok = record.status === 'SUCCEEDED';
  const why = record.errors.map((e) => `${e.code ? `${e.code}: ` : ''}${e.description ?? 'no description'}`).join('; ');
  const message: Message = ok
    ? { text: `${w.name} is terminated (record ${record.id}).`, tone: 'success' }
    : { text: `Terminating ${w.name} failed (record ${record.id}): ${why || 'Service Catalog gave no reason'}.`, tone: 'error' };
  await sendToVenues(found.request, `terminated:${record.id}`, message, deps, { threadOf: 'parent' });
}

function splitItem(value: string): [string, string] {
  const [id, ppId] = value.split('|');
  if (!id || !ppId) throw new UserInputError('That button is no longer understood.');
  return [id, ppId];
}

/**
 * Refuses, changing nothing, when any of these products is in the middle of a change, unless this very action already
 * began on it (a retry carries on); otherwise marks each begun.
 */
async function readyAll(action: string, products: ProvisionedProduct[], deps: CoreDeps): Promise<void> {
  const busy: string[] = [];
  for (const p of products) {
    if (await deps.approvals.begun(action, p.id)) continue;
    try {
      refuseIfChanging(p);
    } catch (err) {
      busy.push(products.length === 1 ? (err as Error).message : `${p.name} (${p.status})`);
    }
  }
  if (busy.length) {
    throw new UserInputError(products.length === 1 ? busy[0]! : `These are changing right now: ${busy.join(', ')}. Nothing was done; try again when they have settled.`);
  }
  for (const p of products) await deps.approvals.markBegun(action, p.id, STARTED_TTL_MS);
}

/** What a person owns as Service Catalog says right now: the inventory's list, each product re-read before it is acted on. */
async function ownedNow(email: string, deps: CoreDeps): Promise<ProvisionedProduct[]> {
  const fresh = await Promise.all((await productsOwnedBy(deps, email)).map((p) => refreshProduct(deps, p.id)));
  return fresh.filter((p): p is ProvisionedProduct => p !== undefined && isOwner(p, email));
}

async function ownedBy(request: ApprovalRequest & { payload: { kind: 'offboard' } }, ppId: string, deps: CoreDeps): Promise<ProvisionedProduct> {
  // Acted on at once: read afresh from Service Catalog, not from the inventory.
  const product = await refreshProduct(deps, ppId);
  if (!product || !isOwner(product, request.payload.offboard.user.email)) throw new NotFoundError(`${request.payload.offboard.user.name} no longer owns that product.`);
  return product;
}

export function transferPickForm(value: string): Form {
  return {
    id: 'offboard-transfer',
    title: 'Transfer to…',
    submitLabel: 'Transfer',
    inputs: [{ key: 'to', label: 'New owner', kind: 'user' }],
    state: value,
  };
}

export function transferAllForm(id: string): Form {
  return {
    id: 'offboard-transfer-all',
    title: 'Transfer all to…',
    submitLabel: 'Transfer all',
    intro: 'Everything the departing user still owns goes to this person.',
    inputs: [{ key: 'to', label: 'New owner', kind: 'user' }],
    state: id,
  };
}

/** The form a click opens, after the same checks the core makes; a refusal throws. */
async function checkedForm(actionId: string, value: string, who: Clicker, deps: CoreDeps): Promise<Form | undefined> {
  switch (actionId) {
    case 'deny': {
      const { request, decision } = await mayDecide(value, who, deps);
      // Decided, or expired with its expiry job late: no form; the queued click answers (and expires it).
      return decision.state === 'pending' && deps.clock.now() < request.expiresAt ? denyForm(value) : undefined;
    }
    case 'offboard-transfer':
      await approvedOffboard(splitItem(value)[0], who, deps);
      return transferPickForm(value);
    case 'offboard-transfer-all':
      await approvedOffboard(value, who, deps);
      return transferAllForm(value);
    default:
      return undefined;
  }
}

/**
 * Clicks that open a form at once (the platform's trigger expires in seconds), by action id. Undefined when the clicker
 * may not (or the request is decided): the click then goes through the queue, which answers with the refusal and audits it.
 */
export async function formForAction(actionId: string, value: string, who: Clicker, deps: CoreDeps): Promise<Form | undefined> {
  try {
    return await checkedForm(actionId, value, who, deps);
  } catch (err) {
    if (isUserFacing(err)) return undefined;
    throw err;
  }
}

async function offboardTransfer(
  id: string,
  request: ApprovalRequest & { payload: { kind: 'offboard' } },
  product: ProvisionedProduct,
  to: Person,
  ctx: Ctx,
  deps: CoreDeps,
): Promise<void> {
  const from = request.payload.offboard.user;
  await transferProduct(
    { provisionedProductId: product.id, name: product.name, productName: product.productName ?? product.name, from, to: { userId: reachOn(to, ctx.actor.platform), email: to.email, name: to.name, principal: principalOf(to, deps) } },
    // Per request and product, not per form: a second submission for the same product repeats the same AWS calls.
    `${id}-${product.id}`,
    actorLabel(ctx.actor),
    deps,
    ctx.actor.platform,
  );
  await sendToVenues(request, `transfer:${product.id}`, { text: `${ctx.actor.name} transferred ${product.name} to ${to.name}.`, tone: 'success' }, deps, { threadOf: 'parent' });
}

async function offboardRecipient(request: ApprovalRequest & { payload: { kind: 'offboard' } }, values: Record<string, string | undefined>, ctx: Ctx, deps: CoreDeps): Promise<Person> {
  // The form's person input, as the platform gave it: the platform resolves it.
  const to = await deps.people.find(ctx.actor.platform, values.to?.trim() || '');
  const from = request.payload.offboard.user;
  if (to.email === from.email.toLowerCase()) throw new UserInputError(`That already belongs to ${from.name}; pick someone else.`);
  return to;
}

// ---------- IT verbs ----------

async function audit(target: AuditTarget | undefined, ctx: Ctx, deps: CoreDeps): Promise<Message> {
  await requireApprover(ctx.actor, deps, 'read the audit trail');
  let filter: ((e: StoredAuditEntry) => boolean) | undefined;
  if (target && 'person' in target) {
    const { email, handles } = target.person;
    // Entries carry the person's email where it was known; older ones only the handle they acted through.
    const labels = new Set(handles.map((h) => `${h.platform}:${h.userId}`));
    filter = (e) => e.actorEmail === email || labels.has(e.actor);
  } else if (target) {
    const name = target.product;
    filter = (e) => e.target === name || (e.target?.endsWith(`-${name}`) ?? false);
  }
  const entries = await deps.audit.recent(20, filter);
  const about = target && ('person' in target ? target.person.email : target.product);
  if (entries.length === 0) return { text: about ? `No audit entries for ${about}.` : 'The audit trail is empty.', tone: 'info' };
  const fields: Field[] = entries.map((e) => ({ label: `${e.time.slice(0, 19).replace('T', ' ')} ${e.action}`, value: `${e.actor}${e.target ? ` → ${e.target}` : ''}: ${e.outcome}` }));
  return { text: `The ${entries.length} most recent audit entries${about ? ` for ${about}` : ''}.`, title: 'Audit trail', fields, context: ['npm run audit:export -- --since <date> writes the full trail as JSON lines.'] };
}

async function reload(ctx: Ctx, deps: CoreDeps): Promise<Message> {
  if (deps.policy().roleOf(ctx.actor) !== 'admin') throw new NotAuthorizedError('Only admins can reload the catalog policy.');
  try {
    await deps.reloadPolicy();
  } catch (err) {
    throw new UserInputError(`The catalog policy was NOT reloaded; the previous one stays in force. ${(err as Error).message}`);
  }
  return { text: 'Catalog policy reloaded on every replica.', tone: 'success' };
}

/** The IT verbs, with the buttons and forms of requests, and the route of a launch to IT. */
export type ApprovalExtensions = Required<Omit<Extensions, 'verbs'>> & { verbs: Pick<VerbHandlers, 'transfer' | 'restore' | 'offboard' | 'approvals' | 'audit' | 'reload'> };

export function approvalExtensions(jobs: RequestJobs): ApprovalExtensions {
  const msg = async (m: Promise<Message>): Promise<Answer> => ({ message: await m });
  return {
    routeApproval: async (plan, reason, ctx, deps) => {
      // The plan is carried out later from the request: it keeps which keys are NoEcho so that run masks them too.
      const secretKeys = plan.secretKeys ?? noEchoKeys((await cachedLaunchOptions(deps, plan.productId, plan.versionId)).parameters);
      return openRequest(
        {
          requester: requester(ctx.actor),
          title: `Launch ${plan.productName} ${plan.name}`,
          why: reason,
          fields: [
            { label: 'Product', value: `${plan.productName} ${plan.versionName}` },
            ...Object.entries(maskSecrets(plan.parameters, secretKeys)).filter(([, v]) => v !== '').map(([label, value]) => ({ label, value })),
          ],
          impact: launchImpact(plan),
          payload: { kind: 'launch', plan: { ...plan, secretKeys } },
        },
        ctx,
        deps,
        jobs.scheduleExpiry,
      );
    },
    routeUpdate: (plan, reason, ctx, deps) =>
      openRequest(
        {
          requester: requester(ctx.actor),
          title: `Update ${plan.name} (${plan.productName})`,
          why: reason,
          fields: [{ label: 'Product', value: `${plan.name} (${plan.productName})` }, ...changeFields(plan)],
          impact: updateImpact(plan),
          payload: { kind: 'update', update: plan },
        },
        ctx,
        deps,
        jobs.scheduleExpiry,
      ),
    verbs: {
      transfer: (cmd, ctx, deps) => msg(transferRequest(cmd, ctx, deps, jobs)),
      restore: (cmd, ctx, deps) => msg(restoreRequest(cmd.name, ctx, deps, jobs)),
      offboard: (cmd, ctx, deps) => msg(offboardRequest(cmd.user, ctx, deps, jobs)),
      approvals: (_cmd, ctx, deps) => msg(pendingRequests(ctx, deps)),
      audit: (cmd, ctx, deps) => msg(audit(cmd.target, ctx, deps)),
      reload: (_cmd, ctx, deps) => msg(reload(ctx, deps)),
    },
    actions: {
      approve: (id, ctx, deps) => msg(decide(id, 'approved', undefined, ctx, deps, jobs.carrier)),
      // Where the platform could not open the form at the click (the console), the form is the answer.
      deny: async (id, ctx, deps) => {
        const decided = await denyCheck(id, ctx.actor, deps);
        return decided ? { message: decided } : { form: denyForm(id) };
      },
      // The same checks and forms as a click that opens its form at once; a refusal throws, and is answered and audited.
      'offboard-transfer': async (value, ctx, deps) => ({ form: await checkedForm('offboard-transfer', value, ctx.actor, deps) }),
      'offboard-transfer-all': async (id, ctx, deps) => ({ form: await checkedForm('offboard-transfer-all', id, ctx.actor, deps) }),
      'restore-done': async (id, ctx, deps) => {
        await requireApprover(ctx.actor, deps, 'close restore tasks');
        const found = await loadRequest(deps, id);
        if (!found || found.request.payload.kind !== 'restore') throw new NotFoundError(`There is no restore request ${id}.`);
        const { restore } = found.request.payload;
        if (found.decision.state === 'approved' && purged(restore.terminatedAt, deps)) {
          throw new UserInputError(`${restore.bucket} was terminated on ${when(restore.terminatedAt)}, more than ${ARCHIVE_DAYS} days ago: the archive has purged it, so it cannot be marked restored.`);
        }
        const moved = await transition(deps, id, 'approved', 'done', { doneBy: actorLabel(ctx.actor), doneAt: deps.clock.now() });
        if (!moved.ok) return { message: { text: `Restore request ${id} is already ${moved.decision?.state ?? 'gone'}.`, tone: 'info' } };
        const bucket = restore.bucket;
        // Restored means live again: the archive entry goes, so it cannot be asked for twice.
        await deps.archives.remove(found.request.requester.email, bucket);
        await deps.audit.append({ actor: actorLabel(ctx.actor), action: 'restore.done', target: bucket, outcome: 'restored', requestId: id });
        await sendToVenues(found.request, 'task-done', { text: `Restored ${bucket} (done by ${ctx.actor.name}).`, tone: 'success' }, deps, { replaces: 'task' });
        await deps.outbox.send({ key: `request:${id}:restored`, to: { platform: found.request.requester.platform, kind: 'user', userId: found.request.requester.userId }, message: { text: `IT restored your bucket ${bucket}.`, tone: 'success' } });
        return { message: { text: `Marked ${bucket} as restored; ${found.request.requester.name} has been told.`, tone: 'success' } };
      },
      'offboard-terminate': async (value, ctx, deps) => {
        const [id, ppId] = splitItem(value);
        const request = await approvedOffboard(id, ctx.actor, deps);
        const product = await ownedBy(request, ppId, deps);
        await readyAll(`offboard-terminate:${id}`, [product], deps);
        await offboardTerminate(id, product, ctx, deps, request);
        return { message: { text: `Terminating ${product.name}.`, tone: 'info' } };
      },
      'offboard-terminate-all': async (id, ctx, deps) => {
        const request = await approvedOffboard(id, ctx.actor, deps);
        const owned = await ownedNow(request.payload.offboard.user.email, deps);
        await readyAll(`offboard-terminate:${id}`, owned, deps);
        for (const product of owned) await offboardTerminate(id, product, ctx, deps, request);
        return { message: { text: `Terminating ${owned.length} product${owned.length === 1 ? '' : 's'} of ${request.payload.offboard.user.name}.`, tone: 'info' } };
      },
    },
    forms: {
      deny: async (values, state, ctx, deps) => {
        const reason = values.reason?.trim();
        if (!reason) throw new UserInputError('A denial needs a reason for the requester.');
        return msg(decide(state, 'denied', reason, ctx, deps, jobs.carrier));
      },
      'offboard-transfer': async (values, state, ctx, deps) => {
        const [id, ppId] = splitItem(state);
        const request = await approvedOffboard(id, ctx.actor, deps);
        const product = await ownedBy(request, ppId, deps);
        const to = await offboardRecipient(request, values, ctx, deps);
        await readyAll(`offboard-transfer:${id}`, [product], deps);
        await offboardTransfer(id, request, product, to, ctx, deps);
        return { message: { text: `Transferred ${product.name} to ${to.name}.`, tone: 'success' } };
      },
      'offboard-transfer-all': async (values, id, ctx, deps) => {
        const request = await approvedOffboard(id, ctx.actor, deps);
        const to = await offboardRecipient(request, values, ctx, deps);
        const owned = await ownedNow(request.payload.offboard.user.email, deps);
        await readyAll(`offboard-transfer:${id}`, owned, deps);
        for (const product of owned) await offboardTransfer(id, request, product, to, ctx, deps);
        return { message: { text: `Transferred ${owned.length} product${owned.length === 1 ? '' : 's'} of ${request.payload.offboard.user.name} to ${to.name}.`, tone: 'success' } };
      },
    },
  };
}
