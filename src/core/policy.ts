// The catalog policy (manifests/catalog.yaml): who may launch what, narrower parameters, approval rules, approvers, budgets, alarms.
import { readFile } from 'node:fs/promises';
import { LineCounter, isMap, isNode, isScalar, parseDocument, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import type { CatalogPort, ProductKind } from './ports.js';
import type { ParameterOverrides } from './products.js';
import { listElements, productKind } from './products.js';

export const ROLES = ['admin', 'researcher', 'guest'] as const;
export type Role = (typeof ROLES)[number];

const role = z.enum(ROLES);
const condition = z.union([
  z.object({ parameter: z.string(), in: z.array(z.string()).min(1) }).strict(),
  z.object({ parameter: z.string(), above: z.number() }).strict(),
]);
const approvalRule = z.union([z.literal('always'), z.literal('never'), z.object({ when: z.array(condition).min(1) }).strict()]);

const alarmSpec = z
  .object({
    threshold: z.number(),
    periodSeconds: z.number().int().positive(),
    evaluationPeriods: z.number().int().positive(),
  })
  .strict();

const schema = z
  .object({
    defaults: z
      .object({
        role: role.default('researcher'),
        tags: z.object({ Department: z.string().min(1), Project: z.string().min(1) }).strict(),
        emailDomain: z.string().optional(),
        /** The IAM principal of a user not listed under users, e.g. arn:aws:iam::123456789012:role/SC-Endusers/{email}. */
        principalTemplate: z.string().regex(/^arn:aws[a-z-]*:(iam|sts)::\d{12}:.+$/, 'an IAM principal ARN with {email} or {username}').optional(),
      })
      .strict(),
    approvals: z
      .object({
        channel: z.string().min(1),
        approvers: z.union([
          z.object({ userGroup: z.string().min(1) }).strict(),
          z.object({ users: z.array(z.string().min(1)).min(1) }).strict(),
        ]),
        expiryHours: z.number().positive().default(72),
      })
      .strict(),
    users: z
      .record(
        z.string(),
        z
          .object({
            role: role.optional(),
            email: z.string().email().optional(),
            /** With defaults.emailDomain and no email: this user is <username>@<emailDomain>. */
            username: z.string().regex(/^[a-zA-Z0-9._+-]+$/, 'the local part of an email address').optional(),
            principal: z.string().regex(/^arn:aws[a-z-]*:(iam|sts)::\d{12}:.+$/, 'an IAM principal ARN').optional(),
            department: z.string().optional(),
            project: z.string().optional(),
          })
          .strict(),
      )
      .default({}),
    budgets: z.object({ monthlyUsd: z.number().positive().default(500) }).strict().default({ monthlyUsd: 500 }),
    alarms: z
      .object({
        cpuHigh: alarmSpec.default({ threshold: 95, periodSeconds: 60, evaluationPeriods: 3 }),
        cpuIdle: alarmSpec.default({ threshold: 5, periodSeconds: 300, evaluationPeriods: 12 }),
        memoryHigh: alarmSpec.default({ threshold: 85, periodSeconds: 60, evaluationPeriods: 3 }),
        diskHigh: alarmSpec.default({ threshold: 80, periodSeconds: 60, evaluationPeriods: 3 }),
      })
      .strict()
      .default({
        cpuHigh: { threshold: 95, periodSeconds: 60, evaluationPeriods: 3 },
        cpuIdle: { threshold: 5, periodSeconds: 300, evaluationPeriods: 12 },
        memoryHigh: { threshold: 85, periodSeconds: 60, evaluationPeriods: 3 },
        diskHigh: { threshold: 80, periodSeconds: 60, evaluationPeriods: 3 },
      }),
    products: z
      .array(
        z
          .object({
            name: z.string().min(1),
            kind: z.enum(['instance', 'bucket', 'cluster', 'other']).optional(),
            roles: z.array(role).min(1),
            parameters: z
              .record(z.string(), z.object({ allowedValues: z.array(z.string()).min(1).optional(), default: z.string().optional() }).strict())
              .default({}),
            approval: approvalRule.default('never'),
            /** The launch path (portfolio) to launch through, by name or id, for a product reached through several. */
            launchPath: z.string().min(1).optional(),
          })
          .strict(),
      )
      .default([]),
  })
  .strict()
  .superRefine((doc, ctx) => {
    for (const [id, u] of Object.entries(doc.users)) {
      if (u.username && !u.email && !doc.defaults.emailDomain) {
        ctx.addIssue({ code: 'custom', path: ['users', id, 'username'], message: 'needs defaults.emailDomain to make an email of it (or give email instead)' });
      }
    }
  });

export type PolicyDocument = z.output<typeof schema>;
export type ApprovalRule = z.output<typeof approvalRule>;
export type AlarmSpec = z.output<typeof alarmSpec>;

export interface ProductRule {
  kind: ProductKind;
  roles: Role[];
  overrides: ParameterOverrides;
  approval: ApprovalRule;
  launchPath?: string;
}

export class PolicyError extends Error {
  override readonly name = 'PolicyError';
}

export class Policy {
  constructor(readonly doc: PolicyDocument) {}

  roleOf(userId: string): Role {
    return this.doc.users[userId]?.role ?? this.doc.defaults.role;
  }

  /** Unlisted products are for admins only: the manifest is the allow-list. */
  productRule(productName: string): ProductRule {
    const p = this.doc.products.find((x) => x.name.toLowerCase() === productName.toLowerCase());
    const overrides: ParameterOverrides = {};
    for (const [key, v] of Object.entries(p?.parameters ?? {})) {
      overrides[key] = { allowedValues: v.allowedValues, defaultValue: v.default };
    }
    return {
      kind: p?.kind ?? productKind(productName),
      roles: p?.roles ?? ['admin'],
      overrides,
      approval: p?.approval ?? 'never',
      launchPath: p?.launchPath,
    };
  }

  /** Why a launch with these parameters needs approval, or undefined when it does not. A rule on a list parameter (`listKeys`) looks at each element. */
  approvalReason(productName: string, params: Record<string, string>, listKeys: readonly string[] = []): string | undefined {
    const { approval } = this.productRule(productName);
    if (approval === 'never') return undefined;
    if (approval === 'always') return `${productName} always needs IT approval`;
    for (const c of approval.when) {
      const value = params[c.parameter];
      // params hold every parameter of the product (defaults filled), so a missing one is a rule that can never match: fail closed.
      if (value === undefined) return `the approval rule names ${c.parameter}, which ${productName} does not have, so IT must check it until the policy is fixed`;
      const values = listKeys.includes(c.parameter) ? listElements(value) : [value];
      for (const v of values) {
        if ('in' in c && c.in.includes(v)) return `${c.parameter}=${v} needs IT approval`;
        if ('above' in c) {
          const n = Number(v);
          if (v.trim() === '' || !Number.isFinite(n)) return `${c.parameter} is not a number, so IT must check it against the limit of ${c.above}`;
          if (n > c.above) return `${c.parameter} above ${c.above} needs IT approval`;
        }
      }
    }
    return undefined;
  }

  /** Approval rules and parameter narrowing that name a parameter the product does not have, as warnings to log at load. */
  unknownParameters(productName: string, parameterKeys: readonly string[]): string[] {
    const p = this.doc.products.find((x) => x.name.toLowerCase() === productName.toLowerCase());
    if (!p) return [];
    const named = [...Object.keys(p.parameters), ...(typeof p.approval === 'object' ? p.approval.when.map((c) => c.parameter) : [])];
    return [...new Set(named)]
      .filter((k) => !parameterKeys.includes(k))
      .map((k) => `catalog policy: ${p.name} has no parameter ${k} (it has ${parameterKeys.join(', ') || 'none'}); rules naming it never narrow and always ask IT`);
  }

  /** A short description of the approval rule for the `products` command. */
  approvalSummary(productName: string): string {
    const { approval } = this.productRule(productName);
    if (approval === 'never') return 'no approval needed';
    if (approval === 'always') return 'always needs approval';
    return `approval when ${approval.when
      .map((c) => ('in' in c ? `${c.parameter} is ${c.in.join('/')}` : `${c.parameter} > ${c.above}`))
      .join(' or ')}`;
  }

  isApprover(userId: string, groupMembers: readonly string[] = []): boolean {
    const a = this.doc.approvals.approvers;
    return 'users' in a ? a.users.includes(userId) : groupMembers.includes(userId);
  }

  tagsFor(userId: string): { Department: string; Project: string } {
    const u = this.doc.users[userId];
    return { Department: u?.department ?? this.doc.defaults.tags.Department, Project: u?.project ?? this.doc.defaults.tags.Project };
  }
}

function position(doc: ReturnType<typeof parseDocument>, lines: LineCounter, path: PropertyKey[], key?: string): string {
  const at = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return `${line}:${col}`;
  };
  // An unknown key points at the key itself, not at the map holding it.
  if (key !== undefined) {
    const map: unknown = path.length ? doc.getIn(path as (string | number)[], true) : doc.contents;
    const pair = isMap(map) ? map.items.find((i) => isScalar(i.key) && String(i.key.value) === key) : undefined;
    if (pair && isNode(pair.key) && pair.key.range) return at(pair.key.range[0]);
  }
  // Walk to the deepest node the path reaches, so a missing key still points at its parent.
  for (let depth = path.length; depth >= 0; depth--) {
    const node: unknown = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth) as (string | number)[], true);
    if (isNode(node) && (node as YamlNode).range) return at((node as YamlNode).range![0]);
  }
  return '1:1';
}

type Issue = z.core.$ZodIssue;

interface Fault {
  path: PropertyKey[];
  message: string;
  /** Set for an unknown key: where to point. */
  key?: string;
}

const depthOf = (i: Issue): number => i.path.length + (i.code === 'invalid_union' ? Math.max(0, ...i.errors.map((b) => Math.max(0, ...b.map(depthOf)))) : 0);
/** A branch that failed only because the value is of another shape altogether. */
const wrongShape = (b: Issue[]) => b.length === 1 && b[0]!.path.length === 0 && (b[0]!.code === 'invalid_type' || b[0]!.code === 'invalid_value');

/** The fault to report for one issue: for a union, the branch the author most likely meant (fewest faults, then deepest). */
function fault(issue: Issue, base: PropertyKey[] = []): Fault {
  const path = [...base, ...issue.path];
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    return { path: [...path, key], key, message: `unknown key${issue.keys.length > 1 ? ` (also: ${issue.keys.slice(1).join(', ')})` : ''}` };
  }
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return { path, message: issue.message };
  const branches = issue.errors.filter((b) => b.length > 0);
  if (branches.length > 0 && branches.every(wrongShape)) {
    const expected = branches.map((b) => {
      const i = b[0]!;
      return i.code === 'invalid_value' ? i.values.map((v) => JSON.stringify(v)).join(' or ') : i.code === 'invalid_type' ? `an ${i.expected}` : '?';
    });
    return { path, message: `expected ${expected.join(' or ')}` };
  }
  const best = [...branches].sort((a, b) => a.length - b.length || Math.max(...b.map(depthOf)) - Math.max(...a.map(depthOf)))[0];
  if (!best) return { path, message: issue.message };
  // Within the branch, a misspelt key explains the faults it causes (a required key "missing").
  const first = best.find((i) => i.code === 'unrecognized_keys') ?? best[0]!;
  return fault(first, path);
}

export function parsePolicy(text: string, source = 'catalog.yaml'): Policy {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const { line, col } = lines.linePos(yamlError.pos[0]);
    throw new PolicyError(`${source}:${line}:${col}: ${yamlError.message.split('\n')[0]}`);
  }
  const parsed = schema.safeParse(doc.toJS());
  if (!parsed.success) {
    const f = fault(parsed.error.issues[0]!);
    const where = position(doc, lines, f.key !== undefined ? f.path.slice(0, -1) : f.path, f.key);
    const path = f.path.join('.') || '(top level)';
    throw new PolicyError(`${source}:${where}: ${path}: ${f.message}`);
  }
  return new Policy(parsed.data);
}

/** Logs every policy rule naming a parameter its product lacks (one DescribeProvisioningParameters per listed product). */
export async function warnUnknownParameters(policy: Policy, catalog: Pick<CatalogPort, 'listProducts' | 'launchOptions'>, warn: (message: string) => void): Promise<string[]> {
  const warnings: string[] = [];
  for (const product of await catalog.listProducts()) {
    if (!policy.doc.products.some((p) => p.name.toLowerCase() === product.name.toLowerCase())) continue;
    const version = product.versions.filter((v) => v.active).at(-1);
    if (!version) continue;
    const { parameters } = await catalog.launchOptions(product.id, version.id);
    warnings.push(...policy.unknownParameters(product.name, parameters.map((s) => s.key)));
  }
  for (const w of warnings) warn(w);
  return warnings;
}

export async function loadPolicy(path: string): Promise<Policy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new PolicyError(`${path}: cannot read the catalog policy (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return parsePolicy(text, path);
}
