// CatalogPort over AWS Service Catalog (SDK v3), with AWS errors mapped to what the user sees and whether a job retries.
import {
  DescribeProductCommand,
  DescribeProvisioningParametersCommand,
  DescribeRecordCommand,
  ExecuteProvisionedProductServiceActionCommand,
  ListLaunchPathsCommand,
  ListServiceActionsForProvisioningArtifactCommand,
  ProvisionProductCommand,
  SearchProductsCommand,
  SearchProvisionedProductsCommand,
  TerminateProvisionedProductCommand,
  UpdateProvisionedProductCommand,
  UpdateProvisionedProductPropertiesCommand,
  type ProvisionedProductAttribute,
  type ProvisioningArtifactParameter,
  type ServiceCatalogClient,
} from '@aws-sdk/client-service-catalog';
import { NotFoundError, UpstreamError, UserInputError } from '../../core/errors.js';
import { hideNoEchoDefault } from '../../core/products.js';
import type {
  CatalogPort,
  LaunchOptions,
  LaunchPath,
  ParameterSpec,
  Product,
  ProductRecord,
  ProvisionedProduct,
  ProvisionInput,
  RecordStatus,
  ServiceAction,
  UpdateInput,
} from '../../core/ports.js';

const TOKEN = /^[a-zA-Z0-9_-]{1,128}$/;
const ACCOUNT = { Key: 'Account', Value: 'self' } as const;
/** A looked-for product is on the first page of its search; a few more pages allow for a loose match, no more. */
const SEARCH_PAGES_MAX = 3;
const RETRYABLE = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'ServiceUnavailable', 'ServiceUnavailableException', 'InternalFailure', 'RequestTimeout', 'TimeoutError']);

export function mapAwsError(err: unknown, what: string): Error {
  if (err instanceof UserInputError || err instanceof NotFoundError || err instanceof UpstreamError) return err;
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const name = e.name ?? 'Error';
  const message = e.message ?? String(err);
  if (name === 'ResourceNotFoundException') return new NotFoundError(`${what}: ${message}`);
  if (name === 'InvalidParametersException' || name === 'DuplicateResourceException' || name === 'InvalidStateException') {
    return new UserInputError(`${what}: ${message}`);
  }
  const status = e.$metadata?.httpStatusCode;
  const retryable = RETRYABLE.has(name) || e.$retryable !== undefined || (status !== undefined && status >= 500) || ['ECONNRESET', 'ETIMEDOUT', 'ECONNREFUSED', 'EPIPE'].includes((err as { code?: string }).code ?? '');
  return new UpstreamError(`${what}: AWS answered ${name}: ${message}`, retryable, undefined, { cause: err });
}

function num(v: string | undefined): number | undefined {
  return v === undefined || v === '' ? undefined : Number(v);
}

function toSpec(p: ProvisioningArtifactParameter): ParameterSpec {
  const c = p.ParameterConstraints;
  return hideNoEchoDefault({
    key: p.ParameterKey!,
    description: p.Description,
    type: p.ParameterType,
    defaultValue: p.DefaultValue,
    noEcho: p.IsNoEcho,
    allowedValues: c?.AllowedValues?.length ? c.AllowedValues : undefined,
    allowedPattern: c?.AllowedPattern || undefined,
    constraintDescription: c?.ConstraintDescription || undefined,
    minLength: num(c?.MinLength),
    maxLength: num(c?.MaxLength),
    minValue: num(c?.MinValue),
    maxValue: num(c?.MaxValue),
  });
}

function toProvisioned(a: ProvisionedProductAttribute): ProvisionedProduct {
  return {
    id: a.Id!,
    name: a.Name!,
    type: a.Type,
    status: a.Status ?? 'UNKNOWN',
    statusMessage: a.StatusMessage,
    productId: a.ProductId,
    productName: a.ProductName,
    versionId: a.ProvisioningArtifactId,
    versionName: a.ProvisioningArtifactName,
    lastRecordId: a.LastRecordId,
    lastSuccessfulRecordId: a.LastSuccessfulProvisioningRecordId,
    createdTime: a.CreatedTime?.toISOString(),
    physicalId: a.PhysicalId,
    tags: Object.fromEntries((a.Tags ?? []).map((t) => [t.Key!, t.Value ?? ''])),
  };
}

function checkToken(token: string): string {
  if (!TOKEN.test(token)) throw new UserInputError(`idempotency token "${token}" is not 1-128 of [a-zA-Z0-9_-]`);
  return token;
}

export class AwsCatalog implements CatalogPort {
  constructor(private readonly client: ServiceCatalogClient) {}

  private async send<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw mapAwsError(err, what);
    }
  }

  async listProducts(): Promise<Product[]> {
    const summaries: { id: string; name: string; description?: string; owner?: string }[] = [];
    let PageToken: string | undefined;
    do {
      const page = await this.send('SearchProducts', () => this.client.send(new SearchProductsCommand({ PageSize: 100, PageToken })));
      for (const v of page.ProductViewSummaries ?? []) {
        summaries.push({ id: v.ProductId!, name: v.Name!, description: v.ShortDescription, owner: v.Owner });
      }
      PageToken = page.NextPageToken || undefined;
    } while (PageToken);
    return Promise.all(summaries.map((s) => this.getProduct(s.id)));
  }

  async getProduct(productId: string): Promise<Product> {
    const res = await this.send('DescribeProduct', () => this.client.send(new DescribeProductCommand({ Id: productId })));
    const view = res.ProductViewSummary;
    return {
      id: productId,
      name: view?.Name ?? productId,
      description: view?.ShortDescription,
      owner: view?.Owner,
      versions: (res.ProvisioningArtifacts ?? []).map((a) => ({
        id: a.Id!,
        name: a.Name ?? a.Id!,
        description: a.Description,
        active: a.Guidance !== 'DEPRECATED',
      })),
    };
  }

  /** Every launch path the bot's role has to the product (ListLaunchPaths pages at most 20 at a time). */
  private async launchPaths(productId: string): Promise<LaunchPath[]> {
    const out: LaunchPath[] = [];
    let PageToken: string | undefined;
    do {
      const page = await this.send('ListLaunchPaths', () => this.client.send(new ListLaunchPathsCommand({ ProductId: productId, PageSize: 20, PageToken })));
      out.push(...(page.LaunchPathSummaries ?? []).filter((l) => l.Id).map((l) => ({ id: l.Id!, ...(l.Name ? { name: l.Name } : {}) })));
      PageToken = page.NextPageToken || undefined;
    } while (PageToken);
    return out;
  }

  async launchOptions(productId: string, versionId: string, pathId?: string): Promise<LaunchOptions> {
    const paths = await this.launchPaths(productId);
    if (paths.length === 0) throw new NotFoundError(`No launch path for product ${productId}: the bot's role is not in its portfolio. Ask IT.`);
    const path = pathId ? paths.find((p) => p.id === pathId) : paths[0];
    if (!path) throw new NotFoundError(`Product ${productId} has no launch path ${pathId} for the bot's role. Ask IT.`);
    const res = await this.send('DescribeProvisioningParameters', () =>
      this.client.send(new DescribeProvisioningParametersCommand({ ProductId: productId, ProvisioningArtifactId: versionId, PathId: path.id })),
    );
    const usageInstructions = (res.UsageInstructions ?? []).filter((u) => u.Value).map((u) => ({ type: u.Type ?? '', value: u.Value! }));
    return {
      pathId: path.id,
      paths,
      parameters: (res.ProvisioningArtifactParameters ?? []).map(toSpec),
      ...(usageInstructions.length ? { usageInstructions } : {}),
    };
  }

  async provision(input: ProvisionInput): Promise<{ recordId: string; provisionedProductId?: string }> {
    const res = await this.send('ProvisionProduct', () =>
      this.client.send(
        new ProvisionProductCommand({
          ProductId: input.productId,
          ProvisioningArtifactId: input.versionId,
          PathId: input.pathId,
          ProvisionedProductName: input.name,
          ProvisioningParameters: Object.entries(input.parameters).map(([Key, Value]) => ({ Key, Value })),
          Tags: Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value })),
          ProvisionToken: checkToken(input.token),
        }),
      ),
    );
    return { recordId: res.RecordDetail!.RecordId!, provisionedProductId: res.RecordDetail?.ProvisionedProductId };
  }

  async describeRecord(recordId: string): Promise<ProductRecord> {
    let PageToken: string | undefined;
    let record: ProductRecord | undefined;
    do {
      const res = await this.send('DescribeRecord', () => this.client.send(new DescribeRecordCommand({ Id: recordId, PageToken })));
      const d = res.RecordDetail!;
      record ??= {
        id: d.RecordId!,
        status: d.Status as RecordStatus,
        type: d.RecordType ?? 'UNKNOWN',
        provisionedProductId: d.ProvisionedProductId,
        provisionedProductName: d.ProvisionedProductName,
        productId: d.ProductId,
        versionId: d.ProvisioningArtifactId,
        errors: (d.RecordErrors ?? []).map((e) => ({ code: e.Code, description: e.Description })),
        outputs: [],
        createdTime: d.CreatedTime?.toISOString(),
        updatedTime: d.UpdatedTime?.toISOString(),
      };
      record.outputs.push(...(res.RecordOutputs ?? []).map((o) => ({ key: o.OutputKey!, value: o.OutputValue ?? '', description: o.Description })));
      PageToken = res.NextPageToken || undefined;
    } while (PageToken);
    return record;
  }

  async searchProvisioned(opts: { beforePage?: () => Promise<void> } = {}): Promise<ProvisionedProduct[]> {
    const out: ProvisionedProduct[] = [];
    let PageToken: string | undefined;
    do {
      await opts.beforePage?.();
      const page = await this.send('SearchProvisionedProducts', () =>
        this.client.send(new SearchProvisionedProductsCommand({ AccessLevelFilter: ACCOUNT, PageSize: 100, PageToken })),
      );
      out.push(...(page.ProvisionedProducts ?? []).map(toProvisioned));
      PageToken = page.NextPageToken || undefined;
    } while (PageToken);
    return out;
  }

  /** The products a SearchQuery (`id:…`, `name:…`) finds that `matches` keeps: the search matches more loosely than that. */
  private async searchFor(query: string, matches: (p: ProvisionedProduct) => boolean): Promise<ProvisionedProduct | undefined> {
    let PageToken: string | undefined;
    for (let page = 0; page < SEARCH_PAGES_MAX; page++) {
      const res = await this.send('SearchProvisionedProducts', () =>
        this.client.send(new SearchProvisionedProductsCommand({ AccessLevelFilter: ACCOUNT, Filters: { SearchQuery: [query] }, PageSize: 100, PageToken })),
      );
      const found = (res.ProvisionedProducts ?? []).map(toProvisioned).find(matches);
      if (found) return found;
      PageToken = res.NextPageToken || undefined;
      if (!PageToken) break;
    }
    return undefined;
  }

  async describeProvisioned(provisionedProductId: string): Promise<ProvisionedProduct | undefined> {
    return this.searchFor(`id:${provisionedProductId}`, (p) => p.id === provisionedProductId);
  }

  async findProvisionedByName(name: string): Promise<ProvisionedProduct | undefined> {
    const wanted = name.toLowerCase();
    return this.searchFor(`name:${name}`, (p) => p.name.toLowerCase() === wanted);
  }

  async update(input: UpdateInput): Promise<{ recordId: string }> {
    const res = await this.send('UpdateProvisionedProduct', () =>
      this.client.send(
        new UpdateProvisionedProductCommand({
          ProvisionedProductId: input.provisionedProductId,
          ProductId: input.productId,
          ProvisioningArtifactId: input.versionId,
          ...(input.pathId ? { PathId: input.pathId } : {}),
          ProvisioningParameters: input.parameterKeys.map((Key) =>
            Key in input.parameters ? { Key, Value: input.parameters[Key] } : { Key, UsePreviousValue: true },
          ),
          ...(input.tags ? { Tags: Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value })) } : {}),
          UpdateToken: checkToken(input.token),
        }),
      ),
    );
    return { recordId: res.RecordDetail!.RecordId! };
  }

  async terminate(input: { provisionedProductId: string; token: string }): Promise<{ recordId: string }> {
    const res = await this.send('TerminateProvisionedProduct', () =>
      this.client.send(new TerminateProvisionedProductCommand({ ProvisionedProductId: input.provisionedProductId, TerminateToken: checkToken(input.token), IgnoreErrors: false })),
    );
    return { recordId: res.RecordDetail!.RecordId! };
  }

  async setOwner(input: { provisionedProductId: string; ownerArn: string; token: string }): Promise<{ recordId: string }> {
    const res = await this.send('UpdateProvisionedProductProperties', () =>
      this.client.send(
        new UpdateProvisionedProductPropertiesCommand({
          ProvisionedProductId: input.provisionedProductId,
          ProvisionedProductProperties: { OWNER: input.ownerArn },
          IdempotencyToken: checkToken(input.token),
        }),
      ),
    );
    return { recordId: res.RecordId! };
  }

  async listServiceActions(productId: string, versionId: string): Promise<ServiceAction[]> {
    const out: ServiceAction[] = [];
    let PageToken: string | undefined;
    do {
      const page = await this.send('ListServiceActionsForProvisioningArtifact', () =>
        this.client.send(new ListServiceActionsForProvisioningArtifactCommand({ ProductId: productId, ProvisioningArtifactId: versionId, PageToken })),
      );
      out.push(...(page.ServiceActionSummaries ?? []).map((s) => ({ id: s.Id!, name: s.Name ?? s.Id!, description: s.Description })));
      PageToken = page.NextPageToken || undefined;
    } while (PageToken);
    return out;
  }

  async executeServiceAction(input: { provisionedProductId: string; serviceActionId: string; token: string }): Promise<{ recordId: string }> {
    const res = await this.send('ExecuteProvisionedProductServiceAction', () =>
      this.client.send(
        new ExecuteProvisionedProductServiceActionCommand({
          ProvisionedProductId: input.provisionedProductId,
          ServiceActionId: input.serviceActionId,
          ExecuteToken: checkToken(input.token),
        }),
      ),
    );
    return { recordId: res.RecordDetail!.RecordId! };
  }
}
