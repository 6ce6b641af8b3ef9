// list, status, connect, update and terminate of a user's own provisioned products, with confirmations for the destructive ones.
import { cachedLaunchOptions } from './catalog-cache.js';
import { connectMessage } from './connect.js';
import type { CoreDeps, Ctx, RecordAction } from './context.js';
import { NotAuthorizedError, UserInputError } from './errors.js';
import { awsToken, newRequestId } from './ids.js';
import { actorLabel } from './launch.js';
import type { Field, Message } from './message.js';
import { ownProduct, productsOwnedBy } from './ownership.js';
import type { ProductKind, ProvisionedProduct, RecordOutput } from './ports.js';
import { maskSecrets, noEchoKeys, validateParameters } from './products.js';
import { openJson, sealJson, type Sealed } from './sealed.js';

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

export interface Confirmation {
  id: string;
  action: 'update' | 'terminate';
  requester: string;
  email: string;
  provisionedProductId: string;
  name: string;
  productId?: string;
  productName: string;
  versionId?: string;
  kind: ProductKind;
  parameters?: Record<string, string>;
  parameterKeys?: string[];
  /** NoEcho parameter keys: their values are masked in the audit trail. */
  secretKeys?: string[];
}

function confirmationKey(deps: CoreDeps, id: string): string {
  return deps.store.key('confirm', id);
}

async function askToConfirm(c: Omit<Confirmation, 'id'>, text: string, body: string[], deps: CoreDeps, confirmLabel: string): Promise<Message> {
  const id = newRequestId();
  // Sealed: an update's parameters may hold NoEcho values, which Redis keeps only encrypted with the bot's data key.
  await deps.store.setJson(confirmationKey(deps, id), await sealJson(deps.sealer, { ...c, id }), CONFIRMATION_TTL_MS);
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

export async function update(name: string, params: Record<string, string>, ctx: Ctx, deps: CoreDeps): Promise<Message> {
  const p = await ownProduct(deps, ctx.actor, name);
  if (!p.productId || !p.versionId) throw new UserInputError(`${p.name} has no product version on record; ask IT.`);
  if (p.status === 'UNDER_CHANGE') throw new UserInputError(`${p.name} is already changing; wait for it to finish.`);
  const productName = p.productName ?? p.name;
  const options = await cachedLaunchOptions(deps, p.productId, p.versionId);
  const rule = deps.policy().productRule(productName);
  const changed = validateParameters(productName, options.parameters, params, rule.overrides, { partial: true });
  const kind = rule.kind;
  const secretKeys = noEchoKeys(options.parameters);
  const changes = Object.entries(maskSecrets(changed, secretKeys)).map(([k, v]) => `${k} → ${v}`).join(', ');
  const body =
    kind === 'instance' || kind === 'cluster'
      ? [
          `Updating ${p.name} (${changes}) usually *replaces* the instance: anything stored on its local disks will be lost.`,
          'Copy what you need to S3 first.',
        ]
      : [`Update ${p.name}: ${changes}.`];
  return askToConfirm(
    {
      action: 'update',
      requester: ctx.actor.userId,
      email: ctx.actor.email,
      provisionedProductId: p.id,
      name: p.name,
      productId: p.productId,
      productName,
      versionId: p.versionId,
      kind,
      parameters: changed,
      parameterKeys: options.parameters.map((s) => s.key),
      secretKeys,
    },
    `Update ${p.name}?`,
    body,
    deps,
    kind === 'instance' ? 'Replace and update' : 'Update',
  );
}

export async function terminate(name: string, ctx: Ctx, deps: CoreDeps): Promise<Message> {
  const p = await ownProduct(deps, ctx.actor, name);
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

/** A click on Confirm or Cancel. The confirmation is taken atomically: a double click acts once. */
export async function decideConfirmation(id: string, confirmed: boolean, ctx: Ctx, deps: CoreDeps): Promise<Message> {
  const key = confirmationKey(deps, id);
  const c = await openJson(deps.sealer, await deps.store.getJson<Confirmation | Sealed>(key));
  if (!c) return { text: 'This confirmation has expired or was already used. Run the command again.', tone: 'info' };
  if (c.requester !== ctx.actor.userId) throw new NotAuthorizedError('Only the person who asked can confirm this.');
  // Claimed by this click (a double click is another click); kept until AWS has the request, so a retried job carries on.
  const claimKey = `${key}:claim`;
  if (!(await deps.store.claim(claimKey, CONFIRMATION_TTL_MS, ctx.requestId)) && (await deps.store.redis.get(claimKey)) !== ctx.requestId) {
    return { text: 'This confirmation was already used.', tone: 'info' };
  }
  if (!confirmed) {
    await deps.store.del(key);
    return { text: `Cancelled: ${c.name} is unchanged.`, tone: 'info' };
  }
  const token = awsToken(c.action, c.id);
  let recordId: string;
  if (c.action === 'terminate') {
    ({ recordId } = await deps.catalog.terminate({ provisionedProductId: c.provisionedProductId, token }));
  } else {
    ({ recordId } = await deps.catalog.update({
      provisionedProductId: c.provisionedProductId,
      productId: c.productId!,
      versionId: c.versionId!,
      parameters: c.parameters ?? {},
      parameterKeys: c.parameterKeys ?? [],
      token,
    }));
  }
  await deps.audit.append({
    actor: actorLabel(ctx.actor),
    action: `aws.${c.action}`,
    target: c.name,
    parameters: c.parameters && maskSecrets(c.parameters, c.secretKeys),
    outcome: `record ${recordId}`,
    requestId: c.id,
  });
  await deps.watcher.watch({
    recordId,
    provisionedProductId: c.provisionedProductId,
    name: c.name,
    productName: c.productName,
    kind: c.kind,
    action: c.action satisfies RecordAction,
    owner: { platform: ctx.actor.platform, userId: ctx.actor.userId, email: c.email },
    requestId: c.id,
  });
  await deps.store.del(key);
  const verb = c.action === 'terminate' ? 'Terminating' : 'Updating';
  return { text: `${verb} ${c.name}. I'll post progress in your DM.`, tone: 'info' };
}
