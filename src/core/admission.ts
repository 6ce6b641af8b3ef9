// The one policy check of every path that sets a product's parameters (launch, update): role, narrowed values, approval.
import type { Actor } from './context.js';
import { NotAuthorizedError, UserInputError } from './errors.js';
import type { Policy } from './policy.js';
import type { ParameterSpec } from './ports.js';
import { isListType, validateParameters } from './products.js';

export interface PolicyRequest {
  productName: string;
  /** The product version's own parameters and constraints. */
  specs: ParameterSpec[];
  /** What the person asks for: a launch's parameters, or an update's changes. */
  requested: Record<string, string>;
  /**
   * An update: the provisioned product's name and its current parameters as far as scicomp knows them (NoEcho values
   * and values it did not set are absent, and count as unknown). Absent for a launch.
   */
  update?: { name: string; current: Record<string, string> };
  /** Told once per AllowedPattern this process cannot compile (its check is left to Service Catalog). */
  warn?: (parameter: string, pattern: string) => void;
}

export interface PolicyVerdict {
  /** Validated: a launch's every parameter (defaults filled), or an update's changes. */
  parameters: Record<string, string>;
  /** Why IT must approve it first, or undefined. */
  reason?: string;
}

/**
 * Judges what a product would run with once this request is carried out: a launch's parameters, or an update's changes
 * over the product's current parameters. Throws when the person's role may not use the product or a value is not
 * allowed (by the product or, narrower, by the policy); otherwise says whether the policy sends it to IT.
 */
export function checkAgainstPolicy(req: PolicyRequest, actor: Pick<Actor, 'email' | 'handles'>, policy: Policy): PolicyVerdict {
  const { productName, specs, requested, update, warn } = req;
  const listKeys = specs.filter((s) => isListType(s.type)).map((s) => s.key);
  const rule = policy.productRule(productName);
  const role = policy.roleOf(actor);
  if (!rule.roles.includes(role)) {
    throw new NotAuthorizedError(
      update ? `Your role (${role}) may not use ${productName}, so ${update.name} cannot be changed. Ask IT.` : `Your role (${role}) may not launch ${productName}. Ask IT if you need it.`,
    );
  }
  if (!update) {
    const parameters = validateParameters(productName, specs, requested, rule.overrides, { warn });
    return { parameters, reason: policy.approvalReason(productName, parameters, { listKeys }) };
  }
  const changes = validateParameters(productName, specs, requested, rule.overrides, { partial: true, warn });
  const known = new Set(specs.map((s) => s.key));
  const kept = Object.fromEntries(Object.entries(update.current).filter(([k]) => known.has(k) && !(k in changes)));
  try {
    // The product is judged whole: what it keeps must still be allowed too.
    validateParameters(productName, specs, kept, rule.overrides, { partial: true, warn });
  } catch (err) {
    if (!(err instanceof UserInputError)) throw err;
    throw new UserInputError(`${update.name} runs with settings the policy no longer allows: ${err.message} Change them in the same update.`);
  }
  const resulting = { ...kept, ...changes };
  const unknown = specs.map((s) => s.key).filter((k) => !(k in resulting));
  return { parameters: changes, reason: policy.approvalReason(productName, resulting, { listKeys, unknown }) };
}
