// What IAM permissions the AWS adapters' code needs, read from its source, and whether a policy document grants them.
import type { CollectionTag, ScalarTag } from 'yaml';

/** IAM service prefix of each AWS SDK v3 client package. */
const PREFIX: Record<string, string> = {
  '@aws-sdk/client-budgets': 'budgets',
  '@aws-sdk/client-cloudwatch': 'cloudwatch',
  '@aws-sdk/client-secrets-manager': 'secretsmanager',
  '@aws-sdk/client-service-catalog': 'servicecatalog',
  '@aws-sdk/client-sns': 'sns',
  '@aws-sdk/client-sts': 'sts',
};

/**
 * Operations whose IAM actions are not `<prefix>:<Operation>`, from the Service Authorization Reference
 * (docs.aws.amazon.com/service-authorization/latest/reference, "API operations" tables). Budgets' API operations are
 * authorised by two actions; tagging on create needs the service's TagResource too (the adapters tag what they create).
 */
const OPERATION_ACTIONS: Record<string, string[]> = {
  'budgets:CreateBudget': ['budgets:ModifyBudget'],
  'budgets:UpdateBudget': ['budgets:ModifyBudget'],
  'budgets:DeleteBudget': ['budgets:ModifyBudget'],
  'budgets:CreateNotification': ['budgets:ModifyBudget'],
  'budgets:UpdateNotification': ['budgets:ModifyBudget'],
  'budgets:DeleteNotification': ['budgets:ModifyBudget'],
  'budgets:CreateSubscriber': ['budgets:ModifyBudget'],
  'budgets:UpdateSubscriber': ['budgets:ModifyBudget'],
  'budgets:DeleteSubscriber': ['budgets:ModifyBudget'],
  'budgets:DescribeBudget': ['budgets:ViewBudget'],
  'budgets:DescribeBudgets': ['budgets:ViewBudget'],
  'budgets:DescribeNotificationsForBudget': ['budgets:ViewBudget'],
  'budgets:DescribeSubscribersForNotification': ['budgets:ViewBudget'],
  'budgets:DescribeBudgetPerformanceHistory': ['budgets:ViewBudget'],
  'sns:CreateTopic': ['sns:CreateTopic', 'sns:TagResource'],
  'cloudwatch:PutMetricAlarm': ['cloudwatch:PutMetricAlarm', 'cloudwatch:TagResource'],
  // Anyone may ask who they are: no permission is needed.
  'sts:GetCallerIdentity': [],
};

/** Services whose operations do not map 1:1 to actions: an operation missing from the table above is an error, not a guess. */
const MAPPED_ONLY = new Set(['budgets']);

export interface SourceFile {
  path: string;
  text: string;
}

/** Every `new XxxCommand(` in the sources, as `<prefix>:Xxx`, its prefix taken from the package the command is imported from. */
export function operationsSent(files: SourceFile[]): string[] {
  const ops = new Set<string>();
  for (const { path, text } of files) {
    const packageOf = new Map<string, string>();
    for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'(@aws-sdk\/client-[a-z0-9-]+)'/g)) {
      for (const name of m[1]!.split(',').map((n) => n.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]!)) {
        if (name) packageOf.set(name, m[2]!);
      }
    }
    for (const m of text.matchAll(/new\s+([A-Z][A-Za-z0-9]*)Command\s*\(/g)) {
      const pkg = packageOf.get(`${m[1]}Command`);
      if (!pkg) throw new Error(`${path}: ${m[1]}Command is not imported from an @aws-sdk client package`);
      const prefix = PREFIX[pkg];
      if (!prefix) throw new Error(`${path}: no IAM prefix known for ${pkg}: add it to test/support/iam.ts`);
      ops.add(`${prefix}:${m[1]}`);
    }
  }
  return [...ops].sort();
}

/** The IAM actions the operations need. */
export function actionsFor(operations: string[]): string[] {
  const actions = new Set<string>();
  for (const op of operations) {
    const mapped = OPERATION_ACTIONS[op];
    if (mapped) {
      mapped.forEach((a) => actions.add(a));
      continue;
    }
    if (MAPPED_ONLY.has(op.split(':')[0]!)) throw new Error(`${op}: no documented IAM action for it in test/support/iam.ts; look it up in the Service Authorization Reference`);
    actions.add(op);
  }
  return [...actions].sort();
}

export interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  NotAction?: unknown;
  NotResource?: unknown;
  Condition?: unknown;
}

export interface PolicyDocument {
  Version: string;
  Statement: Statement[];
}

const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

/** IAM's wildcards: `*` any run of characters, `?` one. */
function globMatches(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(value);
}

/** Every action the policy names. */
export function actionsGranted(policy: PolicyDocument): string[] {
  return [...new Set(policy.Statement.flatMap((s) => list(s.Action)))].sort();
}

/** Whether an Allow statement grants `action` on `resource` ("*" asks for a statement on every resource). */
export function allows(policy: PolicyDocument, action: string, resource: string, placeholders: Record<string, string>): boolean {
  const fill = (r: string) => r.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
    const value = placeholders[name];
    if (value === undefined) throw new Error(`unknown placeholder \${${name}} in the policy`);
    return value;
  });
  return policy.Statement.some(
    (s) =>
      s.Effect === 'Allow' &&
      list(s.Action).some((a) => globMatches(a, action)) &&
      list(s.Resource).some((r) => (resource === '*' ? r === '*' : globMatches(fill(r), resource))),
  );
}

/** Actions from `needed` the policy does not grant on their resource, as "action on resource". */
export function missingGrants(policy: PolicyDocument, needed: string[], resourceOf: (action: string) => string, placeholders: Record<string, string>): string[] {
  return needed.filter((a) => !allows(policy, a, resourceOf(a), placeholders)).map((a) => `${a} on ${resourceOf(a)}`);
}

const CFN_FUNCTIONS = ['Sub', 'Ref', 'GetAtt', 'If', 'Equals', 'Join', 'Select', 'Not', 'And', 'Or', 'Condition', 'FindInMap', 'Base64', 'GetAZs', 'ImportValue', 'Split', 'Cidr'];
const cfnKey = (f: string) => (f === 'Ref' || f === 'Condition' ? f : `Fn::${f}`);

/** CloudFormation's short-form intrinsics (`!Sub`, `!Ref`, …) read as their long form (`{ "Fn::Sub": … }`), for `yaml`'s parse. */
export const cloudFormationTags: (ScalarTag | CollectionTag)[] = CFN_FUNCTIONS.flatMap((f): (ScalarTag | CollectionTag)[] => [
  { tag: `!${f}`, resolve: (s: string) => ({ [cfnKey(f)]: f === 'GetAtt' ? s.split('.') : s }) },
  { tag: `!${f}`, collection: 'seq', resolve: (seq) => ({ [cfnKey(f)]: seq.toJSON() as unknown }) },
]);

/** A template's policy document with its `!Sub` strings as written and each `!Ref X` as `${X}`: the JSON policy's own form. */
export function templatePolicyAsWritten(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(templatePolicyAsWritten);
  if (node === null || typeof node !== 'object') return node;
  const o = node as Record<string, unknown>;
  if ('Fn::Sub' in o) {
    const sub = o['Fn::Sub'];
    return Array.isArray(sub) ? sub[0] : sub;
  }
  if ('Ref' in o) return `\${${String(o.Ref)}}`;
  const fn = Object.keys(o).find((k) => k.startsWith('Fn::'));
  if (fn) throw new Error(`${fn} in a policy document has no JSON form: use !Sub or !Ref`);
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, templatePolicyAsWritten(v)]));
}
