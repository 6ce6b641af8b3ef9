// An in-process fake AWS Service Catalog account with the products of SPEC.md, for `npm start` without credentials and for tests.
// Records move CREATED → IN_PROGRESS → SUCCEEDED over `provisionMs`; a product whose name contains "fail", or failNext(), ends FAILED.
// For measuring at scale: `products` seeds the account, `apiLatencyMs` makes every call (every page) take that long,
// and `calls` counts the calls by Service Catalog operation.
import { createHash } from 'node:crypto';
import { NotFoundError, UpstreamError, UserInputError } from '../core/errors.js';
import {
  systemClock,
  type CatalogPort,
  type Clock,
  type LaunchOptions,
  type LaunchPath,
  type ParameterSpec,
  type Product,
  type ProductRecord,
  type ProvisionedProduct,
  type ProvisionInput,
  type RecordOutput,
  type RecordStatus,
  type ServiceAction,
  type UpdateInput,
  type UsageInstruction,
} from '../core/ports.js';
import { validateParameters } from '../core/products.js';

/** Deterministic AWS-looking ids: `prefix-` + 13 lowercase alphanumerics derived from a seed. */
function awsId(prefix: string, seed: string, length = 13): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = createHash('sha256').update(seed).digest();
  return `${prefix}-${Array.from(bytes.subarray(0, length), (b) => alphabet[b % alphabet.length]).join('')}`;
}

function hexId(prefix: string, seed: string, length: number): string {
  return `${prefix}-${createHash('sha256').update(seed).digest('hex').slice(0, length)}`;
}

/** A launch path (a portfolio the product is in); its own parameters stand for that portfolio's template constraints. */
interface SandboxPath extends LaunchPath {
  parameters?: ParameterSpec[];
  usageInstructions?: UsageInstruction[];
}

interface SandboxProduct extends Product {
  /** The parameters of every path that has none of its own. */
  parameters: ParameterSpec[];
  paths: SandboxPath[];
  kind: 'instance' | 'bucket' | 'cluster';
}

const instanceType = (allowed: string[], def: string): ParameterSpec => ({
  key: 'InstanceType',
  description: 'EC2 instance type',
  type: 'String',
  defaultValue: def,
  allowedValues: allowed,
  constraintDescription: 'Must be one of the listed instance types.',
});
const volume = (key: string, min: number, def: number): ParameterSpec => ({
  key,
  description: 'Root volume size in GiB',
  type: 'Number',
  defaultValue: String(def),
  minValue: min,
  maxValue: 1000,
});
const rstudio = (types: string[], def: string): ParameterSpec[] => [
  instanceType(types, def),
  {
    key: 'RPackages',
    description: 'R packages installed at start',
    type: 'CommaDelimitedList',
    defaultValue: 'tidyverse, shiny',
    allowedValues: ['tidyverse', 'shiny', 'bioconductor', 'data.table'],
  },
  volume('VolumeSize', 30, 50),
];
const rstudioPort: UsageInstruction = { type: 'connect', value: 'RStudio Server listens on port 8787: forward it with the port-forwarding command of /scicomp connect, then open http://localhost:8787.' };
const versioning: ParameterSpec = {
  key: 'EnableVersioning',
  description: 'Keep every version of every object',
  type: 'String',
  defaultValue: 'Enabled',
  allowedValues: ['Enabled', 'Suspended'],
};

function product(name: string, kind: SandboxProduct['kind'], description: string, parameters: ParameterSpec[], versions = ['v1.0.0']): SandboxProduct {
  return {
    id: awsId('prod', name),
    name,
    description,
    owner: 'Research IT',
    kind,
    paths: [{ id: awsId('lpv3', name), name: 'Research Computing' }],
    parameters,
    versions: versions.map((v, i) => ({ id: awsId('pa', `${name}@${v}`), name: v, active: i === versions.length - 1 || versions.length === 1 })),
  };
}

export function sandboxProducts(): SandboxProduct[] {
  return [
    product(
      'EC2 Linux',
      'instance',
      'Amazon Linux 2023 instance reached with SSM',
      [
        instanceType(['t3.micro', 't3.small', 't3.medium', 't3.large', 'm5.large', 'm5.xlarge', 'c5.2xlarge'], 't3.micro'),
        { key: 'AmiId', description: 'Machine image', type: 'AWS::EC2::Image::Id', defaultValue: 'ami-0c02fb55956c7d316', allowedPattern: 'ami-[0-9a-f]{8,17}', constraintDescription: 'Must be an AMI id (ami-…).' },
        volume('VolumeSize', 8, 30),
      ],
      ['v1.0.0', 'v1.1.0'],
    ),
    product('EC2 Windows', 'instance', 'Windows Server 2022 instance reached with SSM', [instanceType(['t3.medium', 't3.large', 'm5.large', 'm5.xlarge'], 't3.medium'), volume('VolumeSize', 30, 50)]),
    product('EC2 Notebook', 'instance', 'Jupyter notebook instance', [
      instanceType(['t3.medium', 't3.large', 'm5.xlarge', 'g4dn.xlarge'], 't3.medium'),
      { ...volume('NotebookVolumeSize', 10, 50), maxValue: 500 },
      // NoEcho, as a template's password parameter is: its value never reaches chat, logs, the audit trail or Redis in clear.
      { key: 'NotebookPassword', description: 'Password of the Jupyter server; empty to reach it through SSM only', type: 'String', noEcho: true, defaultValue: '', allowedPattern: '(.{8,128})?', constraintDescription: 'At least 8 characters.' },
    ]),
    product('S3 Private Encrypted Bucket', 'bucket', 'KMS-encrypted bucket, private to you', [
      {
        key: 'S3UserARNs',
        description: 'Comma-separated IAM ARNs given access, no white space',
        type: 'String',
        defaultValue: '',
        allowedPattern: '(arn:aws:iam::\\d{12}:(user|role)/[\\w+=,.@/-]+(,arn:aws:iam::\\d{12}:(user|role)/[\\w+=,.@/-]+)*)?',
      },
      versioning,
    ]),
    product('S3 Synapse Bucket', 'bucket', 'Bucket registered as Synapse external storage', [
      { key: 'SynapseUserName', description: 'Your Synapse user name', type: 'String', minLength: 3, maxLength: 64, allowedPattern: '[a-zA-Z0-9._-]+' },
      versioning,
    ]),
    {
      // In two portfolios: the teaching one narrows the instance types (a template constraint) and stops instances at night.
      ...product('EC2 RStudio', 'instance', 'RStudio Server instance', rstudio(['t3.large', 'm5.xlarge', 'r5.xlarge'], 't3.large')),
      paths: [
        { id: awsId('lpv3', 'EC2 RStudio@research'), name: 'Research Computing', usageInstructions: [rstudioPort] },
        {
          id: awsId('lpv3', 'EC2 RStudio@teaching'),
          name: 'Teaching',
          parameters: rstudio(['t3.medium', 't3.large'], 't3.medium'),
          usageInstructions: [rstudioPort, { type: 'schedule', value: 'Teaching instances are stopped every night at 22:00 UTC.' }],
        },
      ],
    },
    product('HPC Cluster', 'cluster', 'AWS ParallelCluster with Slurm', [
      { key: 'ComputeInstanceType', description: 'Compute node instance type', type: 'String', defaultValue: 'c5.large', allowedValues: ['c5.large', 'c5.xlarge', 'c5.4xlarge', 'c5n.18xlarge', 'r5.xlarge'] },
      { key: 'SpotPrice', description: 'Maximum spot price in USD; 0 for on-demand', type: 'Number', defaultValue: '0', minValue: 0, maxValue: 10 },
      { key: 'MaxNodes', description: 'Most compute nodes', type: 'Number', defaultValue: '4', minValue: 1, maxValue: 100 },
      { key: 'InitialNodes', description: 'Compute nodes at start', type: 'Number', defaultValue: '0', minValue: 0, maxValue: 100 },
      { key: 'Autoscaling', description: 'Scale compute nodes with the queue', type: 'String', defaultValue: 'true', allowedValues: ['true', 'false'] },
    ]),
  ];
}

export const SANDBOX_PRODUCT_IDS: Record<string, string> = Object.fromEntries(sandboxProducts().map((p) => [p.name, p.id]));

type Operation = 'provision' | 'update' | 'terminate';

const SEARCH_PAGE_SIZE = 100;
const SEED_PER_OWNER = 10;

interface SandboxRecord {
  id: string;
  type: string;
  operation: Operation | 'action' | 'properties';
  provisionedProductId: string;
  startedAt: number;
  durationMs: number;
  fails?: string;
  outputs: RecordOutput[];
  settled?: boolean;
  actionName?: string;
}

interface Provisioned {
  id: string;
  name: string;
  product: SandboxProduct;
  versionId: string;
  pathId: string;
  parameters: Record<string, string>;
  tags: Record<string, string>;
  createdAt: number;
  records: string[];
  lastSuccessfulRecordId?: string;
  terminated: boolean;
  owner?: string;
  instanceState: 'running' | 'stopped';
  generation: number;
}

export class SandboxCatalog implements CatalogPort {
  private readonly products = sandboxProducts();
  private readonly records = new Map<string, SandboxRecord>();
  private readonly provisioned = new Map<string, Provisioned>();
  private readonly tokens = new Map<string, string>();
  private readonly failing = new Map<Operation | 'any', string>();
  private throttles = 0;
  private seq = 0;
  private readonly provisionMs: number;
  private readonly clock: Clock;
  private readonly accountId: string;
  private readonly apiLatencyMs: number;
  /** Calls made so far, by Service Catalog operation (a page is a call). */
  readonly calls: Record<string, number> = {};
  /** The SearchQuery of every SearchProvisionedProducts call, in order; '' for a page of the whole account. */
  readonly searches: string[] = [];

  constructor(opts: { provisionMs?: number; clock?: Clock; accountId?: string; products?: number; apiLatencyMs?: number } = {}) {
    this.provisionMs = opts.provisionMs ?? 3000;
    this.clock = opts.clock ?? systemClock;
    this.accountId = opts.accountId ?? '111122223333';
    this.apiLatencyMs = opts.apiLatencyMs ?? 0;
    if (opts.products) this.seed(opts.products);
  }

  /** Every call made so far, whatever its operation. */
  callCount(): number {
    return Object.values(this.calls).reduce((a, b) => a + b, 0);
  }

  /**
   * `count` AVAILABLE products, ten to an owner: `useed<k>@synapse.org` owns `useed<k>-p<i>` (Slack user USEED<k> is that
   * owner in the tests' recording Slack API). Made as if long ago, so no call is counted for them.
   */
  private seed(count: number): void {
    for (let i = 0; i < count; i++) {
      const owner = Math.floor(i / SEED_PER_OWNER);
      const product = this.products[i % this.products.length]!;
      const version = product.versions.find((v) => v.active) ?? product.versions[0]!;
      const path = product.paths[0]!;
      const parameters = Object.fromEntries(this.parametersOf(product, path.id).map((p) => [p.key, p.defaultValue ?? p.allowedValues?.[0] ?? `seed${owner}`]));
      const pp: Provisioned = {
        id: awsId('pp', `seed#${i}`),
        name: `useed${owner}-p${i % SEED_PER_OWNER}`,
        product,
        versionId: version.id,
        pathId: path.id,
        parameters,
        tags: { OwnerEmail: `useed${owner}@synapse.org`, Department: 'Research', Project: 'scicomp' },
        createdAt: this.clock.now(),
        records: [],
        terminated: false,
        instanceState: 'running',
        generation: 0,
      };
      this.provisioned.set(pp.id, pp);
      this.settle(this.records.get(this.record(pp, 'provision', 'PROVISION_PRODUCT', 0))!);
    }
  }

  /** One API call: counted, as slow as the account is set to be, and throttled when asked to be. */
  private async call(operation: string, searchQuery?: string): Promise<void> {
    this.calls[operation] = (this.calls[operation] ?? 0) + 1;
    if (searchQuery !== undefined) this.searches.push(searchQuery);
    if (this.apiLatencyMs > 0) await new Promise((r) => setTimeout(r, this.apiLatencyMs));
    this.gate();
  }

  /** The next record of this kind ends FAILED with a CloudFormation-like error. */
  failNext(kind: Operation = 'provision', message = 'Resource creation failed: InsufficientInstanceCapacity (Service: Ec2, Status Code: 500)'): void {
    this.failing.set(kind, message);
  }

  /** The next `n` calls fail like a ThrottlingException. */
  throttleNext(n = 1): void {
    this.throttles += n;
  }

  ownerOf(provisionedProductId: string): string | undefined {
    return this.provisioned.get(provisionedProductId)?.owner;
  }

  instanceState(provisionedProductId: string): 'running' | 'stopped' | undefined {
    return this.provisioned.get(provisionedProductId)?.instanceState;
  }

  private gate(): void {
    if (this.throttles > 0) {
      this.throttles--;
      throw new UpstreamError('Rate exceeded (ThrottlingException)', true);
    }
  }

  private product(productId: string): SandboxProduct {
    const p = this.products.find((x) => x.id === productId);
    if (!p) throw new NotFoundError(`Product ${productId} not found.`);
    return p;
  }

  private version(p: SandboxProduct, versionId: string) {
    const v = p.versions.find((x) => x.id === versionId);
    if (!v) throw new NotFoundError(`Provisioning artifact ${versionId} not found for product ${p.id}.`);
    return v;
  }

  private statusOf(r: SandboxRecord): RecordStatus {
    const elapsed = this.clock.now() - r.startedAt;
    if (elapsed >= r.durationMs) return r.fails ? 'FAILED' : 'SUCCEEDED';
    return elapsed >= r.durationMs * 0.1 ? 'IN_PROGRESS' : 'CREATED';
  }

  /** Applies a record's effects once it is over, the way the provisioned product would change in AWS. */
  private settle(r: SandboxRecord): void {
    if (r.settled || !['SUCCEEDED', 'FAILED'].includes(this.statusOf(r))) return;
    r.settled = true;
    const pp = this.provisioned.get(r.provisionedProductId);
    if (!pp || r.fails) return;
    pp.lastSuccessfulRecordId = r.id;
    if (r.operation === 'terminate') pp.terminated = true;
    if (r.operation === 'action') pp.instanceState = r.actionName === 'AWS-StopEC2Instance' ? 'stopped' : 'running';
  }

  private settleAll(): void {
    for (const r of this.records.values()) this.settle(r);
  }

  private outputsFor(pp: Provisioned): RecordOutput[] {
    const seed = `${pp.id}#${pp.generation}`;
    switch (pp.product.kind) {
      case 'instance':
        return [
          { key: 'InstanceId', value: hexId('i', seed, 17), description: 'EC2 instance id' },
          { key: 'PrivateIp', value: `10.0.${pp.generation % 250}.${(pp.name.length * 7) % 250}` },
        ];
      case 'bucket': {
        const bucket = `${pp.name.toLowerCase().replace(/[^a-z0-9-]/g, '-')}-${this.accountId}`;
        return [
          { key: 'BucketName', value: bucket },
          { key: 'BucketUrl', value: `https://s3.console.aws.amazon.com/s3/buckets/${bucket}` },
        ];
      }
      case 'cluster':
        return [
          { key: 'ClusterName', value: pp.name },
          { key: 'HeadNodeInstanceId', value: hexId('i', seed, 17) },
        ];
    }
  }

  private record(pp: Provisioned, operation: SandboxRecord['operation'], type: string, durationMs: number, token?: string, replaces = true): string {
    if (token) {
      const seen = this.tokens.get(`${operation}:${token}`);
      if (seen) return seen;
    }
    const op = operation === 'provision' || operation === 'update' || operation === 'terminate' ? operation : undefined;
    let fails = op ? this.failing.get(op) : undefined;
    if (op && fails) this.failing.delete(op);
    if (!fails && operation === 'provision' && /fail/i.test(pp.name)) fails = 'Resource creation failed: InsufficientInstanceCapacity (sandbox: the name contains "fail")';
    if (operation === 'update' && !fails && replaces) pp.generation++;
    const id = awsId('rec', `${pp.id}#${++this.seq}`);
    this.records.set(id, {
      id,
      type,
      operation,
      provisionedProductId: pp.id,
      startedAt: this.clock.now(),
      durationMs,
      fails,
      outputs: operation === 'terminate' || operation === 'properties' ? [] : this.outputsFor(pp),
    });
    pp.records.push(id);
    if (token) this.tokens.set(`${operation}:${token}`, id);
    return id;
  }

  async listProducts(): Promise<Product[]> {
    await this.call('SearchProducts');
    return this.products.map(({ id, name, description, owner, versions }) => ({ id, name, description, owner, versions: versions.map((v) => ({ ...v })) }));
  }

  async getProduct(productId: string): Promise<Product> {
    await this.call('DescribeProduct');
    const { id, name, description, owner, versions } = this.product(productId);
    return { id, name, description, owner, versions: versions.map((v) => ({ ...v })) };
  }

  private path(p: SandboxProduct, pathId: string): SandboxPath {
    const path = p.paths.find((x) => x.id === pathId);
    if (!path) throw new NotFoundError(`Launch path ${pathId} not found.`);
    return path;
  }

  private parametersOf(p: SandboxProduct, pathId: string | undefined): ParameterSpec[] {
    return (pathId ? this.path(p, pathId) : p.paths[0]!).parameters ?? p.parameters;
  }

  async launchOptions(productId: string, versionId: string, pathId?: string): Promise<LaunchOptions> {
    await this.call('DescribeProvisioningParameters');
    const p = this.product(productId);
    this.version(p, versionId);
    const path = pathId ? this.path(p, pathId) : p.paths[0]!;
    return {
      pathId: path.id,
      paths: p.paths.map(({ id, name }) => ({ id, name })),
      parameters: this.parametersOf(p, path.id).map((s) => ({ ...s })),
      ...(path.usageInstructions ? { usageInstructions: path.usageInstructions.map((u) => ({ ...u })) } : {}),
    };
  }

  async provision(input: ProvisionInput): Promise<{ recordId: string; provisionedProductId?: string }> {
    await this.call('ProvisionProduct');
    const seen = this.tokens.get(`provision:${input.token}`);
    if (seen) return { recordId: seen, provisionedProductId: this.records.get(seen)!.provisionedProductId };
    const p = this.product(input.productId);
    this.version(p, input.versionId);
    const parameters = this.parametersOf(p, input.pathId);
    this.settleAll();
    if ([...this.provisioned.values()].some((x) => !x.terminated && x.name === input.name)) {
      throw new UserInputError(`A provisioned product with the name ${input.name} already exists. (DuplicateResourceException)`);
    }
    validateParameters(p.name, parameters, input.parameters);
    const pp: Provisioned = {
      id: awsId('pp', `${input.name}#${input.token}`),
      name: input.name,
      product: p,
      versionId: input.versionId,
      pathId: input.pathId,
      parameters: { ...input.parameters },
      tags: { ...input.tags },
      createdAt: this.clock.now(),
      records: [],
      terminated: false,
      instanceState: 'running',
      generation: 0,
    };
    this.provisioned.set(pp.id, pp);
    const recordId = this.record(pp, 'provision', 'PROVISION_PRODUCT', this.provisionMs, input.token);
    return { recordId, provisionedProductId: pp.id };
  }

  async describeRecord(recordId: string): Promise<ProductRecord> {
    await this.call('DescribeRecord');
    const r = this.records.get(recordId);
    if (!r) throw new NotFoundError(`Record ${recordId} not found.`);
    this.settle(r);
    const pp = this.provisioned.get(r.provisionedProductId)!;
    const status = this.statusOf(r);
    return {
      id: r.id,
      status,
      type: r.type,
      provisionedProductId: pp.id,
      provisionedProductName: pp.name,
      productId: pp.product.id,
      versionId: pp.versionId,
      errors: status === 'FAILED' ? [{ code: 'CFN', description: r.fails }] : [],
      outputs: status === 'SUCCEEDED' ? r.outputs.map((o) => ({ ...o })) : [],
      createdTime: new Date(r.startedAt).toISOString(),
      updatedTime: new Date(Math.min(this.clock.now(), r.startedAt + r.durationMs)).toISOString(),
    };
  }

  private statusOfProduct(pp: Provisioned): string {
    const last = this.records.get(pp.records.at(-1)!)!;
    const s = this.statusOf(last);
    if (s !== 'SUCCEEDED' && s !== 'FAILED') return 'UNDER_CHANGE';
    if (s === 'FAILED') return last.operation === 'provision' ? 'ERROR' : 'TAINTED';
    return 'AVAILABLE';
  }

  private view(pp: Provisioned): ProvisionedProduct {
    return {
      id: pp.id,
      name: pp.name,
      type: 'CFN_STACK',
      status: this.statusOfProduct(pp),
      productId: pp.product.id,
      productName: pp.product.name,
      versionId: pp.versionId,
      versionName: this.version(pp.product, pp.versionId).name,
      lastRecordId: pp.records.at(-1),
      lastSuccessfulRecordId: pp.lastSuccessfulRecordId,
      createdTime: new Date(pp.createdAt).toISOString(),
      physicalId: `arn:aws:cloudformation:us-east-1:${this.accountId}:stack/SC-${this.accountId}-${pp.id}/${pp.id}`,
      tags: { ...pp.tags },
    };
  }

  /** Pages of 100, as Service Catalog's; each page is a call. */
  async searchProvisioned(opts: { beforePage?: () => Promise<void> } = {}): Promise<ProvisionedProduct[]> {
    const out: ProvisionedProduct[] = [];
    let all: Provisioned[] | undefined;
    do {
      await opts.beforePage?.();
      await this.call('SearchProvisionedProducts', '');
      if (!all) {
        this.settleAll();
        all = [...this.provisioned.values()].filter((pp) => !pp.terminated);
      }
      out.push(...all.slice(out.length, out.length + SEARCH_PAGE_SIZE).map((pp) => this.view(pp)));
    } while (out.length < all.length);
    return out;
  }

  async describeProvisioned(provisionedProductId: string): Promise<ProvisionedProduct | undefined> {
    await this.call('SearchProvisionedProducts', `id:${provisionedProductId}`);
    this.settleAll();
    const pp = this.provisioned.get(provisionedProductId);
    return pp && !pp.terminated ? this.view(pp) : undefined;
  }

  async findProvisionedByName(name: string): Promise<ProvisionedProduct | undefined> {
    await this.call('SearchProvisionedProducts', `name:${name}`);
    this.settleAll();
    const wanted = name.toLowerCase();
    const pp = [...this.provisioned.values()].find((x) => !x.terminated && x.name.toLowerCase() === wanted);
    return pp && this.view(pp);
  }

  private live(id: string): Provisioned {
    this.settleAll();
    const pp = this.provisioned.get(id);
    if (!pp || pp.terminated) throw new NotFoundError(`Provisioned product ${id} not found.`);
    return pp;
  }

  async update(input: UpdateInput): Promise<{ recordId: string }> {
    await this.call('UpdateProvisionedProduct');
    const seen = this.tokens.get(`update:${input.token}`);
    if (seen) return { recordId: seen };
    const pp = this.live(input.provisionedProductId);
    const p = this.product(input.productId);
    this.version(p, input.versionId);
    const merged = { ...pp.parameters, ...input.parameters };
    validateParameters(p.name, this.parametersOf(p, input.pathId ?? pp.pathId), merged);
    const changed = Object.entries(input.parameters).some(([k, v]) => pp.parameters[k] !== v) || input.versionId !== pp.versionId;
    pp.parameters = merged;
    pp.versionId = input.versionId;
    if (input.tags) pp.tags = { ...input.tags };
    return { recordId: this.record(pp, 'update', 'UPDATE_PROVISIONED_PRODUCT', this.provisionMs, input.token, changed) };
  }

  async terminate(input: { provisionedProductId: string; token: string }): Promise<{ recordId: string }> {
    await this.call('TerminateProvisionedProduct');
    const seen = this.tokens.get(`terminate:${input.token}`);
    if (seen) return { recordId: seen };
    const pp = this.live(input.provisionedProductId);
    return { recordId: this.record(pp, 'terminate', 'TERMINATE_PROVISIONED_PRODUCT', this.provisionMs, input.token) };
  }

  async setOwner(input: { provisionedProductId: string; ownerArn: string; token: string }): Promise<{ recordId: string }> {
    await this.call('UpdateProvisionedProductProperties');
    const seen = this.tokens.get(`properties:${input.token}`);
    if (seen) return { recordId: seen };
    const pp = this.live(input.provisionedProductId);
    pp.owner = input.ownerArn;
    return { recordId: this.record(pp, 'properties', 'UPDATE_PROVISIONED_PRODUCT_PROPERTIES', 0, input.token) };
  }

  private actions(p: SandboxProduct): ServiceAction[] {
    if (p.kind !== 'instance') return [];
    return ['AWS-StopEC2Instance', 'AWS-StartEC2Instance'].map((name) => ({ id: awsId('act', name), name, description: `Runs the SSM document ${name}` }));
  }

  async listServiceActions(productId: string, versionId: string): Promise<ServiceAction[]> {
    await this.call('ListServiceActionsForProvisioningArtifact');
    const p = this.product(productId);
    this.version(p, versionId);
    return this.actions(p);
  }

  async executeServiceAction(input: { provisionedProductId: string; serviceActionId: string; token: string }): Promise<{ recordId: string }> {
    await this.call('ExecuteProvisionedProductServiceAction');
    const seen = this.tokens.get(`action:${input.token}`);
    if (seen) return { recordId: seen };
    const pp = this.live(input.provisionedProductId);
    const action = this.actions(pp.product).find((a) => a.id === input.serviceActionId);
    if (!action) throw new NotFoundError(`Service action ${input.serviceActionId} is not associated with ${pp.name}.`);
    const recordId = this.record(pp, 'action', 'EXECUTE_PROVISIONED_PRODUCT_SERVICE_ACTION', this.provisionMs, input.token);
    this.records.get(recordId)!.actionName = action.name;
    return { recordId };
  }
}
