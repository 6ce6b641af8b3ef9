// `launch`: validate a request against the product and the policy, then provision it (or hand it to approvals).
import { cachedLaunchOptions, cachedProducts } from './catalog-cache.js';
import type { CommandText } from './channel.js';
import type { Actor, CoreDeps, Ctx } from './context.js';
import { NotAuthorizedError, UserInputError } from './errors.js';
import { awsToken, shortSuffix } from './ids.js';
import type { Form, FormInput, Message } from './message.js';
import { provisioningProduct, refreshProduct } from './inventory.js';
import { isOwner } from './ownership.js';
import type { LaunchOptions, ParameterSpec, Platform, Product, ProductKind, ProductVersion } from './ports.js';
import { allowedValuesFor, findLaunchPath, findProduct, isListType, listElements, maskSecrets, noEchoKeys, pathLabel, pickLaunchPath, pickVersion, provisionedName, usageLines } from './products.js';
import { openJson, sealJson } from './sealed.js';
import { checkAgainstPolicy } from './admission.js';
import { rememberRecordParameters } from './provisioned-parameters.js';
import { startMutation } from './mutations.js';

/** Everything needed to provision, serialisable so an approval can carry it and run it later. */
export interface LaunchPlan {
  requestId: string;
  productId: string;
  productName: string;
  versionId: string;
  versionName: string;
  pathId: string;
  kind: ProductKind;
  name: string;
  parameters: Record<string, string>;
  tags: Record<string, string>;
  owner: { platform: Platform; userId: string; email: string };
  /** Keys of NoEcho parameters (noEchoKeys in products.ts): their values are masked in chat and the audit trail. */
  secretKeys?: string[];
  /** Keys of list parameters: approval rules look at each of their elements. */
  listKeys?: string[];
  /** The product's usage instructions, told to the owner when it is ready. */
  usage?: string[];
  /** Why the policy sends this launch to IT (checkAgainstPolicy), when it does. */
  approvalReason?: string;
}

export interface LaunchRequest {
  product?: string;
  name?: string;
  params: Record<string, string>;
}

export async function planLaunch(req: LaunchRequest, ctx: Ctx, deps: CoreDeps): Promise<LaunchPlan> {
  const { actor } = ctx;
  const say = deps.channels.commands(actor.platform);
  if (!req.product) throw new UserInputError(`Which product? Run ${say('launch')} with no arguments for a form, or ${say('products')} for the list.`);
  const products = await cachedProducts(deps);
  const product = findProduct(products, req.product, say);
  const policy = deps.policy();
  const rule = policy.productRule(product.name);
  const { version: wantedVersion, path: wantedPath, ...params } = req.params;
  const version = pickVersion(product, wantedVersion);
  const options = await pathOptions(deps, product, version, say, rule.launchPath, wantedPath);
  const warn = (parameter: string, pattern: string) =>
    deps.log.warn({ product: product.name, parameter, pattern }, 'AllowedPattern cannot be compiled here; its check is left to Service Catalog');
  const { parameters, reason } = checkAgainstPolicy({ productName: product.name, specs: options.parameters, requested: params, warn }, actor, policy);
  const name = provisionedName(rule.kind, actor.username, req.name, shortSuffix(ctx.requestId));
  // A name the inventory knows may have been freed in the console since its last reconcile: that product is re-read by
  // id, and a name it does not know (or no longer has) is checked with Service Catalog itself.
  const known = (await deps.inventory.byName(name))[0];
  const existing = (known && (await refreshProduct(deps, known.id))) ?? (await deps.catalog.findProvisionedByName(name));
  if (existing) {
    throw new UserInputError(
      isOwner(existing, actor.email)
        ? `You already have a product called ${name}. Pick another name, or see ${say(`status ${name}`)}.`
        : `The name ${name} is taken; pick another.`,
    );
  }
  return {
    requestId: ctx.requestId,
    productId: product.id,
    productName: product.name,
    versionId: version.id,
    versionName: version.name,
    pathId: options.pathId,
    kind: rule.kind,
    name,
    parameters,
    secretKeys: noEchoKeys(options.parameters),
    listKeys: options.parameters.filter((s) => isListType(s.type)).map((s) => s.key),
    usage: usageLines(options.usageInstructions),
    tags: { ...policy.tagsFor(actor), OwnerEmail: actor.email },
    owner: { platform: actor.platform, userId: actor.userId, email: actor.email },
    approvalReason: reason,
  };
}

/** Provisions a validated plan; safe to run twice (the ProvisionToken derives from the request id). */
export async function provisionPlan(plan: LaunchPlan, actor: string, deps: CoreDeps): Promise<string> {
  const { recordId, provisionedProductId, watch } = await startMutation(
    {
      call: {
        op: 'provision',
        input: { productId: plan.productId, versionId: plan.versionId, pathId: plan.pathId, name: plan.name, parameters: plan.parameters, tags: plan.tags, token: awsToken('launch', plan.requestId) },
      },
      watch: {
        name: plan.name,
        productName: plan.productName,
        kind: plan.kind,
        action: 'provision',
        owner: plan.owner,
        requestId: plan.requestId,
        ...(plan.usage?.length ? { usage: plan.usage } : {}),
      },
      actor,
    },
    deps,
  );
  await rememberRecordParameters(deps, recordId, plan.parameters, plan.secretKeys);
  if (provisionedProductId) await deps.inventory.upsert(provisioningProduct(plan, { provisionedProductId, recordId }, deps.clock.now()));
  await deps.audit.append({
    actor,
    action: 'aws.provision',
    target: plan.name,
    parameters: { product: plan.productName, version: plan.versionName, ...maskSecrets(plan.parameters, plan.secretKeys) },
    outcome: `record ${recordId}`,
    requestId: plan.requestId,
  });
  await deps.watcher.watch(watch);
  return recordId;
}

export function launchStartedMessage(plan: LaunchPlan): Message {
  return {
    text: `Launching ${plan.name} (${plan.productName} ${plan.versionName}). I'll post progress in your DM.`,
    tone: 'info',
    title: `Launching ${plan.name}`,
    fields: [
      { label: 'Product', value: `${plan.productName} ${plan.versionName}` },
      ...Object.entries(maskSecrets(plan.parameters, plan.secretKeys))
        .filter(([, v]) => v !== '')
        .map(([label, value]) => ({ label, value })),
    ],
    context: ["I'll post progress in your DM."],
  };
}

/** Hook for approvals: set by the approvals module so launch stays unaware of how requests are routed. */
export type ApprovalRouter = (plan: LaunchPlan, reason: string, ctx: Ctx, deps: CoreDeps) => Promise<Message>;

const PLAN_TTL_MS = 7 * 86400_000;

export async function launch(req: LaunchRequest, ctx: Ctx, deps: CoreDeps, routeApproval?: ApprovalRouter): Promise<Message> {
  // A retried job finds the plan its first attempt provisioned: re-planning would now see that product as a name clash.
  const provisioned = await openJson(deps.sealer, await deps.launchPlans.get(ctx.requestId));
  if (provisioned) {
    await provisionPlan(provisioned, actorLabel(ctx.actor), deps);
    return launchStartedMessage(provisioned);
  }
  const plan = await planLaunch(req, ctx, deps);
  const reason = plan.approvalReason;
  if (reason) {
    if (!routeApproval) throw new NotAuthorizedError(`${reason}, and approvals are not configured.`);
    return routeApproval(plan, reason, ctx, deps);
  }
  // Sealed: its parameters may hold NoEcho values, which are kept only encrypted with the bot's data key.
  await deps.launchPlans.save(plan.requestId, await sealJson(deps.sealer, plan), PLAN_TTL_MS);
  await provisionPlan(plan, actorLabel(ctx.actor), deps);
  return launchStartedMessage(plan);
}

/** The launch options of the path to launch through (policy, then `path=`, then the only one): see pickLaunchPath. */
async function pathOptions(deps: CoreDeps, product: Product, version: ProductVersion, say: CommandText, byPolicy?: string, wanted?: string): Promise<LaunchOptions> {
  const first = await cachedLaunchOptions(deps, product.id, version.id);
  const path = pickLaunchPath(product.name, first.paths ?? [{ id: first.pathId }], say, byPolicy, wanted);
  return path.id === first.pathId ? first : cachedLaunchOptions(deps, product.id, version.id, path.id);
}

export function actorLabel(actor: Actor): string {
  return `${actor.platform}:${actor.userId}`;
}

// ---------- the launch form ----------

export interface LaunchFormState {
  productId?: string;
  versionId?: string;
  pathId?: string;
}

function parameterInput(spec: ParameterSpec, override?: { allowedValues?: string[]; defaultValue?: string }): FormInput {
  const options = allowedValuesFor(spec, override);
  const several = isListType(spec.type) && options !== undefined && options.length > 0;
  // A NoEcho default is a secret too: never drawn into the form.
  const initial = spec.noEcho ? undefined : (override?.defaultValue ?? spec.defaultValue);
  const hintParts = [spec.description, spec.constraintDescription].filter(Boolean);
  return {
    key: spec.key,
    label: spec.key,
    hint: hintParts.join(' ') || undefined,
    kind: options && options.length > 0 ? 'select' : 'text',
    options: options && options.length > 0 ? options : undefined,
    ...(several ? { multiple: true } : {}),
    initial: initial === '' ? undefined : initial,
    optional: spec.defaultValue !== undefined || spec.hasDefault === true,
  };
}

/**
 * The form: a product picker, then (once a product is chosen) a launch-path picker where the product has several and
 * the policy names none, then a name and one input per parameter. `current` holds the values already chosen.
 */
export async function launchForm(ctx: Ctx, deps: CoreDeps, productId?: string, current: Record<string, string | undefined> = {}): Promise<Form> {
  const policy = deps.policy();
  const role = policy.roleOf(ctx.actor);
  const products = (await cachedProducts(deps)).filter((p) => policy.productRule(p.name).roles.includes(role));
  if (products.length === 0) throw new NotAuthorizedError(`Your role (${role}) may not launch any product. Ask IT.`);
  const picker: FormInput = {
    key: 'product',
    label: 'Product',
    kind: 'select',
    options: products.map((p) => p.name),
    dispatch: true,
  };
  const chosen = productId ? products.find((p) => p.id === productId) : undefined;
  if (!chosen) {
    return { id: 'launch', title: 'Launch a product', intro: 'Choose a product to see its parameters.', inputs: [picker], state: JSON.stringify({}) };
  }
  const version = pickVersion(chosen);
  const rule = policy.productRule(chosen.name);
  const first = await cachedLaunchOptions(deps, chosen.id, version.id);
  const paths = first.paths ?? [{ id: first.pathId }];
  const asked = !rule.launchPath && paths.length > 1;
  const path = asked ? (current.path ? findLaunchPath(paths, current.path) : undefined) : pickLaunchPath(chosen.name, paths, deps.channels.commands(ctx.actor.platform), rule.launchPath);
  const about = `${chosen.name} ${version.name}${chosen.description ? `: ${chosen.description}` : ''}. ${policy.approvalSummary(chosen.name)}.`;
  const inputs: FormInput[] = [{ ...picker, initial: chosen.name }];
  if (asked) {
    inputs.push({
      key: 'path',
      label: 'Launch path',
      kind: 'select',
      options: paths.map((p) => pathLabel(p, paths)),
      initial: path && pathLabel(path, paths),
      dispatch: true,
      hint: 'The portfolio to launch through: its constraints apply.',
    });
  }
  if (!path) {
    const intro = `${about} It can be launched through ${paths.length} launch paths: choose one to see its parameters.`;
    return { id: 'launch', title: 'Launch a product', intro, inputs, state: JSON.stringify({ productId: chosen.id, versionId: version.id } satisfies LaunchFormState) };
  }
  const options = path.id === first.pathId ? first : await cachedLaunchOptions(deps, chosen.id, version.id, path.id);
  const usage = usageLines(options.usageInstructions);
  const state: LaunchFormState = { productId: chosen.id, versionId: version.id, pathId: path.id };
  return {
    id: 'launch',
    title: 'Launch a product',
    submitLabel: 'Launch',
    intro: usage.length ? `${about}\nUsage instructions:\n${usage.map((l) => `• ${l}`).join('\n')}` : about,
    inputs: [
      ...inputs,
      {
        key: 'name',
        label: 'Name',
        kind: 'text',
        optional: true,
        initial: current.name || undefined,
        hint: `Your username is added in front (${ctx.actor.username}-…). Leave empty for a generated name.`,
      },
      ...options.parameters.map((s) => withCurrent(parameterInput(s, rule.overrides[s.key]), s, current[s.key])),
    ],
    state: JSON.stringify(state),
  };
}

/** An input showing what was already chosen, where it still fits (never a NoEcho value: it would be drawn back). */
function withCurrent(input: FormInput, spec: ParameterSpec, value: string | undefined): FormInput {
  if (value === undefined || value === '' || spec.noEcho) return input;
  const fits = !input.options || (input.multiple ? listElements(value) : [value]).every((v) => input.options!.includes(v));
  return fits ? { ...input, initial: value } : input;
}

/** A submitted form as a launch request; empty optional inputs fall back to defaults. */
export function formToRequest(values: Record<string, string | undefined>, products: { id: string; name: string }[], state: LaunchFormState): LaunchRequest {
  const { product, name, ...rest } = values;
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(rest)) if (v !== undefined && v !== '') params[k] = v;
  const productName = product ?? products.find((p) => p.id === state.productId)?.name;
  return { product: productName, name: name?.trim() || undefined, params };
}
