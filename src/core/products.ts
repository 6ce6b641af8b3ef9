// What scicomp knows about products: their kind, naming rules, and validation of parameters against their constraints.
import { UserInputError } from './errors.js';
import type { ParameterSpec, Product, ProductKind, ProductVersion } from './ports.js';

export const RESERVED_TAGS = ['Department', 'Project', 'OwnerEmail'] as const;

/** Inferred from the product's name unless the policy says otherwise. */
export function productKind(productName: string): ProductKind {
  const n = productName.toLowerCase();
  if (/\b(s3|bucket)\b/.test(n)) return 'bucket';
  if (/\b(hpc|cluster|parallelcluster)\b/.test(n)) return 'cluster';
  if (/\b(ec2|instance|notebook|workstation)\b/.test(n)) return 'instance';
  return 'other';
}

export function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

/** Finds a product by its name, slug or id, case-insensitively. */
export function findProduct(products: Product[], wanted: string): Product {
  const w = wanted.toLowerCase();
  const found =
    products.find((p) => p.id === wanted) ??
    products.find((p) => p.name.toLowerCase() === w) ??
    products.find((p) => slug(p.name) === slug(wanted));
  if (!found) {
    throw new UserInputError(
      `There is no product called "${wanted}".`,
      `Products you can launch: ${products.map((p) => `"${p.name}"`).join(', ') || 'none'}. See /scicomp products.`,
    );
  }
  return found;
}

/** The newest active version, or the one named (by name or id). */
export function pickVersion(product: Product, wanted?: string): ProductVersion {
  const active = product.versions.filter((v) => v.active);
  if (wanted) {
    const v = product.versions.find((x) => x.id === wanted || x.name === wanted);
    if (!v) {
      throw new UserInputError(
        `${product.name} has no version "${wanted}".`,
        `Versions: ${active.map((x) => x.name).join(', ') || 'none'}.`,
      );
    }
    if (!v.active) throw new UserInputError(`${product.name} ${v.name} is deprecated; launch ${active.at(-1)?.name ?? 'a current version'} instead.`);
    return v;
  }
  const latest = active.at(-1);
  if (!latest) throw new UserInputError(`${product.name} has no active version; ask IT.`);
  return latest;
}

const PRODUCT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}$/;
const CLUSTER_NAME = /^[a-zA-Z0-9][-a-zA-Z0-9]*$/;
const CLUSTER_NAME_MAX = 60;

/** The provisioned product's name carries its owner (`jdoe-data`); a missing name is generated. */
export function provisionedName(kind: ProductKind, username: string, given: string | undefined, suffix: string): string {
  const base = given ?? `${kind === 'other' ? 'product' : kind}-${suffix}`;
  const name = base.toLowerCase().startsWith(`${username.toLowerCase()}-`) ? base : `${username}-${base}`;
  if (kind === 'cluster') {
    if (!CLUSTER_NAME.test(name)) {
      throw new UserInputError(
        `"${name}" is not a valid cluster name: use letters, digits and hyphens, starting with a letter or digit.`,
      );
    }
    if (name.length > CLUSTER_NAME_MAX) throw new UserInputError(`"${name}" is too long for a cluster name (at most ${CLUSTER_NAME_MAX} characters).`);
  } else if (!PRODUCT_NAME.test(name)) {
    throw new UserInputError(
      `"${name}" is not a valid name: use letters, digits, ".", "_" and "-", starting with a letter or digit, at most 128 characters.`,
    );
  }
  return name;
}

const ARN = /^arn:aws[a-z-]*:iam::\d{12}:(user|role)\/[\w+=,.@/-]+$/;

/** Extra rules scicomp knows for some parameters, beyond what the template declares. */
function knownRules(key: string, value: string, secret = false): string | undefined {
  if (key === 'S3UserARNs' && value !== '') {
    if (/\s/.test(value)) return 'S3UserARNs is a comma-separated list of ARNs with no spaces.';
    const bad = value.split(',').find((arn) => !ARN.test(arn));
    if (bad !== undefined) return `S3UserARNs: ${secret ? 'an entry' : `"${bad}"`} is not an IAM user or role ARN (arn:aws:iam::123456789012:user/name).`;
  }
  return undefined;
}

function fullMatch(pattern: string, value: string): boolean {
  try {
    return new RegExp(`^(?:${pattern})$`, 'u').test(value);
  } catch {
    return new RegExp(`^(?:${pattern})$`).test(value);
  }
}

function closest(word: string, candidates: string[]): string | undefined {
  const w = word.toLowerCase();
  return candidates.find((c) => c.toLowerCase() === w) ?? candidates.find((c) => c.toLowerCase().startsWith(w.slice(0, 4)));
}

/** Narrower allowed values from the catalog policy, per parameter key. */
export type ParameterOverrides = Record<string, { allowedValues?: string[]; defaultValue?: string }>;

/** What chat and the audit trail show instead of a NoEcho parameter's value. */
export const MASK = '••••';

/** The keys of NoEcho parameters: their values never reach chat or the audit trail. */
export function noEchoKeys(specs: ParameterSpec[]): string[] {
  return specs.filter((s) => s.noEcho).map((s) => s.key);
}

/** Parameters fit to show or record: NoEcho values masked. */
export function maskSecrets(parameters: Record<string, string>, secretKeys: readonly string[] = []): Record<string, string> {
  return Object.fromEntries(Object.entries(parameters).map(([k, v]) => [k, secretKeys.includes(k) && v !== '' ? MASK : v]));
}

/** Why a value breaks the product's own pattern, length or number constraints, or undefined when it does not. */
function constraintProblem(spec: ParameterSpec, value: string): string | undefined {
  const shown = spec.noEcho ? 'the value given' : `"${value}"`;
  const describe = spec.constraintDescription ? ` ${spec.constraintDescription}` : '';
  if (spec.allowedPattern && !fullMatch(spec.allowedPattern, value)) return `${spec.key}: ${shown} does not match the required pattern ${spec.allowedPattern}.${describe}`;
  if (spec.minLength !== undefined && value.length < spec.minLength) return `${spec.key}: must be at least ${spec.minLength} characters.${describe}`;
  if (spec.maxLength !== undefined && value.length > spec.maxLength) return `${spec.key}: must be at most ${spec.maxLength} characters.${describe}`;
  if (spec.type === 'Number' || spec.minValue !== undefined || spec.maxValue !== undefined) {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) return `${spec.key}: ${shown} is not a number.`;
    if (spec.minValue !== undefined && n < spec.minValue) return `${spec.key}: ${spec.noEcho ? 'the value given' : value} is below the minimum of ${spec.minValue}.`;
    if (spec.maxValue !== undefined && n > spec.maxValue) return `${spec.key}: ${spec.noEcho ? 'the value given' : value} is above the maximum of ${spec.maxValue}.`;
  }
  return knownRules(spec.key, value, spec.noEcho);
}

/**
 * The values a user may choose: the policy can only narrow the product's own list (their intersection), and a policy
 * value the product's constraints refuse never becomes allowed. Undefined when neither side lists values.
 */
export function allowedValuesFor(spec: ParameterSpec, override?: { allowedValues?: string[] }): string[] | undefined {
  const own = spec.allowedValues && spec.allowedValues.length > 0 ? spec.allowedValues : undefined;
  const policy = override?.allowedValues;
  if (!policy) return own;
  return policy.filter((v) => (!own || own.includes(v)) && constraintProblem(spec, v) === undefined);
}

/**
 * Checks given parameters against the product's constraints and returns the full set to send (defaults filled).
 * Throws one UserInputError listing every problem, so the user can fix them in one go.
 */
export function validateParameters(
  productName: string,
  specs: ParameterSpec[],
  given: Record<string, string>,
  overrides: ParameterOverrides = {},
  { partial = false }: { partial?: boolean } = {},
): Record<string, string> {
  const problems: string[] = [];
  const byKey = new Map(specs.map((s) => [s.key, s]));
  for (const key of Object.keys(given)) {
    const reserved = RESERVED_TAGS.find((t) => t.toLowerCase() === key.toLowerCase());
    if (reserved) {
      problems.push(`${reserved} is a reserved tag that scicomp sets for you; remove it from the request.`);
    } else if (!byKey.has(key)) {
      const guess = closest(key, [...byKey.keys()]);
      problems.push(`${key} is not a parameter of ${productName}.${guess ? ` Did you mean ${guess}?` : ''} Parameters: ${[...byKey.keys()].join(', ')}.`);
    }
  }
  const result: Record<string, string> = {};
  for (const spec of specs) {
    const override = overrides[spec.key];
    const value = given[spec.key] ?? (partial ? undefined : (override?.defaultValue ?? spec.defaultValue));
    if (value === undefined) {
      if (!partial) problems.push(`${spec.key} is required${spec.description ? ` (${spec.description})` : ''}.`);
      continue;
    }
    const shown = spec.noEcho ? 'the value given' : `"${value}"`;
    const allowed = allowedValuesFor(spec, override);
    if (allowed && !allowed.includes(value)) {
      const byPolicy = override?.allowedValues !== undefined;
      problems.push(
        allowed.length === 0
          ? `${spec.key}: the catalog policy allows no value that ${productName} accepts; ask IT to fix the policy.`
          : `${spec.key}: ${shown} is not allowed${byPolicy ? ' by policy' : ''}. Choose one of: ${allowed.join(', ')}.`,
      );
    } else {
      const problem = constraintProblem(spec, value);
      if (problem) problems.push(problem);
    }
    result[spec.key] = value;
  }
  if (problems.length > 0) {
    throw new UserInputError(problems.length === 1 ? problems[0]! : `${productName}: please fix these:\n• ${problems.join('\n• ')}`);
  }
  return result;
}
