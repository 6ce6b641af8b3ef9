// The catalog policy (manifests/catalog.yaml): who may launch what, narrower parameters, approval rules, approvers, budgets, alarms.
import { readFile } from 'node:fs/promises';
import { LineCounter, isNode, parseDocument, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import type { ProductKind } from './ports.js';
import type { ParameterOverrides } from './products.js';
import { productKind } from './products.js';

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
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

export type PolicyDocument = z.output<typeof schema>;
export type ApprovalRule = z.output<typeof approvalRule>;
export type AlarmSpec = z.output<typeof alarmSpec>;

export interface ProductRule {
  kind: ProductKind;
  roles: Role[];
  overrides: ParameterOverrides;
  approval: ApprovalRule;
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
    };
  }

  /** Why a launch with these parameters needs approval, or undefined when it does not. */
  approvalReason(productName: string, params: Record<string, string>): string | undefined {
    const { approval } = this.productRule(productName);
    if (approval === 'never') return undefined;
    if (approval === 'always') return `${productName} always needs IT approval`;
    for (const c of approval.when) {
      const value = params[c.parameter];
      if (value === undefined) continue;
      if ('in' in c && c.in.includes(value)) return `${c.parameter}=${value} needs IT approval`;
      if ('above' in c && Number(value) > c.above) return `${c.parameter} above ${c.above} needs IT approval`;
    }
    return undefined;
  }

  /** A short description of the approval rule for `/scicomp products`. */
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

function position(doc: ReturnType<typeof parseDocument>, lines: LineCounter, path: PropertyKey[]): string {
  // Walk to the deepest node the path reaches, so an unknown or missing key still points at its parent.
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth) as (string | number)[], true);
    if (isNode(node) && (node as YamlNode).range) {
      const { line, col } = lines.linePos((node as YamlNode).range![0]);
      return `${line}:${col}`;
    }
  }
  return '1:1';
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
    const issue = parsed.error.issues[0]!;
    const where = position(doc, lines, issue.path);
    const path = issue.path.join('.') || '(top level)';
    throw new PolicyError(`${source}:${where}: ${path}: ${issue.message}`);
  }
  return new Policy(parsed.data);
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
