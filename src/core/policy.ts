// The catalog policy (manifests/catalog.yaml): who may launch what, narrower parameters, approval rules, approvers, budgets, alarms.
import { readFile } from 'node:fs/promises';
import { LineCounter, isMap, isNode, isScalar, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import type { Handle, Person } from './context.js';
import type { Address, CatalogPort, Platform, ProductKind } from './ports.js';
import type { ParameterOverrides } from './products.js';
import { listElements, productKind } from './products.js';

export const ROLES = ['admin', 'researcher', 'guest'] as const;
export type Role = (typeof ROLES)[number];

/** How the policy named people before it named them by email; read for one release, with a warning. */
const SLACK_USER_ID = /^[UW][A-Z0-9]+$/;
const PRINCIPAL = /^arn:aws[a-z-]*:(iam|sts)::\d{12}:.+$/;
const SLACK_IDS_END = 'Slack ids stop working in the next release';

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

const email = z.email('an email address').transform((e) => e.toLowerCase());
const slackId = z.string().regex(SLACK_USER_ID, 'a Slack user id (U… or W…)');

const schema = z
  .object({
    defaults: z
      .object({
        role: role.default('researcher'),
        tags: z.object({ Department: z.string().min(1), Project: z.string().min(1) }).strict(),
        emailDomain: z.string().optional(),
        /** The IAM principal of a user not listed under users, e.g. arn:aws:iam::123456789012:role/SC-Endusers/{email}. */
        principalTemplate: z.string().regex(PRINCIPAL, 'an IAM principal ARN with {email} or {username}').optional(),
      })
      .strict(),
    approvals: z
      .object({
        approvers: z
          .object({
            emails: z.array(email).min(1).optional(),
            slackUserGroup: z.string().min(1).optional(),
            teamsGroup: z.string().min(1).optional(),
            /** Before emails: approvers by Slack user id. */
            users: z.array(slackId).min(1).optional(),
            /** Before slackUserGroup. */
            userGroup: z.string().min(1).optional(),
          })
          .strict(),
        slack: z.object({ channel: z.string().min(1) }).strict().optional(),
        teams: z.object({ team: z.string().min(1), channel: z.string().min(1) }).strict().optional(),
        /** Before slack.channel. */
        channel: z.string().min(1).optional(),
        expiryHours: z.number().positive().default(72),
        /** Requests one person may have waiting for IT at once; one more is refused until one is decided or expires. */
        maxOpenPerUser: z.number().int().positive().default(5),
      })
      .strict(),
    users: z
      .record(
        z.string(),
        z
          .object({
            role: role.optional(),
            principal: z.string().regex(PRINCIPAL, 'an IAM principal ARN').optional(),
            department: z.string().optional(),
            project: z.string().optional(),
            /** Under an email key: this person's Slack user id, for a Slack profile that shows no email. */
            slackId: slackId.optional(),
            /** Under a Slack-id key only (before users were keyed by email). */
            email: email.optional(),
            /** Under a Slack-id key only: with defaults.emailDomain and no email, this user is <username>@<emailDomain>. */
            username: z.string().regex(/^[a-zA-Z0-9._+-]+$/, 'the local part of an email address').optional(),
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
    // `atKey`: the fault is the key itself, so the error points at the key's line, not at its value.
    const issue = (path: PropertyKey[], message: string, atKey = false) => ctx.addIssue({ code: 'custom', path, message, params: { atKey } });
    const a = doc.approvals;
    if (!a.slack && !a.teams && !a.channel) issue(['approvals'], 'say where requests are posted: slack: { channel: C… } and/or teams: { team: …, channel: … }');
    if (a.channel && a.slack) issue(['approvals', 'channel'], 'approvals.slack.channel names the Slack channel already; drop channel', true);
    const ap = a.approvers;
    if (!ap.emails && !ap.slackUserGroup && !ap.teamsGroup && !ap.users && !ap.userGroup) {
      issue(['approvals', 'approvers'], 'name the approvers: emails: [it@…], and/or slackUserGroup: S… or teamsGroup: …');
    }
    if (ap.userGroup && ap.slackUserGroup) issue(['approvals', 'approvers', 'userGroup'], 'slackUserGroup names the Slack user group already; drop userGroup', true);
    const owner = new Map<string, string>();
    const slackIds = new Map<string, string>();
    for (const [key, u] of Object.entries(doc.users)) {
      const byEmail = key.includes('@');
      if (byEmail && !email.safeParse(key).success) {
        issue(['users', key], 'not an email address: key each user by their email (jdoe@example.org)', true);
        continue;
      }
      if (!byEmail && !SLACK_USER_ID.test(key)) {
        issue(['users', key], 'key each user by their email (jdoe@example.org)', true);
        continue;
      }
      if (byEmail && u.email) issue(['users', key, 'email'], 'the key is this person\'s email already; drop email', true);
      if (byEmail && u.username) issue(['users', key, 'username'], 'the key is this person\'s email already; drop username', true);
      if (!byEmail && u.slackId) issue(['users', key, 'slackId'], 'the key is a Slack user id already; key this person by email and keep slackId', true);
      if (!byEmail && u.username && !u.email && !doc.defaults.emailDomain) {
        issue(['users', key, 'username'], 'needs defaults.emailDomain to make an email of it (or give email instead)');
      }
      const who = byEmail ? key.toLowerCase() : (u.email ?? (u.username && doc.defaults.emailDomain ? `${u.username}@${doc.defaults.emailDomain}`.toLowerCase() : undefined));
      if (who) {
        const other = owner.get(who);
        if (other) issue(['users', key], `${who} is listed twice (also as users.${other}); keep one entry`, true);
        owner.set(who, key);
      }
      const id = byEmail ? u.slackId : key;
      if (id) {
        const other = slackIds.get(id);
        if (other) issue(['users', key], `the Slack user ${id} is listed twice (also as users.${other}); keep one entry`, true);
        slackIds.set(id, key);
      }
    }
  });

type ParsedDocument = z.output<typeof schema>;

/** What the policy says of one person. */
export interface PolicyUser {
  role?: Role;
  principal?: string;
  department?: string;
  project?: string;
  /** Their Slack user id, as IT wrote it: their Slack profile need not show an email. */
  slackId?: string;
}

export interface Approvers {
  emails: string[];
  slackUserGroup?: string;
  teamsGroup?: string;
  /** Slack user ids, as policies named approvers before emails (one release). */
  slackUsers: string[];
}

/** The policy, its people keyed by email whichever layout the file used. */
export interface PolicyDocument extends Omit<ParsedDocument, 'approvals' | 'users'> {
  approvals: {
    approvers: Approvers;
    slack?: { channel: string };
    teams?: { team: string; channel: string };
    expiryHours: number;
    /** How many requests one person may have waiting for a decision at once. */
    maxOpenPerUser: number;
  };
  /** By lower-case email. */
  users: Record<string, PolicyUser>;
  /** Entries still keyed by a Slack user id with no email to key them by (one release): they apply to whoever acts as that id. */
  slackUsers: Record<string, PolicyUser>;
}

/** Whom a policy rule is looked up for: an email, or a person (whose handles find an entry still keyed by a Slack id). */
export type PersonRef = string | (Pick<Person, 'email'> & { handles?: readonly Handle[] });

/** Members of the approver groups, by platform: user ids on that platform. */
export type GroupMembers = Partial<Record<Platform, readonly string[]>>;

function normalise(parsed: ParsedDocument): PolicyDocument {
  const { approvals: a, users: listed, ...rest } = parsed;
  const users: Record<string, PolicyUser> = {};
  const slackUsers: Record<string, PolicyUser> = {};
  for (const [key, { email: written, username, ...entry }] of Object.entries(listed)) {
    if (key.includes('@')) {
      users[key.toLowerCase()] = entry;
      continue;
    }
    const domain = parsed.defaults.emailDomain;
    // emailDomain only completes a username IT wrote into the policy: a chat handle is the person's own choice.
    const known = written ?? (username && domain ? `${username}@${domain}`.toLowerCase() : undefined);
    if (known) users[known] = { ...entry, slackId: key };
    else slackUsers[key] = entry;
  }
  const ap = a.approvers;
  return {
    ...rest,
    approvals: {
      approvers: { emails: ap.emails ?? [], slackUserGroup: ap.slackUserGroup ?? ap.userGroup, teamsGroup: ap.teamsGroup, slackUsers: ap.users ?? [] },
      slack: a.slack ?? (a.channel ? { channel: a.channel } : undefined),
      teams: a.teams,
      expiryHours: a.expiryHours,
      maxOpenPerUser: a.maxOpenPerUser,
    },
    users,
    slackUsers,
  };
}

/** What of a parsed file is in the layout from before people were named by email, as warnings to log at load. */
function legacyWarnings(parsed: ParsedDocument, at: (path: string[], key: string) => string): string[] {
  const out: string[] = [];
  const warn = (path: string[], key: string, message: string) => out.push(`${at(path, key)}: ${[...path, key].join('.')}: ${message}`);
  const a = parsed.approvals;
  if (a.channel) warn(['approvals'], 'channel', `moved: write approvals.slack.channel: ${a.channel} — the old key stops working in the next release`);
  if (a.approvers.users) warn(['approvals', 'approvers'], 'users', `lists Slack user ids; list the approvers' emails under approvals.approvers.emails — ${SLACK_IDS_END}`);
  if (a.approvers.userGroup) warn(['approvals', 'approvers'], 'userGroup', 'renamed: write slackUserGroup — the old key stops working in the next release');
  for (const [key, u] of Object.entries(parsed.users)) {
    if (key.includes('@')) continue;
    const domain = parsed.defaults.emailDomain;
    const known = u.email ?? (u.username && domain ? `${u.username}@${domain}`.toLowerCase() : undefined);
    warn(['users'], key, `keyed by a Slack user id; key it by email (${known ?? "the person's email"}) — ${SLACK_IDS_END}`);
  }
  return out;
}
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
  /** The email IT wrote for each Slack user id. */
  private readonly slackEmails: Map<string, string>;

  constructor(
    readonly doc: PolicyDocument,
    /** What the file still says the old way, with file:line: logged at load. */
    readonly warnings: readonly string[] = [],
  ) {
    this.slackEmails = new Map(Object.entries(doc.users).flatMap(([e, u]) => (u.slackId ? [[u.slackId, e] as const] : [])));
  }

  /** The policy's entry for a person: by email, or by the Slack id they act through where the policy still keys them so. */
  userOf(who: PersonRef): PolicyUser | undefined {
    const byEmail = this.doc.users[(typeof who === 'string' ? who : who.email).toLowerCase()];
    if (byEmail || typeof who === 'string') return byEmail;
    for (const h of who.handles ?? []) {
      const legacy = h.platform === 'slack' ? this.doc.slackUsers[h.userId] : undefined;
      if (legacy) return legacy;
    }
    return undefined;
  }

  /** The email IT wrote for a platform handle (a user's slackId), which outranks the platform's profile. */
  emailOf(handle: Handle): string | undefined {
    return handle.platform === 'slack' ? this.slackEmails.get(handle.userId) : undefined;
  }

  roleOf(who: PersonRef): Role {
    return this.userOf(who)?.role ?? this.doc.defaults.role;
  }

  /** The IAM principal that owns this person's products: theirs in the policy, or the template's. */
  principalOf(who: PersonRef & Pick<Person, 'email' | 'username'>): string | undefined {
    return this.userOf(who)?.principal ?? this.doc.defaults.principalTemplate?.replace('{email}', who.email).replace('{username}', who.username);
  }

  /** Where approval requests are posted: one channel per platform in use. */
  approvalVenues(): Address[] {
    const { slack, teams } = this.doc.approvals;
    return [
      ...(slack ? [{ platform: 'slack' as const, kind: 'channel' as const, channel: slack.channel }] : []),
      ...(teams ? [{ platform: 'teams' as const, kind: 'channel' as const, channel: teams.channel, team: teams.team }] : []),
    ];
  }

  /** The platform groups whose members are approvers. */
  approverGroups(): { platform: Platform; group: string }[] {
    const { slackUserGroup, teamsGroup } = this.doc.approvals.approvers;
    return [...(slackUserGroup ? [{ platform: 'slack' as const, group: slackUserGroup }] : []), ...(teamsGroup ? [{ platform: 'teams' as const, group: teamsGroup }] : [])];
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

  /**
   * Why a product with these parameters needs approval, or undefined when it does not. A rule on a list parameter
   * (`listKeys`) looks at each element. `unknown` names parameters the product has whose value is not known (an update's
   * current values scicomp did not set): a rule naming one fails closed.
   */
  approvalReason(productName: string, params: Record<string, string>, { listKeys = [], unknown = [] }: { listKeys?: readonly string[]; unknown?: readonly string[] } = {}): string | undefined {
    const { approval } = this.productRule(productName);
    if (approval === 'never') return undefined;
    if (approval === 'always') return `${productName} always needs IT approval`;
    for (const c of approval.when) {
      const value = params[c.parameter];
      if (value === undefined && unknown.includes(c.parameter)) return `the current ${c.parameter} is not known to scicomp, so IT must check it`;
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

  /** An approver by email, or as a member of an approver group on a platform they act through (`groupMembers`). */
  isApprover(who: PersonRef, groupMembers: GroupMembers = {}): boolean {
    const a = this.doc.approvals.approvers;
    if (a.emails.includes((typeof who === 'string' ? who : who.email).toLowerCase())) return true;
    const handles = typeof who === 'string' ? [] : (who.handles ?? []);
    return handles.some((h) => (h.platform === 'slack' && a.slackUsers.includes(h.userId)) || (groupMembers[h.platform]?.includes(h.userId) ?? false));
  }

  tagsFor(who: PersonRef): { Department: string; Project: string } {
    const u = this.userOf(who);
    return { Department: u?.department ?? this.doc.defaults.tags.Department, Project: u?.project ?? this.doc.defaults.tags.Project };
  }
}

function position(doc: Document, lines: LineCounter, path: PropertyKey[], key?: string): string {
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
  if (issue.code === 'custom' && issue.params?.atKey) return { path, key: String(path.at(-1)), message: issue.message };
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
  const at = (path: string[], key: string) => `${source}:${position(doc, lines, path, key)}`;
  return new Policy(normalise(parsed.data), legacyWarnings(parsed.data, at));
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
