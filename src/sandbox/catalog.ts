// A fake AWS Service Catalog account with the products of SPEC.md, for `npm start` without credentials and for tests; its
// state lives in this process or in Redis, shared by every process on it (account.ts).
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
  type ServiceAction,
  type UpdateInput,
  type UsageInstruction,
} from '../core/ports.js';
import { hideNoEchoDefault, validateParameters } from '../core/products.js';
import {
  instanceStateOf,
  isTerminated,
  lastSucceeded,
  MemorySandboxAccount,
  recordStatus,
  type Operation,
  type SandboxAccount,
  type SandboxProvisioned,
  type SandboxRecord,
} from './account.js';

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

const SEARCH_PAGE_SIZE = 100;
const SEED_PER_OWNER = 10;
/** Writes that lost a race with another process are redone on what it wrote, at most this often. */
const COMMIT_TRIES = 20;

export interface SandboxCatalogOptions {
  provisionMs?: number;
  clock?: Clock;
  accountId?: string;
  products?: number;
  apiLatencyMs?: number;
  /** How long a mutation's answer takes to come back once it has taken effect (a caller that dies meanwhile never hears). */
  mutationAnswerMs?: number;
  /** Where the account's state lives (default: this process's memory). */
  account?: SandboxAccount;
}

export class SandboxCatalog implements CatalogPort {
  private readonly products = sandboxProducts();
  private readonly failing = new Map<Operation | 'any', string>();
  private throttles = 0;
  private readonly provisionMs: number;
  private readonly clock: Clock;
  private readonly accountId: string;
  private readonly apiLatencyMs: number;
  private readonly mutationAnswerMs: number;
  private readonly account: SandboxAccount;
  /** When the seeded products were made: all at once. */
  private readonly seededAt: number;
  /** Settles once the seeded products are in the account. */
  readonly ready: Promise<void>;
  /** Calls made so far by this process, by Service Catalog operation (a page is a call). */
  readonly calls: Record<string, number> = {};
  /** The SearchQuery of every SearchProvisionedProducts call, in order; '' for a page of the whole account. */
  readonly searches: string[] = [];

  constructor(opts: SandboxCatalogOptions = {}) {
    this.provisionMs = opts.provisionMs ?? 3000;
    this.clock = opts.clock ?? systemClock;
    this.accountId = opts.accountId ?? '111122223333';
    this.apiLatencyMs = opts.apiLatencyMs ?? 0;
    this.mutationAnswerMs = opts.mutationAnswerMs ?? 0;
    this.account = opts.account ?? new MemorySandboxAccount();
    this.seededAt = this.clock.now();
    this.ready = opts.products ? this.account.seed(opts.products, (i) => this.seedProduct(i)) : Promise.resolve();
  }

  /** Every call made so far, whatever its operation. */
  callCount(): number {
    return Object.values(this.calls).reduce((a, b) => a + b, 0);
  }

  /**
   * The i-th of the AVAILABLE products seeded ten to an owner: `useed<k>@synapse.org` owns `useed<k>-p<i>` (Slack user
   * USEED<k> is that owner in the tests' recording Slack API). Made as if long ago, so no call is counted for it.
   */
  private seedProduct(i: number): SandboxProvisioned {
    const owner = Math.floor(i / SEED_PER_OWNER);
    const product = this.products[i % this.products.length]!;
    const version = product.versions.find((v) => v.active) ?? product.versions[0]!;
    const path = product.paths[0]!;
    const parameters = Object.fromEntries(this.parametersOf(product, path.id).map((p) => [p.key, p.defaultValue ?? p.allowedValues?.[0] ?? `seed${owner}`]));
    const pp: SandboxProvisioned = {
      id: awsId('pp', `seed#${i}`),
      name: `useed${owner}-p${i % SEED_PER_OWNER}`,
      productId: product.id,
      versionId: version.id,
      pathId: path.id,
      parameters,
      tags: { OwnerEmail: `useed${owner}@synapse.org`, Department: 'Research', Project: 'scicomp' },
      createdAt: this.seededAt,
      generation: 0,
      records: [],
      rev: 1,
    };
    pp.records.push({ ...this.newRecord(pp, 'provision', 'PROVISION_PRODUCT', 0), startedAt: this.seededAt });
    return pp;
  }

  /** One API call: counted, as slow as the account is set to be, and throttled when asked to be. */
  private async call(operation: string, searchQuery?: string): Promise<void> {
    this.calls[operation] = (this.calls[operation] ?? 0) + 1;
    if (searchQuery !== undefined) this.searches.push(searchQuery);
    await this.ready;
    if (this.apiLatencyMs > 0) await new Promise((r) => setTimeout(r, this.apiLatencyMs));
    this.gate();
  }

  /** A mutation's answer, after it took effect: as late as the account is set to give it. */
  private async answer<T>(done: Promise<T>): Promise<T> {
    const result = await done;
    if (this.mutationAnswerMs > 0) await new Promise((r) => setTimeout(r, this.mutationAnswerMs));
    return result;
  }

  /** The next record of this kind made by this process ends FAILED with a CloudFormation-like error. */
  failNext(kind: Operation = 'provision', message = 'Resource creation failed: InsufficientInstanceCapacity (Service: Ec2, Status Code: 500)'): void {
    this.failing.set(kind, message);
  }

  /** The next `n` calls fail like a ThrottlingException. */
  throttleNext(n = 1): void {
    this.throttles += n;
  }

  async ownerOf(provisionedProductId: string): Promise<string | undefined> {
    return (await this.account.product(provisionedProductId))?.owner;
  }

  async instanceState(provisionedProductId: string): Promise<'running' | 'stopped' | undefined> {
    const pp = await this.account.product(provisionedProductId);
    return pp && instanceStateOf(pp, this.clock.now());
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

  private outputsFor(pp: SandboxProvisioned): RecordOutput[] {
    const seed = `${pp.id}#${pp.generation}`;
    switch (this.product(pp.productId).kind) {
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

  /**
   * A new record for `pp` (not yet in it). Its id comes from the product and its place in the product's history, so two
   * processes racing to add one make the same id and the account keeps one of them.
   */
  private newRecord(pp: SandboxProvisioned, operation: SandboxRecord['operation'], type: string, durationMs: number, fails?: string): SandboxRecord {
    return {
      id: awsId('rec', `${pp.id}#${pp.records.length}`),
      type,
      operation,
      provisionedProductId: pp.id,
      startedAt: this.clock.now(),
      durationMs,
      ...(fails ? { fails } : {}),
      outputs: operation === 'terminate' || operation === 'properties' ? [] : this.outputsFor(pp),
    };
  }

  /** The failure this process was told to make next for this kind of operation, used up by asking. */
  private takeFailure(operation: SandboxRecord['operation'], name: string): string | undefined {
    if (operation !== 'provision' && operation !== 'update' && operation !== 'terminate') return undefined;
    const fails = this.failing.get(operation);
    if (fails) {
      this.failing.delete(operation);
      return fails;
    }
    if (operation === 'provision' && /fail/i.test(name)) return 'Resource creation failed: InsufficientInstanceCapacity (sandbox: the name contains "fail")';
    return undefined;
  }

  /**
   * Adds a record to a live product through `change` (which may also change the product), atomically: a write that lost
   * a race with another process is redone on what that process wrote, and a token already used returns its record.
   */
  private async change(
    provisionedProductId: string,
    token: string,
    operation: SandboxRecord['operation'],
    type: string,
    durationMs: number,
    change: (pp: SandboxProvisioned) => { replaces?: boolean; actionName?: string } | void,
  ): Promise<string> {
    for (let i = 0; i < COMMIT_TRIES; i++) {
      const seen = await this.account.tokenRecord(token);
      if (seen) return seen;
      const current = await this.live(provisionedProductId);
      const next: SandboxProvisioned = { ...current, parameters: { ...current.parameters }, tags: { ...current.tags }, records: [...current.records], rev: current.rev + 1 };
      const how = change(next) ?? {};
      const fails = this.takeFailure(operation, next.name);
      if (operation === 'update' && !fails && how.replaces !== false) next.generation++;
      const record = this.newRecord(next, operation, type, durationMs, fails);
      if (how.actionName) record.actionName = how.actionName;
      next.records.push(record);
      if (operation === 'terminate' && !fails) next.terminatesAt = record.startedAt + durationMs;
      const result = await this.account.commit(next, { token, recordId: record.id });
      if (result.ok) return record.id;
      if (result.reason === 'token') return result.recordId;
      // The failure asked for was not used: keep it for the record made on the next try.
      if (fails) this.failing.set(operation as Operation, fails);
    }
    throw new UpstreamError('The sandbox account is busy with concurrent changes to this product; try again.', true);
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
      // As AWS answers them: a NoEcho default stays in the template.
      parameters: this.parametersOf(p, path.id).map((s) => hideNoEchoDefault({ ...s })),
      ...(path.usageInstructions ? { usageInstructions: path.usageInstructions.map((u) => ({ ...u })) } : {}),
    };
  }

  private duplicate(name: string): UserInputError {
    return new UserInputError(`A provisioned product with the name ${name} already exists. (DuplicateResourceException)`);
  }

  provision(input: ProvisionInput): Promise<{ recordId: string; provisionedProductId?: string }> {
    return this.answer(this.provisionNow(input));
  }

  private async provisionNow(input: ProvisionInput): Promise<{ recordId: string; provisionedProductId?: string }> {
    await this.call('ProvisionProduct');
    const token = `provision:${input.token}`;
    const made = async (recordId: string) => ({ recordId, provisionedProductId: (await this.account.productOfRecord(recordId))?.id });
    const seen = await this.account.tokenRecord(token);
    if (seen) return made(seen);
    const p = this.product(input.productId);
    this.version(p, input.versionId);
    const parameters = this.parametersOf(p, input.pathId);
    const holder = await this.account.productByName(input.name);
    if (holder && !isTerminated(holder, this.clock.now())) {
      // Another process may have made it for this very token since we looked.
      const since = await this.account.tokenRecord(token);
      if (since) return made(since);
      throw this.duplicate(input.name);
    }
    validateParameters(p.name, parameters, input.parameters);
    const pp: SandboxProvisioned = {
      id: awsId('pp', `${input.name}#${input.token}`),
      name: input.name,
      productId: p.id,
      versionId: input.versionId,
      pathId: input.pathId,
      parameters: { ...input.parameters },
      tags: { ...input.tags },
      createdAt: this.clock.now(),
      generation: 0,
      records: [],
      rev: 1,
    };
    const fails = this.takeFailure('provision', pp.name);
    const record = this.newRecord(pp, 'provision', 'PROVISION_PRODUCT', this.provisionMs, fails);
    pp.records.push(record);
    const result = await this.account.commit(pp, { token, recordId: record.id, claimName: { now: this.clock.now() } });
    if (result.ok) return { recordId: record.id, provisionedProductId: pp.id };
    if (result.reason === 'token') return made(result.recordId);
    throw this.duplicate(input.name);
  }

  async describeRecord(recordId: string): Promise<ProductRecord> {
    await this.call('DescribeRecord');
    const pp = await this.account.productOfRecord(recordId);
    const r = pp?.records.find((x) => x.id === recordId);
    if (!pp || !r) throw new NotFoundError(`Record ${recordId} not found.`);
    const now = this.clock.now();
    const status = recordStatus(r, now);
    return {
      id: r.id,
      status,
      type: r.type,
      provisionedProductId: pp.id,
      provisionedProductName: pp.name,
      productId: pp.productId,
      versionId: pp.versionId,
      errors: status === 'FAILED' ? [{ code: 'CFN', description: r.fails }] : [],
      outputs: status === 'SUCCEEDED' ? r.outputs.map((o) => ({ ...o })) : [],
      createdTime: new Date(r.startedAt).toISOString(),
      updatedTime: new Date(Math.min(now, r.startedAt + r.durationMs)).toISOString(),
    };
  }

  private statusOfProduct(pp: SandboxProvisioned, now: number): string {
    const last = pp.records.at(-1)!;
    const s = recordStatus(last, now);
    if (s !== 'SUCCEEDED' && s !== 'FAILED') return 'UNDER_CHANGE';
    if (s === 'FAILED') return last.operation === 'provision' ? 'ERROR' : 'TAINTED';
    return 'AVAILABLE';
  }

  private view(pp: SandboxProvisioned, now: number): ProvisionedProduct {
    const product = this.product(pp.productId);
    return {
      id: pp.id,
      name: pp.name,
      type: 'CFN_STACK',
      status: this.statusOfProduct(pp, now),
      productId: product.id,
      productName: product.name,
      versionId: pp.versionId,
      versionName: this.version(product, pp.versionId).name,
      lastRecordId: pp.records.at(-1)?.id,
      lastSuccessfulRecordId: lastSucceeded(pp, now)?.id,
      createdTime: new Date(pp.createdAt).toISOString(),
      physicalId: `arn:aws:cloudformation:us-east-1:${this.accountId}:stack/SC-${this.accountId}-${pp.id}/${pp.id}`,
      tags: { ...pp.tags },
    };
  }

  /** Pages of 100, as Service Catalog's; each page is a call. */
  async searchProvisioned(opts: { beforePage?: () => Promise<void> } = {}): Promise<ProvisionedProduct[]> {
    const out: ProvisionedProduct[] = [];
    let all: SandboxProvisioned[] | undefined;
    let now = 0;
    do {
      await opts.beforePage?.();
      await this.call('SearchProvisionedProducts', '');
      if (!all) {
        now = this.clock.now();
        all = (await this.account.products()).filter((pp) => !isTerminated(pp, now));
      }
      out.push(...all.slice(out.length, out.length + SEARCH_PAGE_SIZE).map((pp) => this.view(pp, now)));
    } while (out.length < all.length);
    return out;
  }

  async describeProvisioned(provisionedProductId: string): Promise<ProvisionedProduct | undefined> {
    await this.call('SearchProvisionedProducts', `id:${provisionedProductId}`);
    const pp = await this.account.product(provisionedProductId);
    const now = this.clock.now();
    return pp && !isTerminated(pp, now) ? this.view(pp, now) : undefined;
  }

  async findProvisionedByName(name: string): Promise<ProvisionedProduct | undefined> {
    await this.call('SearchProvisionedProducts', `name:${name}`);
    const pp = await this.account.productByName(name);
    const now = this.clock.now();
    return pp && !isTerminated(pp, now) ? this.view(pp, now) : undefined;
  }

  private async live(id: string): Promise<SandboxProvisioned> {
    const pp = await this.account.product(id);
    if (!pp || isTerminated(pp, this.clock.now())) throw new NotFoundError(`Provisioned product ${id} not found.`);
    return pp;
  }

  update(input: UpdateInput): Promise<{ recordId: string }> {
    return this.answer(this.updateNow(input));
  }

  private async updateNow(input: UpdateInput): Promise<{ recordId: string }> {
    await this.call('UpdateProvisionedProduct');
    const p = this.product(input.productId);
    this.version(p, input.versionId);
    const recordId = await this.change(input.provisionedProductId, `update:${input.token}`, 'update', 'UPDATE_PROVISIONED_PRODUCT', this.provisionMs, (pp) => {
      const merged = { ...pp.parameters, ...input.parameters };
      validateParameters(p.name, this.parametersOf(p, input.pathId ?? pp.pathId), merged);
      const changed = Object.entries(input.parameters).some(([k, v]) => pp.parameters[k] !== v) || input.versionId !== pp.versionId;
      pp.parameters = merged;
      pp.versionId = input.versionId;
      if (input.tags) pp.tags = { ...input.tags };
      return { replaces: changed };
    });
    return { recordId };
  }

  terminate(input: { provisionedProductId: string; token: string }): Promise<{ recordId: string }> {
    return this.answer(this.terminateNow(input));
  }

  private async terminateNow(input: { provisionedProductId: string; token: string }): Promise<{ recordId: string }> {
    await this.call('TerminateProvisionedProduct');
    return { recordId: await this.change(input.provisionedProductId, `terminate:${input.token}`, 'terminate', 'TERMINATE_PROVISIONED_PRODUCT', this.provisionMs, () => {}) };
  }

  setOwner(input: { provisionedProductId: string; ownerArn: string; token: string }): Promise<{ recordId: string }> {
    return this.answer(this.setOwnerNow(input));
  }

  private async setOwnerNow(input: { provisionedProductId: string; ownerArn: string; token: string }): Promise<{ recordId: string }> {
    await this.call('UpdateProvisionedProductProperties');
    const recordId = await this.change(input.provisionedProductId, `properties:${input.token}`, 'properties', 'UPDATE_PROVISIONED_PRODUCT_PROPERTIES', 0, (pp) => {
      pp.owner = input.ownerArn;
    });
    return { recordId };
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

  executeServiceAction(input: { provisionedProductId: string; serviceActionId: string; token: string }): Promise<{ recordId: string }> {
    return this.answer(this.executeServiceActionNow(input));
  }

  private async executeServiceActionNow(input: { provisionedProductId: string; serviceActionId: string; token: string }): Promise<{ recordId: string }> {
    await this.call('ExecuteProvisionedProductServiceAction');
    const recordId = await this.change(input.provisionedProductId, `action:${input.token}`, 'action', 'EXECUTE_PROVISIONED_PRODUCT_SERVICE_ACTION', this.provisionMs, (pp) => {
      const action = this.actions(this.product(pp.productId)).find((a) => a.id === input.serviceActionId);
      if (!action) throw new NotFoundError(`Service action ${input.serviceActionId} is not associated with ${pp.name}.`);
      return { actionName: action.name };
    });
    return { recordId };
  }
}
