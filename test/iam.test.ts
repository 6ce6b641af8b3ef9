// The bot's IAM policy against its code: every AWS call the adapters make is allowed on the resource it names, nothing
// else is allowed, and the CloudFormation template's policy is the same document as manifests/iam/scicomp-policy.json.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { alarmName } from '../src/core/alarm-names.js';
import { budgetName, topicName } from '../src/core/alerts.js';
import {
  actionsFor,
  actionsGranted,
  allows,
  cloudFormationTags,
  missingGrants,
  operationsSent,
  templatePolicyAsWritten,
  type PolicyDocument,
  type SourceFile,
} from './support/iam.js';

const ROOT = new URL('..', import.meta.url).pathname;
const ADAPTERS = 'src/adapters/aws';
const adapterSources: SourceFile[] = readdirSync(join(ROOT, ADAPTERS))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => ({ path: `${ADAPTERS}/${f}`, text: readFileSync(join(ROOT, ADAPTERS, f), 'utf8') }));
const policy = JSON.parse(readFileSync(join(ROOT, 'manifests/iam/scicomp-policy.json'), 'utf8')) as PolicyDocument;
const template = parse(readFileSync(join(ROOT, 'manifests/iam/scicomp-role.yaml'), 'utf8'), { customTags: cloudFormationTags }) as {
  Parameters: Record<string, unknown>;
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
};

// What the placeholders stand for when the policy is evaluated against the names the code gives.
const ACCOUNT = '123456789012';
const SECRET_ARN = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:scicomp-AbC123`;
const placeholders = { 'AWS::AccountId': ACCOUNT, CatalogAccountId: ACCOUNT, Secret: SECRET_ARN };
const owner = 'jdoe@synapse.org';

// Service Catalog actions whose resource type is Product (Service Authorization Reference); the others take "*".
const PRODUCT_SCOPED = new Set([
  'servicecatalog:DescribeProduct',
  'servicecatalog:DescribeProvisioningParameters',
  'servicecatalog:ListLaunchPaths',
  'servicecatalog:ListServiceActionsForProvisioningArtifact',
  'servicecatalog:ProvisionProduct',
]);

/** The resource an action is used on, named as the code names it ("*" for actions without resource-level permissions). */
function resourceOf(action: string): string {
  const prefix = action.split(':')[0];
  switch (prefix) {
    case 'sns':
      return `arn:aws:sns:us-east-1:${ACCOUNT}:${topicName(owner)}`;
    case 'cloudwatch':
      return `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:${alarmName('pp-abc123def456', 'cpu-idle')}`;
    case 'budgets':
      return `arn:aws:budgets::${ACCOUNT}:budget/${budgetName(owner)}`;
    case 'secretsmanager':
      return SECRET_ARN;
    case 'servicecatalog':
      return PRODUCT_SCOPED.has(action) ? `arn:aws:catalog:us-east-1:${ACCOUNT}:product/prod-abc123` : '*';
    default:
      return '*';
  }
}

const needed = actionsFor(operationsSent(adapterSources));

describe('the IAM policy against the AWS adapters', () => {
  it('finds the calls the adapters make', () => {
    // A sanity floor: the scan reads all three adapters, not an empty list that every policy would satisfy.
    expect(operationsSent(adapterSources)).toEqual(
      expect.arrayContaining(['servicecatalog:ProvisionProduct', 'sns:CreateTopic', 'cloudwatch:PutMetricAlarm', 'budgets:CreateBudget', 'secretsmanager:GetSecretValue']),
    );
  });

  it('allows every action the code needs, on the resource the code names', () => {
    expect(missingGrants(policy, needed, resourceOf, placeholders)).toEqual([]);
  });

  it('allows no action the code does not use', () => {
    expect(actionsGranted(policy)).toEqual(needed);
  });

  it('fails when a command is added without its permission', () => {
    const extra: SourceFile = {
      path: 'src/adapters/aws/extra.ts',
      text: "import { DeleteTopicCommand, SNSClient } from '@aws-sdk/client-sns';\nawait new SNSClient({}).send(new DeleteTopicCommand({ TopicArn: arn }));\n",
    };
    const withExtra = actionsFor(operationsSent([...adapterSources, extra]));
    expect(missingGrants(policy, withExtra, resourceOf, placeholders)).toEqual([`sns:DeleteTopic on ${resourceOf('sns:DeleteTopic')}`]);
    expect(actionsGranted(policy)).not.toEqual(withExtra);
  });

  it('maps Budgets operations to their documented actions and refuses to guess one it does not know', () => {
    const budgets = (op: string): SourceFile => ({ path: 'x.ts', text: `import { ${op}Command } from '@aws-sdk/client-budgets';\nnew ${op}Command({});\n` });
    expect(actionsFor(operationsSent([budgets('DeleteNotification')]))).toEqual(['budgets:ModifyBudget']);
    expect(actionsFor(operationsSent([budgets('DescribeBudgetPerformanceHistory')]))).toEqual(['budgets:ViewBudget']);
    expect(() => actionsFor(operationsSent([budgets('ExecuteBudgetAction')]))).toThrow(/no documented IAM action/);
    // And STS GetCallerIdentity needs nothing.
    expect(actionsFor(['sts:GetCallerIdentity'])).toEqual([]);
  });

  it('scopes every action to its resources where AWS allows it, with no wildcard actions, Deny or Not* tricks', () => {
    for (const s of policy.Statement) {
      expect(s.Effect, s.Sid).toBe('Allow');
      expect(s.NotAction ?? s.NotResource ?? s.Condition, s.Sid).toBeUndefined();
      const actions = Array.isArray(s.Action) ? s.Action : [s.Action];
      for (const a of actions) {
        expect(a, s.Sid).not.toContain('*');
        if (resourceOf(a) !== '*') expect([s.Resource].flat(), `${a} supports resource-level permissions`).not.toContain('*');
      }
    }
    // The names of another tool's resources stay out of reach.
    expect(allows(policy, 'sns:CreateTopic', `arn:aws:sns:us-east-1:${ACCOUNT}:billing-alerts`, placeholders)).toBe(false);
    expect(allows(policy, 'cloudwatch:DeleteAlarms', `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:prod-db-cpu`, placeholders)).toBe(false);
    expect(allows(policy, 'budgets:ModifyBudget', `arn:aws:budgets::${ACCOUNT}:budget/company-total`, placeholders)).toBe(false);
    expect(allows(policy, 'secretsmanager:GetSecretValue', `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:prod-db-Xy12Ab`, placeholders)).toBe(false);
  });

  it('provisions through a launch constraint: Service Catalog actions only, no CloudFormation, EC2, S3 or iam:PassRole', () => {
    const prefixes = new Set(actionsGranted(policy).map((a) => a.split(':')[0]));
    expect([...prefixes].sort()).toEqual(['budgets', 'cloudwatch', 'secretsmanager', 'servicecatalog', 'sns']);
  });
});

describe('manifests/iam/scicomp-role.yaml', () => {
  it('attaches the same policy as scicomp-policy.json', () => {
    const attached = Object.values(template.Resources).filter((r) => r.Type === 'AWS::IAM::ManagedPolicy' || r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::RolePolicy');
    expect(attached).toHaveLength(1);
    expect(templatePolicyAsWritten(attached[0]!.Properties.PolicyDocument)).toEqual(policy);
    expect(attached[0]!.Properties.Roles).toEqual([{ Ref: 'Role' }]);
  });

  it('creates the role for a parameterised service, its secret and its portfolio access', () => {
    const { Role, Secret, PortfolioAccess } = template.Resources;
    expect(Role?.Type).toBe('AWS::IAM::Role');
    expect(JSON.stringify(Role?.Properties.AssumeRolePolicyDocument)).toContain('{"Service":{"Ref":"TrustedService"}}');
    expect(Role?.Properties).not.toHaveProperty('Policies');
    expect(Role?.Properties).not.toHaveProperty('ManagedPolicyArns');
    expect(Secret?.Type).toBe('AWS::SecretsManager::Secret');
    // No credential in the template: the secret starts empty and is filled with put-secret-value.
    expect(Secret?.Properties.SecretString).toBe('{}');
    expect(PortfolioAccess).toMatchObject({
      Type: 'AWS::ServiceCatalog::PortfolioPrincipalAssociation',
      Properties: { PortfolioId: { Ref: 'PortfolioId' }, PrincipalARN: { 'Fn::GetAtt': ['Role', 'Arn'] }, PrincipalType: 'IAM' },
    });
    expect(Object.keys(template.Parameters).sort()).toEqual(['CatalogAccountId', 'PortfolioId', 'SecretName', 'TrustedService']);
  });

  it('says so when the template policy drifts from the JSON', () => {
    const drifted = structuredClone(template.Resources.Policy!.Properties.PolicyDocument) as { Statement: { Action: string[] }[] };
    drifted.Statement[2]!.Action.push('sns:DeleteTopic');
    expect(templatePolicyAsWritten(drifted)).not.toEqual(policy);
  });
});
