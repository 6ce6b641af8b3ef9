// list, status, connect, update and terminate of a user's own provisioned products, with confirmations for the destructive ones.
import { cachedLaunchOptions } from './catalog-cache.js';
import { connectMessage } from './connect.js';
import { checkAgainstPolicy } from './admission.js';
import type { Actor, CoreDeps, Ctx } from './context.js';
import { NotAuthorizedError, NotFoundError, UserInputError, isUserFacing } from './errors.js';
import { awsToken, newRequestId } from './ids.js';
import { actorLabel } from './launch.js';
import type { Field, Message } from './message.js';
import { markChanging, refreshProduct } from './inventory.js';
import { isOwner, ownProduct, ownProductFresh, productsOwnedBy } from './ownership.js';
import type { Platform, ProductKind, ProvisionedProduct, RecordOutput } from './ports.js';
import { maskSecrets, noEchoKeys } from './products.js';
import { currentParameters, rememberRecordParameters } from './provisioned-parameters.js';
import { startMutation } from './mutations.js';
import { openJson, sealJson } from './sealed.js';
import type { Confirmation } from './repositories/confirmations.js';

export type { Confirmation };

export const ARCHIVE_DAYS = 30;
const CONFIRMATION_TTL_MS = 15 * 60_000;

function kindOf(p: ProvisionedProduct, deps: CoreDeps): ProductKind {
  return deps.policy().productRule(p.productName ?? p.name).kind;
}

export async function list(ctx: Ctx, deps: CoreDeps): Promise<Message> {
  const mine = await productsOwnedBy(deps, ctx.actor.email);
  if (mine.length === 0) {
    return { text: `You have no provisioned products. Start one with ${deps.channels.commandText(ctx.actor.platform, 'launch')}.`, tone: 'info' };
  }
  return {
    text: `You have ${mine.length} provisioned product${mine.length === 1 ? '' : 's'}.`,
    title: 'Your products',
    fields: mine.map((p) => ({
      label: p.name,
      value: `${p.productName ?? 'unknown product'}${p.versionName ? ` ${p.versionName}` : ''} · ${p.status}${p.createdTime ? ` · since ${p.createdTime.slice(0, 10)}` : ''}`,
    })),
    context: [`${deps.channels.commandText(ctx.actor.platform, 'status <name>')} for details, ${deps.channels.commandText(ctx.actor.platform, 'connect <name>')} to reach an instance.`],
  };
}

export function outputFields(outputs: RecordOutput[]): Field[] {
  return outputs.map((o) => ({ label: o.key, value: o.value }));
}

const INSTANCE_ID_KEYS = ['InstanceId', 'HeadNodeInstanceId', 'EC2InstanceId'];

export function instanceIdOf(outputs: RecordOutput[]): string | undefined {
  for (const key of INSTANCE_ID_KEYS) {
    const found = outputs.find((o) => o.key === key && /^i-[0-9a-f]{8,17}$/.test(o.value));
    if (found) return found.value;
  }
  return undefined;
}

async function currentOutputs(p: ProvisionedProduct, deps: CoreDeps): Promise<RecordOutput[]> {
  const recordId = p.lastSuccessfulRecordId ?? p.lastRecordId;
  return recordId ? (await deps.catalog.describeRecord(recordId)).outputs : [];
}

export async function status(name: string, ctx: Ctx, deps: CoreDeps): Promise<Message> {
  return statusOf(await ownProduct(deps, ctx.actor, name), deps);
}

/** One product's status, outputs and last record, for a product already found (and its owner checked). */
export async function statusOf(p: ProvisionedProduct, deps: CoreDeps): Promise<Message> {
  const last = p.lastRecordId ? await deps.catalog.describeRecord(p.lastRecordId) : undefined;
  const outputs = p.lastSuccessfulRecordId && p.lastSuccessfulRecordId !== p.lastRecordId ? await currentOutputs(p, deps) : (last?.outputs ?? []);
  const fields: Field[] = [
    { label: 'Product', value: `${p.productName ?? '?'}${p.versionName ? ` ${p.versionName}` : ''}` },
    { label: 'Status', value: p.status + (p.statusMessage ? ` (${p.statusMessage})` : '') },
  ];
  if (p.createdTime) fields.push({ label: 'Created', value: p.createdTime });
  if (last) fields.push({ label: 'Last record', value: `${last.type} ${last.status} (${last.id})` });
  fields.push(...outputFields(outputs));
  const body = last?.errors.length ? [`Errors: ${last.errors.map((e) => e.description ?? e.code).join('; ')}`] : undefined;
  return { text: `${p.name}: ${p.status}`, title: p.name, fields, body, tone: p.status === 'AVAILABLE' ? 'success' : p.status === 'ERROR' || p.status === 'TAINTED' ? 'error' : 'info' };
}

export async function connect(name: string, ctx: Ctx, deps: CoreDeps): Promise<Message> {
  const p = await ownProduct(deps, ctx.actor, name);
  const kind = kindOf(p, deps);
  if (kind === 'bucket') throw new UserInputError(`${p.name} is a bucket; there is nothing to connect to. Its address is in ${deps.channels.commandText(ctx.actor.platform, `status ${p.name}`)}.`);
  const instanceId = instanceIdOf(await currentOutputs(p, deps));
  if (!instanceId) throw new UserInputError(`${p.name} has no running instance yet (status ${p.status}). Try again when it is AVAILABLE.`);
  return connectMessage(p.name, instanceId, deps.connect);
}

// ---------- confirmations ----------

async function askToConfirm(c: Omit<Confirmation, 'id'>, text: string, body: string[], deps: CoreDeps, confirmLabel: string): Promise<Message> {
  const id = newRequestId();
  // Sealed: an update's parameters may hold NoEcho values, which are kept only encrypted with the bot's data key.
  await deps.confirmations.save(id, await sealJson(deps.sealer, { ...c, id }), CONFIRMATION_TTL_MS);
  return {
    text,
    title: text,
    tone: 'warning',
    body,
    actions: [
      { id: 'confirm', label: confirmLabel, value: id, style: 'danger' },
      { id: 'cancel', label: 'Cancel', value: id },
    ],
    context: ['This confirmation expires in 15 minutes.'],
  };
}

/** An update judged against the policy, serialisable so an approval request can carry it and run it later. */
export interface UpdatePlan {
  provisionedProductId: string;
  name: string;
  productId: string;
  productName: string;
  versionId: string;
  kind: ProductKind;
  /** The changes, validated; every other parameter keeps its value (UsePreviousValue). */
  parameters: Record<string, string>;
  /** Every parameter key of the product version, so unchanged ones are sent as UsePreviousValue. */
  parameterKeys: string[];
  /** NoEcho parameter keys: their values are masked in chat and the audit trail, and never kept as current values. */
  secretKeys: string[];
  /** The product's current parameters as far as known (NoEcho ones never): what the changes are made over. */
  current: Record<string, string>;
  owner: { platform: Platform; userId: string; email: string };
}

/** Hook for approvals: set by the approvals module, as for launches, so updates go to IT the same way. */
export type UpdateApprovalRouter = (plan: UpdatePlan, reason: string, ctx: Ctx, deps: CoreDeps) => Promise<Message>;

/** A product in the middle of a change cannot take another: the second would act on a state nobody has seen. */
export function refuseIfChanging(p: ProvisionedProduct): void {
  if (p.status === 'UNDER_CHANGE' || p.status === 'PLAN_IN_PROGRESS') {
    throw new UserInputError(`${p.name} is changing right now (${p.status}); nothing was done. Try again when it has settled: /scicomp status ${p.name}.`);
  }
}

/** Validates changes to a product the actor owns and judges the result against the policy: the plan, and why IT must approve it. */
export async function planUpdate(p: ProvisionedProduct, changes: Record<string, string>, actor: Actor, deps: CoreDeps): Promise<{ plan: UpdatePlan; reason?: string }> {
  if (!p.productId || !p.versionId) throw new UserInputError(`${p.name} has no product version on record; ask IT.`);
  const productName = p.productName ?? p.name;
  const options = await cachedLaunchOptions(deps, p.productId, p.versionId);
  const current = await currentParameters(deps, p);
  const { parameters, reason } = checkAgainstPolicy({ productName, specs: options.parameters, requested: changes, update: { name: p.name, current } }, actor, deps.policy());
  const plan: UpdatePlan = {
    provisionedProductId: p.id,
    name: p.name,
    productId: p.productId,
    productName,
    versionId: p.versionId,
    kind: deps.policy().productRule(productName).kind,
    parameters,
    parameterKeys: options.parameters.map((s) => s.key),
    secretKeys: noEchoKeys(options.parameters),
    current,
    owner: { platform: actor.platform, userId: actor.userId, email: actor.email },
  };
  return { plan, reason };
}

/** The changes as people read them, one field each (`before → after`, `?` where not known), NoEcho values masked. */
export function changeFields(plan: UpdatePlan): Field[] {
  const before = maskSecrets(plan.current, plan.secretKeys);
  return Object.entries(maskSecrets(plan.parameters, plan.secretKeys)).map(([label, v]) => ({ label, value: `${before[label] ?? '?'} → ${v}` }));
}

/** Starts an update with the bot's role and follows it; safe to repeat with the same token. */
export async function applyUpdate(plan: UpdatePlan, token: string, actor: string, requestId: string, deps: CoreDeps): Promise<string> {
  const { recordId, watch } = await startMutation(
    {
      call: {
        op: 'update',
        input: { provisionedProductId: plan.provisionedProductId, productId: plan.productId, versionId: plan.versionId, parameters: plan.parameters, parameterKeys: plan.parameterKeys, token },
      },
      watch: { provisionedProductId: plan.provisionedProductId, name: plan.name, productName: plan.productName, kind: plan.kind, action: 'update', owner: plan.owner, requestId },
      actor,
    },
    deps,
  );
  await markChanging(deps, plan.provisionedProductId, recordId);
  await rememberRecordParameters(deps, recordId, { ...plan.current, ...plan.parameters }, plan.secretKeys);
  await deps.audit.append({ actor, action: 'aws.update', target: plan.name, parameters: maskSecrets(plan.parameters, plan.secretKeys), outcome: `record ${recordId}`, requestId });
  await deps.watcher.watch(watch);
  return recordId;
}

export async function update(name: string, params: Record<string, string>, ctx: Ctx, deps: CoreDeps): Promise<Message> {
  const p = await ownProductFresh(deps, ctx.actor, name);
  refuseIfChanging(p);
  const { plan, reason } = await planUpdate(p, params, ctx.actor, deps);
  const changes = Object.entries(maskSecrets(plan.parameters, plan.secretKeys)).map(([k, v]) => `${k} → ${v}`).join(', ');
  const body =
    plan.kind === 'instance' || plan.kind === 'cluster'
      ? [
          `Updating ${p.name} (${changes}) usually *replaces* the instance: anything stored on its local disks will be lost.`,
          'Copy what you need to S3 first.',
        ]
      : [`Update ${p.name}: ${changes}.`];
  if (reason) body.push(`This change needs IT approval (${reason}): confirming sends it to IT, and it is made once they approve.`);
  return askToConfirm(
    {
      action: 'update',
      requester: ctx.actor.userId,
      email: ctx.actor.email,
      provisionedProductId: p.id,
      name: p.name,
      productId: plan.productId,
      productName: plan.productName,
      versionId: plan.versionId,
      kind: plan.kind,
      parameters: plan.parameters,
      parameterKeys: plan.parameterKeys,
      secretKeys: plan.secretKeys,
    },
    `Update ${p.name}?`,
    body,
    deps,
    plan.kind === 'instance' ? 'Replace and update' : 'Update',
  );
}

export async function terminate(name: string, ctx: Ctx, deps: CoreDeps): Promise<Message> {
  const p = await ownProductFresh(deps, ctx.actor, name);
  const kind = kindOf(p, deps);
  const body =
    kind === 'bucket'
      ? [
          `Terminating ${p.name} archives the bucket for ${ARCHIVE_DAYS} days; after that it is purged for good.`,
          `Within those ${ARCHIVE_DAYS} days you can ask IT to bring it back with ${deps.channels.commandText(ctx.actor.platform, `restore ${p.name}`)}.`,
        ]
      : [`Terminating ${p.name} deletes it and everything stored on it. This cannot be undone.`];
  return askToConfirm(
    {
      action: 'terminate',
      requester: ctx.actor.userId,
      email: ctx.actor.email,
      provisionedProductId: p.id,
      name: p.name,
      productId: p.productId,
      productName: p.productName ?? p.name,
      kind,
    },
    `Terminate ${p.name}?`,
    body,
    deps,
    'Terminate',
  );
}

/** The product a confirmation was asked about, as it is now: still there, still the actor's, and not in the middle of a change. */
async function stillActionable(c: Confirmation, actor: Actor, deps: CoreDeps): Promise<ProvisionedProduct> {
  const p = await refreshProduct(deps, c.provisionedProductId);
  if (!p) throw new NotFoundError(`${c.name} no longer exists; nothing was done.`);
  if (!isOwner(p, actor.email)) throw new NotAuthorizedError(`${c.name} is no longer yours (it changed hands after you asked); nothing was done.`);
  refuseIfChanging(p);
  return p;
}

/** A click on Confirm or Cancel. The confirmation is taken atomically: a double click acts once. */
export async function decideConfirmation(id: string, confirmed: boolean, ctx: Ctx, deps: CoreDeps, routeUpdate?: UpdateApprovalRouter): Promise<Message> {
  const c = await openJson(deps.sealer, await deps.confirmations.get(id));
  if (!c) return { text: 'This confirmation has expired or was already used. Run the command again.', tone: 'info' };
  // The person who asked, by email, whichever of their handles clicks.
  if (c.email.toLowerCase() !== ctx.actor.email.toLowerCase()) throw new NotAuthorizedError('Only the person who asked can confirm this.');
  // Claimed by this click (a double click is another click); kept until AWS has the request, so a retried job carries on.
  if (!(await deps.confirmations.claim(id, ctx.requestId, CONFIRMATION_TTL_MS))) return { text: 'This confirmation was already used.', tone: 'info' };
  if (!confirmed) {
    await deps.confirmations.remove(id);
    return { text: `Cancelled: ${c.name} is unchanged.`, tone: 'info' };
  }
  try {
    return await carryOutConfirmation(c, ctx, deps, routeUpdate);
  } catch (err) {
    // Refused as things are now (changed hands, changing, over the request limit): nothing was done, and once that
    // changes the same confirmation may be clicked again.
    if (isUserFacing(err)) await deps.confirmations.release(id);
    throw err;
  }
}

async function carryOutConfirmation(c: Confirmation, ctx: Ctx, deps: CoreDeps, routeUpdate?: UpdateApprovalRouter): Promise<Message> {
  // What this click settled on, set just before the AWS call: a retried job carries it on without re-checking a product
  // its own first attempt may already have set changing.
  const started = await deps.confirmations.started(c.id);
  // The changes stay in the confirmation alone (they may hold NoEcho values).
  let plan: UpdatePlan | { terminate: true } | undefined = started && !('terminate' in started) ? { ...started, parameters: c.parameters ?? {} } : started;
  if (!plan) {
    // Checked now, not when asked: the product may have changed hands or state, and the policy or its parameters changed.
    const p = await stillActionable(c, ctx.actor, deps);
    if (c.action === 'update') {
      const judged = await planUpdate(p, c.parameters ?? {}, ctx.actor, deps);
      if (judged.reason) {
        if (!routeUpdate) throw new NotAuthorizedError(`${judged.reason}, and approvals are not configured.`);
        const filed = await routeUpdate(judged.plan, judged.reason, ctx, deps);
        await deps.confirmations.remove(c.id);
        return filed;
      }
      plan = judged.plan;
      const { parameters: _changes, ...kept } = judged.plan;
      await deps.confirmations.start(c.id, kept, CONFIRMATION_TTL_MS);
    } else {
      plan = { terminate: true };
      await deps.confirmations.start(c.id, plan, CONFIRMATION_TTL_MS);
    }
  }
  const token = awsToken(c.action, c.id);
  const who = actorLabel(ctx.actor);
  if ('terminate' in plan) {
    const { recordId, watch } = await startMutation(
      {
        call: { op: 'terminate', input: { provisionedProductId: c.provisionedProductId, token } },
        watch: {
          provisionedProductId: c.provisionedProductId,
          name: c.name,
          productName: c.productName,
          kind: c.kind,
          action: 'terminate',
          owner: { platform: ctx.actor.platform, userId: ctx.actor.userId, email: c.email },
          requestId: c.id,
        },
        actor: who,
      },
      deps,
    );
    await markChanging(deps, c.provisionedProductId, recordId);
    await deps.audit.append({ actor: who, action: 'aws.terminate', target: c.name, outcome: `record ${recordId}`, requestId: c.id });
    await deps.watcher.watch(watch);
  } else {
    await applyUpdate(plan, token, who, c.id, deps);
  }
  await deps.confirmations.remove(c.id);
  const verb = c.action === 'terminate' ? 'Terminating' : 'Updating';
  return { text: `${verb} ${c.name}. I'll post progress in your DM.`, tone: 'info' };
}
