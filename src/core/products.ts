// What scicomp knows about products: their kind, naming rules, and validation of parameters against their constraints.
import { UserInputError } from './errors.js';
import type { CommandText } from './channel.js';
import type { LaunchPath, ParameterSpec, Product, ProductKind, ProductVersion, UsageInstruction } from './ports.js';

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
export function findProduct(products: Product[], wanted: string, say: CommandText): Product {
  const w = wanted.toLowerCase();
  const found =
    products.find((p) => p.id === wanted) ??
    products.find((p) => p.name.toLowerCase() === w) ??
    products.find((p) => slug(p.name) === slug(wanted));
  if (!found) {
    throw new UserInputError(
      `There is no product called "${wanted}".`,
      `Products you can launch: ${products.map((p) => `"${p.name}"`).join(', ') || 'none'}. See ${say('products')}.`,
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

/** How a launch path is shown and chosen: its name, or name and id where the name is missing or shared. */
export function pathLabel(path: LaunchPath, paths: LaunchPath[]): string {
  const unique = path.name && paths.filter((p) => p.name?.toLowerCase() === path.name!.toLowerCase()).length === 1;
  return unique ? path.name! : `${path.name ?? 'unnamed'} (${path.id})`;
}

/** The launch path named by id or label (case-insensitively), if any. */
export function findLaunchPath(paths: LaunchPath[], wanted: string): LaunchPath | undefined {
  const w = wanted.trim().toLowerCase();
  return paths.find((p) => p.id === wanted.trim()) ?? paths.find((p) => pathLabel(p, paths).toLowerCase() === w);
}

/**
 * The launch path to use: the one the catalog policy names, else the one the user named (`path=`), else the only one.
 * Several paths and no choice is a question for the user, asked by the error.
 */
export function pickLaunchPath(productName: string, paths: LaunchPath[], say: CommandText, byPolicy?: string, wanted?: string): LaunchPath {
  const list = () => paths.map((p) => `"${pathLabel(p, paths)}"`).join(', ');
  if (byPolicy) {
    const pinned = findLaunchPath(paths, byPolicy);
    if (!pinned) throw new UserInputError(`The catalog policy launches ${productName} through the launch path "${byPolicy}", which it does not have (it has ${list()}). Ask IT to fix the policy.`);
    if (wanted && findLaunchPath(paths, wanted) !== pinned) {
      throw new UserInputError(`The catalog policy launches ${productName} through the launch path "${pathLabel(pinned, paths)}"; leave out path=.`);
    }
    return pinned;
  }
  if (wanted) {
    const chosen = findLaunchPath(paths, wanted);
    if (!chosen) throw new UserInputError(`${productName} has no launch path "${wanted}". Launch paths: ${list()}.`);
    return chosen;
  }
  if (paths.length === 1) return paths[0]!;
  throw new UserInputError(
    `${productName} can be launched through ${paths.length} launch paths: ${list()}. Say which with path=, e.g. path="${pathLabel(paths[0]!, paths)}".`,
    `${say(`launch "${productName}" <name> path="${pathLabel(paths[0]!, paths)}" key=value …`)}, or ${say('launch')} with no arguments for a form.`,
  );
}

const USAGE_MAX = 500;

/** The catalog administrator's usage instructions, one line each, fit to show. */
export function usageLines(instructions: UsageInstruction[] | undefined): string[] {
  return (instructions ?? [])
    .filter((u) => u.value.trim() !== '')
    .map((u) => {
      const line = u.type ? `${u.type}: ${u.value.trim()}` : u.value.trim();
      return line.length > USAGE_MAX ? `${line.slice(0, USAGE_MAX - 1)}…` : line;
    });
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

// Java lets any punctuation be escaped; JavaScript's unicode mode only its syntax characters.
const SYNTAX = new Set('^$\\.*+?()[]{}|/'.split(''));

function literal(ch: string): string {
  if (SYNTAX.has(ch)) return `\\${ch}`;
  if (/[A-Za-z0-9_]/.test(ch)) return ch;
  const code = ch.codePointAt(0)!;
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/** Java's POSIX character classes (US-ASCII only), as the inside of a JavaScript class. */
const POSIX: Record<string, string> = {
  Lower: 'a-z',
  Upper: 'A-Z',
  ASCII: '\\x00-\\x7f',
  Alpha: 'a-zA-Z',
  Digit: '0-9',
  Alnum: 'a-zA-Z0-9',
  Punct: '!-\\/:-@\\[-`{-~',
  Graph: '!-~',
  Print: ' -~',
  Blank: ' \\t',
  Cntrl: '\\x00-\\x1f\\x7f',
  XDigit: '0-9a-fA-F',
  Space: ' \\t\\n\\x0b\\f\\r',
};

/**
 * A CloudFormation (Java) pattern as JavaScript regular-expression source, with Java's escaped punctuation and `\Q…\E`
 * quoting rewritten; undefined for constructs JavaScript would read differently (class intersections and unions, `\v`).
 * `legacy` says whether JavaScript's non-unicode mode reads the source as Java does (no letter escape it takes literally).
 */
function javaToJs(pattern: string): { source: string; legacy: boolean } | undefined {
  let source = '';
  let legacy = true;
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\') {
      const next = pattern[++i];
      if (next === undefined) return undefined;
      if (next === 'Q') {
        const end = pattern.indexOf('\\E', i + 1);
        source += [...pattern.slice(i + 1, end === -1 ? undefined : end)].map(literal).join('');
        i = end === -1 ? pattern.length : end + 1;
      } else if (next === 'x' && pattern[i + 1] === '{') {
        const end = pattern.indexOf('}', i);
        if (end === -1) return undefined;
        source += `\\u${pattern.slice(i + 1, end + 1)}`;
        i = end;
        legacy = false;
      } else if (next === 'p' || next === 'P') {
        // `\pL` is `\p{L}`; Java's POSIX classes are ASCII-only where JavaScript's like-named properties are Unicode.
        const braced = pattern[i + 1] === '{';
        const end = braced ? pattern.indexOf('}', i) : i + 1;
        if (end === -1 || end >= pattern.length) return undefined;
        const name = braced ? pattern.slice(i + 2, end) : pattern[end]!;
        i = end;
        const posix = Object.hasOwn(POSIX, name) ? POSIX[name] : undefined;
        if (posix === undefined) {
          source += `\\${next}{${name}}`;
          legacy = false;
        } else if (!inClass) {
          source += next === 'P' ? `[^${posix}]` : `[${posix}]`;
        } else if (next === 'P') {
          return undefined;
        } else {
          source += posix;
        }
      } else if (next === 'v') {
        return undefined;
      } else if (/[A-Za-z0-9]/.test(next)) {
        if (!/[dDwWsSbBnrtf0-9cxu]/.test(next)) legacy = false;
        source += `\\${next}`;
      } else {
        source += literal(next);
      }
    } else if (inClass) {
      if (ch === '[' || (ch === '&' && pattern[i + 1] === '&')) return undefined;
      if (ch === ']') inClass = false;
      source += ch;
    } else if (ch === '[') {
      inClass = true;
      source += ch;
      // A `]` first in a class is a literal in Java, and an empty class in JavaScript.
      if (pattern[i + 1] === '^') source += pattern[++i];
      if (pattern[i + 1] === ']') {
        source += '\\]';
        i++;
      }
    } else {
      source += ch;
    }
  }
  return { source, legacy };
}

const compiled = new Map<string, RegExp | null>();

/** The pattern compiled to match a whole value, or undefined when JavaScript cannot check it (cached either way). */
export function compilePattern(pattern: string): RegExp | undefined {
  if (!compiled.has(pattern)) {
    const js = javaToJs(pattern);
    let re: RegExp | null = null;
    if (js) {
      try {
        re = new RegExp(`^(?:${js.source})$`, 'u');
      } catch {
        try {
          if (js.legacy) re = new RegExp(`^(?:${js.source})$`);
        } catch {
          re = null;
        }
      }
    }
    compiled.set(pattern, re);
  }
  return compiled.get(pattern) ?? undefined;
}

const reported = new Set<string>();

/** Reports a pattern the bot cannot check, once per pattern for this process. */
function reportUncompilable(pattern: string, key: string, warn?: PatternWarning): void {
  if (!warn || reported.has(pattern)) return;
  reported.add(pattern);
  warn(key, pattern);
}

/** Told about an AllowedPattern JavaScript cannot compile; its check is skipped (Service Catalog still applies it). */
export type PatternWarning = (parameter: string, pattern: string) => void;

/** CloudFormation applies a list parameter's (CommaDelimitedList, List<…>) constraints to each of its elements. */
export function isListType(type: string | undefined): boolean {
  return type === 'CommaDelimitedList' || /^List<.+>$/.test(type ?? '');
}

/** A list parameter's value as its trimmed elements; an empty value is an empty list. */
export function listElements(value: string): string[] {
  return value.trim() === '' ? [] : value.split(',').map((e) => e.trim());
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
/**
 * A parameter as the bot may hold it: a NoEcho parameter's default is a secret of the template (AWS may hand it back
 * masked, or in clear), so only that one exists is kept. Nothing then sends it, caches it or shows it.
 */
export function hideNoEchoDefault(spec: ParameterSpec): ParameterSpec {
  if (!spec.noEcho) return spec;
  const { defaultValue, ...rest } = spec;
  return defaultValue === undefined ? rest : { ...rest, hasDefault: true };
}

export function noEchoKeys(specs: ParameterSpec[]): string[] {
  return specs.filter((s) => s.noEcho).map((s) => s.key);
}

/** Parameters fit to show or record: NoEcho values masked. */
export function maskSecrets(parameters: Record<string, string>, secretKeys: readonly string[] = []): Record<string, string> {
  return Object.fromEntries(Object.entries(parameters).map(([k, v]) => [k, secretKeys.includes(k) && v !== '' ? MASK : v]));
}

/** Why one value (a list parameter: one element) breaks the product's pattern or number limits, or undefined. */
function elementProblem(spec: ParameterSpec, value: string, warn?: PatternWarning): string | undefined {
  const list = isListType(spec.type);
  const shown = spec.noEcho ? (list ? 'an element' : 'the value given') : `"${value}"`;
  const describe = spec.constraintDescription ? ` ${spec.constraintDescription}` : '';
  if (spec.allowedPattern) {
    const pattern = compilePattern(spec.allowedPattern);
    if (!pattern) reportUncompilable(spec.allowedPattern, spec.key, warn);
    else if (!pattern.test(value)) return `${spec.key}: ${shown} does not match the required pattern ${spec.allowedPattern}.${describe}`;
  }
  if (spec.type === 'Number' || spec.type === 'List<Number>' || spec.minValue !== undefined || spec.maxValue !== undefined) {
    const n = Number(value);
    const number = spec.noEcho ? shown : value;
    if (value.trim() === '' || !Number.isFinite(n)) return `${spec.key}: ${shown} is not a number.`;
    if (spec.minValue !== undefined && n < spec.minValue) return `${spec.key}: ${number} is below the minimum of ${spec.minValue}.`;
    if (spec.maxValue !== undefined && n > spec.maxValue) return `${spec.key}: ${number} is above the maximum of ${spec.maxValue}.`;
  }
  return undefined;
}

/** Why a value breaks the product's own pattern, length or number constraints, or undefined when it does not. */
function constraintProblem(spec: ParameterSpec, value: string, warn?: PatternWarning): string | undefined {
  const describe = spec.constraintDescription ? ` ${spec.constraintDescription}` : '';
  const elements = isListType(spec.type) ? listElements(value) : [value];
  for (const e of elements) {
    const problem = elementProblem(spec, e, warn);
    if (problem) return problem;
  }
  if (spec.minLength !== undefined && value.length < spec.minLength) return `${spec.key}: must be at least ${spec.minLength} characters.${describe}`;
  if (spec.maxLength !== undefined && value.length > spec.maxLength) return `${spec.key}: must be at most ${spec.maxLength} characters.${describe}`;
  return knownRules(spec.key, value, spec.noEcho);
}

/**
 * The values a user may choose (for a list parameter: for each element): the policy can only narrow the product's own
 * list (their intersection), and a policy value the product's constraints refuse never becomes allowed. Undefined when
 * neither side lists values.
 */
export function allowedValuesFor(spec: ParameterSpec, override?: { allowedValues?: string[] }): string[] | undefined {
  const own = spec.allowedValues && spec.allowedValues.length > 0 ? spec.allowedValues : undefined;
  const policy = override?.allowedValues;
  if (!policy) return own;
  const fits = (v: string) => (isListType(spec.type) ? elementProblem(spec, v) : constraintProblem(spec, v)) === undefined;
  return policy.filter((v) => (!own || own.includes(v)) && fits(v));
}

export interface ValidationOptions {
  /** Only the given parameters are checked and returned (an update). */
  partial?: boolean;
  /** Told once per pattern when an AllowedPattern cannot be checked here. */
  warn?: PatternWarning;
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
  { partial = false, warn }: ValidationOptions = {},
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
      // Left out, a NoEcho parameter takes the template's default in AWS: the bot never holds it.
      if (spec.hasDefault) continue;
      if (!partial) problems.push(`${spec.key} is required${spec.description ? ` (${spec.description})` : ''}.`);
      continue;
    }
    const list = isListType(spec.type);
    const allowed = allowedValuesFor(spec, override);
    const refused = allowed ? (list ? listElements(value) : [value]).filter((e) => !allowed.includes(e)) : [];
    if (allowed && (allowed.length === 0 || refused.length > 0)) {
      const byPolicy = override?.allowedValues !== undefined;
      const shown = spec.noEcho ? (list ? 'an element' : 'the value given') : refused.map((e) => `"${e}"`).join(', ');
      problems.push(
        allowed.length === 0
          ? `${spec.key}: the catalog policy allows no value that ${productName} accepts; ask IT to fix the policy.`
          : list
            ? `${spec.key}: ${shown} ${refused.length > 1 && !spec.noEcho ? 'are' : 'is'} not allowed${byPolicy ? ' by policy' : ''}. Choose from: ${allowed.join(', ')} (several, comma-separated).`
            : `${spec.key}: ${shown} is not allowed${byPolicy ? ' by policy' : ''}. Choose one of: ${allowed.join(', ')}.`,
      );
    } else {
      const problem = constraintProblem(spec, value, warn);
      if (problem) problems.push(problem);
    }
    result[spec.key] = value;
  }
  if (problems.length > 0) {
    throw new UserInputError(problems.length === 1 ? problems[0]! : `${productName}: please fix these:\n• ${problems.join('\n• ')}`);
  }
  return result;
}
