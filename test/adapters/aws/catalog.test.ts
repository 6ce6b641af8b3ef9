import {
  DescribeProductCommand,
  DescribeProvisioningParametersCommand,
  DescribeRecordCommand,
  ExecuteProvisionedProductServiceActionCommand,
  ListLaunchPathsCommand,
  ListServiceActionsForProvisioningArtifactCommand,
  ProvisionProductCommand,
  ResourceNotFoundException,
  SearchProductsCommand,
  SearchProvisionedProductsCommand,
  ServiceCatalogClient,
  TerminateProvisionedProductCommand,
  UpdateProvisionedProductCommand,
  UpdateProvisionedProductPropertiesCommand,
  InvalidParametersException,
} from '@aws-sdk/client-service-catalog';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsCatalog } from '../../../src/adapters/aws/catalog.js';
import { NotFoundError, UpstreamError, UserInputError } from '../../../src/core/errors.js';

const sc = mockClient(ServiceCatalogClient);
const catalog = new AwsCatalog(new ServiceCatalogClient({ region: 'us-east-1' }));

beforeEach(() => sc.reset());

function inputs<T>(command: new (...a: never[]) => T) {
  return sc.commandCalls(command as never).map((c) => c.args[0].input);
}

describe('AwsCatalog', () => {
  it('lists products across pages with their versions', async () => {
    sc.on(SearchProductsCommand, { PageSize: 100, PageToken: undefined })
      .resolves({ ProductViewSummaries: [{ ProductId: 'prod-a', Name: 'EC2 Linux' }], NextPageToken: 'p2' })
      .on(SearchProductsCommand, { PageSize: 100, PageToken: 'p2' })
      .resolves({ ProductViewSummaries: [{ ProductId: 'prod-b', Name: 'S3 Private Encrypted Bucket' }] });
    sc.on(DescribeProductCommand, { Id: 'prod-a' })
      .resolves({
        ProductViewSummary: { Name: 'EC2 Linux', ShortDescription: 'Linux' },
        ProvisioningArtifacts: [
          { Id: 'pa-1', Name: 'v1.0.0', Guidance: 'DEPRECATED' },
          { Id: 'pa-2', Name: 'v1.1.0', Guidance: 'DEFAULT' },
        ],
      })
      .on(DescribeProductCommand, { Id: 'prod-b' })
      .resolves({ ProductViewSummary: { Name: 'S3 Private Encrypted Bucket' }, ProvisioningArtifacts: [{ Id: 'pa-3', Name: 'v1' }] });
    const products = await catalog.listProducts();
    expect(inputs(SearchProductsCommand)).toEqual([{ PageSize: 100 }, { PageSize: 100, PageToken: 'p2' }]);
    expect(products.map((p) => p.name)).toEqual(['EC2 Linux', 'S3 Private Encrypted Bucket']);
    expect(products[0]!.versions).toEqual([
      { id: 'pa-1', name: 'v1.0.0', description: undefined, active: false },
      { id: 'pa-2', name: 'v1.1.0', description: undefined, active: true },
    ]);
  });

  it('reads launch options: every launch path across pages, the first one\'s parameters with constraints as numbers', async () => {
    sc.on(ListLaunchPathsCommand, { ProductId: 'prod-a', PageSize: 20, PageToken: undefined })
      .resolves({ LaunchPathSummaries: [{ Id: 'lpv3-x', Name: 'Research Computing' }], NextPageToken: 'lp2' })
      .on(ListLaunchPathsCommand, { ProductId: 'prod-a', PageSize: 20, PageToken: 'lp2' })
      .resolves({ LaunchPathSummaries: [{ Id: 'lpv3-y', Name: 'Teaching' }] });
    sc.on(DescribeProvisioningParametersCommand).resolves({
      ProvisioningArtifactParameters: [
        {
          ParameterKey: 'VolumeSize',
          ParameterType: 'Number',
          DefaultValue: '30',
          Description: 'GiB',
          IsNoEcho: false,
          ParameterConstraints: { MinValue: '8', MaxValue: '1000', AllowedValues: [] },
        },
        { ParameterKey: 'InstanceType', DefaultValue: 't3.micro', ParameterConstraints: { AllowedValues: ['t3.micro', 't3.large'] } },
        { ParameterKey: 'NotebookPassword', DefaultValue: 'template-secret', IsNoEcho: true },
      ],
    });
    const options = await catalog.launchOptions('prod-a', 'pa-2');
    expect(inputs(ListLaunchPathsCommand)).toEqual([
      { ProductId: 'prod-a', PageSize: 20 },
      { ProductId: 'prod-a', PageSize: 20, PageToken: 'lp2' },
    ]);
    expect(inputs(DescribeProvisioningParametersCommand)).toEqual([{ ProductId: 'prod-a', ProvisioningArtifactId: 'pa-2', PathId: 'lpv3-x' }]);
    expect(options.pathId).toBe('lpv3-x');
    expect(options.paths).toEqual([
      { id: 'lpv3-x', name: 'Research Computing' },
      { id: 'lpv3-y', name: 'Teaching' },
    ]);
    expect(options.usageInstructions).toBeUndefined();
    expect(options.parameters[0]).toMatchObject({ key: 'VolumeSize', type: 'Number', defaultValue: '30', minValue: 8, maxValue: 1000, allowedValues: undefined });
    expect(options.parameters[1]).toMatchObject({ key: 'InstanceType', allowedValues: ['t3.micro', 't3.large'] });
    // A NoEcho default never leaves the adapter: only that there is one.
    expect(options.parameters[2]).toMatchObject({ key: 'NotebookPassword', noEcho: true, hasDefault: true });
    expect(JSON.stringify(options)).not.toContain('template-secret');
  });

  it('reads the launch options of the path asked for, with its usage instructions', async () => {
    sc.on(ListLaunchPathsCommand).resolves({ LaunchPathSummaries: [{ Id: 'lpv3-x', Name: 'Research Computing' }, { Id: 'lpv3-y', Name: 'Teaching' }] });
    sc.on(DescribeProvisioningParametersCommand).resolves({
      ProvisioningArtifactParameters: [{ ParameterKey: 'Subnets', ParameterType: 'List<AWS::EC2::Subnet::Id>' }],
      UsageInstructions: [
        { Type: 'schedule', Value: 'Stopped every night at 22:00 UTC.' },
        { Type: 'empty' },
      ],
    });
    const options = await catalog.launchOptions('prod-a', 'pa-2', 'lpv3-y');
    expect(inputs(DescribeProvisioningParametersCommand)).toEqual([{ ProductId: 'prod-a', ProvisioningArtifactId: 'pa-2', PathId: 'lpv3-y' }]);
    expect(options.pathId).toBe('lpv3-y');
    expect(options.parameters[0]).toMatchObject({ key: 'Subnets', type: 'List<AWS::EC2::Subnet::Id>' });
    expect(options.usageInstructions).toEqual([{ type: 'schedule', value: 'Stopped every night at 22:00 UTC.' }]);
  });

  it('refuses a launch path the role does not have, before describing it', async () => {
    sc.on(ListLaunchPathsCommand).resolves({ LaunchPathSummaries: [{ Id: 'lpv3-x', Name: 'Research Computing' }] });
    await expect(catalog.launchOptions('prod-a', 'pa-2', 'lpv3-gone')).rejects.toThrow(NotFoundError);
    expect(inputs(DescribeProvisioningParametersCommand)).toEqual([]);
  });

  it('says so when the role has no launch path', async () => {
    sc.on(ListLaunchPathsCommand).resolves({ LaunchPathSummaries: [] });
    await expect(catalog.launchOptions('prod-a', 'pa-2')).rejects.toThrow(NotFoundError);
  });

  it('provisions through the chosen launch path with parameters, tags and the idempotency token', async () => {
    sc.on(ProvisionProductCommand).resolves({ RecordDetail: { RecordId: 'rec-1', ProvisionedProductId: 'pp-1' } });
    const res = await catalog.provision({
      productId: 'prod-a',
      versionId: 'pa-2',
      pathId: 'lpv3-y',
      name: 'jdoe-box',
      parameters: { InstanceType: 't3.large' },
      tags: { OwnerEmail: 'jdoe@synapse.org', Department: 'Research', Project: 'scicomp' },
      token: 'launch-abc_123',
    });
    expect(res).toEqual({ recordId: 'rec-1', provisionedProductId: 'pp-1' });
    expect(inputs(ProvisionProductCommand)).toEqual([
      {
        ProductId: 'prod-a',
        ProvisioningArtifactId: 'pa-2',
        PathId: 'lpv3-y',
        ProvisionedProductName: 'jdoe-box',
        ProvisioningParameters: [{ Key: 'InstanceType', Value: 't3.large' }],
        Tags: [
          { Key: 'OwnerEmail', Value: 'jdoe@synapse.org' },
          { Key: 'Department', Value: 'Research' },
          { Key: 'Project', Value: 'scicomp' },
        ],
        ProvisionToken: 'launch-abc_123',
      },
    ]);
  });

  it('refuses a token AWS would refuse, before calling', async () => {
    await expect(
      catalog.provision({ productId: 'p', versionId: 'v', pathId: 'l', name: 'n', parameters: {}, tags: {}, token: 'has:colon' }),
    ).rejects.toThrow(UserInputError);
    expect(inputs(ProvisionProductCommand)).toEqual([]);
  });

  it('describes a record, paging through its outputs', async () => {
    const detail = { RecordId: 'rec-1', Status: 'SUCCEEDED' as const, RecordType: 'PROVISION_PRODUCT', ProvisionedProductId: 'pp-1', RecordErrors: [] };
    sc.on(DescribeRecordCommand, { Id: 'rec-1', PageToken: undefined })
      .resolves({ RecordDetail: detail, RecordOutputs: [{ OutputKey: 'InstanceId', OutputValue: 'i-0123456789abcdef0' }], NextPageToken: 'n' })
      .on(DescribeRecordCommand, { Id: 'rec-1', PageToken: 'n' })
      .resolves({ RecordDetail: detail, RecordOutputs: [{ OutputKey: 'PrivateIp', OutputValue: '10.0.0.1' }] });
    const r = await catalog.describeRecord('rec-1');
    expect(r.status).toBe('SUCCEEDED');
    expect(r.outputs.map((o) => o.key)).toEqual(['InstanceId', 'PrivateIp']);
  });

  it('searches every provisioned product of the account', async () => {
    sc.on(SearchProvisionedProductsCommand).resolves({
      ProvisionedProducts: [
        {
          Id: 'pp-1',
          Name: 'jdoe-box',
          Status: 'AVAILABLE',
          ProductName: 'EC2 Linux',
          LastRecordId: 'rec-2',
          LastSuccessfulProvisioningRecordId: 'rec-1',
          Tags: [{ Key: 'OwnerEmail', Value: 'jdoe@synapse.org' }],
        },
      ],
    });
    const all = await catalog.searchProvisioned();
    expect(inputs(SearchProvisionedProductsCommand)).toEqual([{ AccessLevelFilter: { Key: 'Account', Value: 'self' }, PageSize: 100 }]);
    expect(all[0]).toMatchObject({ id: 'pp-1', lastSuccessfulRecordId: 'rec-1', tags: { OwnerEmail: 'jdoe@synapse.org' } });
  });

  it('calls beforePage ahead of every page of the account, so a reconcile can pace itself', async () => {
    sc.on(SearchProvisionedProductsCommand, { PageToken: undefined })
      .resolves({ ProvisionedProducts: [{ Id: 'pp-1', Name: 'a-1' }], NextPageToken: 'p2' })
      .on(SearchProvisionedProductsCommand, { PageToken: 'p2' })
      .resolves({ ProvisionedProducts: [{ Id: 'pp-2', Name: 'a-2' }] });
    const order: string[] = [];
    const all = await catalog.searchProvisioned({
      beforePage: async () => {
        order.push(`before ${sc.commandCalls(SearchProvisionedProductsCommand).length}`);
      },
    });
    expect(all.map((p) => p.id)).toEqual(['pp-1', 'pp-2']);
    expect(order).toEqual(['before 0', 'before 1']);
    expect(inputs(SearchProvisionedProductsCommand)).toEqual([
      { AccessLevelFilter: { Key: 'Account', Value: 'self' }, PageSize: 100 },
      { AccessLevelFilter: { Key: 'Account', Value: 'self' }, PageSize: 100, PageToken: 'p2' },
    ]);
  });

  it('re-reads one provisioned product, tags included, with an id: search query', async () => {
    sc.on(SearchProvisionedProductsCommand).resolves({
      ProvisionedProducts: [
        // The search matches loosely: only the exact id is the product asked for.
        { Id: 'pp-12', Name: 'jdoe-other', Status: 'AVAILABLE', Tags: [] },
        { Id: 'pp-1', Name: 'jdoe-box', Status: 'UNDER_CHANGE', LastRecordId: 'rec-9', Tags: [{ Key: 'OwnerEmail', Value: 'jdoe@synapse.org' }] },
      ],
    });
    const p = await catalog.describeProvisioned('pp-1');
    expect(inputs(SearchProvisionedProductsCommand)).toEqual([
      { AccessLevelFilter: { Key: 'Account', Value: 'self' }, Filters: { SearchQuery: ['id:pp-1'] }, PageSize: 100 },
    ]);
    expect(p).toMatchObject({ id: 'pp-1', name: 'jdoe-box', status: 'UNDER_CHANGE', lastRecordId: 'rec-9', tags: { OwnerEmail: 'jdoe@synapse.org' } });
  });

  it('says a provisioned product is gone when the id: search finds nothing', async () => {
    sc.on(SearchProvisionedProductsCommand).resolves({ ProvisionedProducts: [] });
    expect(await catalog.describeProvisioned('pp-gone')).toBeUndefined();
    expect(sc.commandCalls(SearchProvisionedProductsCommand)).toHaveLength(1);
  });

  it('finds a provisioned product by its exact name (any case) with a name: search query, a few pages at most', async () => {
    sc.on(SearchProvisionedProductsCommand, { PageToken: undefined })
      .resolves({ ProvisionedProducts: [{ Id: 'pp-2', Name: 'jdoe-box-2' }], NextPageToken: 'n2' })
      .on(SearchProvisionedProductsCommand, { PageToken: 'n2' })
      .resolves({ ProvisionedProducts: [{ Id: 'pp-1', Name: 'JDoe-Box', Tags: [{ Key: 'OwnerEmail', Value: 'jdoe@synapse.org' }] }], NextPageToken: 'n3' });
    expect(await catalog.findProvisionedByName('jdoe-box')).toMatchObject({ id: 'pp-1', name: 'JDoe-Box' });
    expect(inputs(SearchProvisionedProductsCommand)).toEqual([
      { AccessLevelFilter: { Key: 'Account', Value: 'self' }, Filters: { SearchQuery: ['name:jdoe-box'] }, PageSize: 100 },
      { AccessLevelFilter: { Key: 'Account', Value: 'self' }, Filters: { SearchQuery: ['name:jdoe-box'] }, PageSize: 100, PageToken: 'n2' },
    ]);
    sc.reset();
    sc.on(SearchProvisionedProductsCommand).resolves({ ProvisionedProducts: [{ Id: 'pp-3', Name: 'jdoe-box-3' }], NextPageToken: 'again' });
    expect(await catalog.findProvisionedByName('jdoe-box')).toBeUndefined();
    expect(sc.commandCalls(SearchProvisionedProductsCommand)).toHaveLength(3);
  });

  it('updates with UsePreviousValue for every unchanged parameter', async () => {
    sc.on(UpdateProvisionedProductCommand).resolves({ RecordDetail: { RecordId: 'rec-3' } });
    await catalog.update({
      provisionedProductId: 'pp-1',
      productId: 'prod-a',
      versionId: 'pa-2',
      parameters: { InstanceType: 'm5.large' },
      parameterKeys: ['InstanceType', 'AmiId', 'VolumeSize'],
      token: 'update-xyz',
    });
    expect(inputs(UpdateProvisionedProductCommand)).toEqual([
      {
        ProvisionedProductId: 'pp-1',
        ProductId: 'prod-a',
        ProvisioningArtifactId: 'pa-2',
        ProvisioningParameters: [
          { Key: 'InstanceType', Value: 'm5.large' },
          { Key: 'AmiId', UsePreviousValue: true },
          { Key: 'VolumeSize', UsePreviousValue: true },
        ],
        UpdateToken: 'update-xyz',
      },
    ]);
  });

  it('terminates, transfers ownership and runs service actions with their tokens', async () => {
    sc.on(TerminateProvisionedProductCommand).resolves({ RecordDetail: { RecordId: 'rec-t' } });
    sc.on(UpdateProvisionedProductPropertiesCommand).resolves({ RecordId: 'rec-o' });
    sc.on(ExecuteProvisionedProductServiceActionCommand).resolves({ RecordDetail: { RecordId: 'rec-a' } });
    sc.on(ListServiceActionsForProvisioningArtifactCommand).resolves({ ServiceActionSummaries: [{ Id: 'act-1', Name: 'AWS-StopEC2Instance' }] });
    expect(await catalog.terminate({ provisionedProductId: 'pp-1', token: 'terminate-1' })).toEqual({ recordId: 'rec-t' });
    expect(await catalog.setOwner({ provisionedProductId: 'pp-1', ownerArn: 'arn:aws:iam::123456789012:user/bob', token: 'transfer-1' })).toEqual({ recordId: 'rec-o' });
    expect(await catalog.listServiceActions('prod-a', 'pa-2')).toEqual([{ id: 'act-1', name: 'AWS-StopEC2Instance', description: undefined }]);
    expect(await catalog.executeServiceAction({ provisionedProductId: 'pp-1', serviceActionId: 'act-1', token: 'stop-1' })).toEqual({ recordId: 'rec-a' });
    expect(inputs(TerminateProvisionedProductCommand)).toEqual([{ ProvisionedProductId: 'pp-1', TerminateToken: 'terminate-1', IgnoreErrors: false }]);
    expect(inputs(UpdateProvisionedProductPropertiesCommand)).toEqual([
      { ProvisionedProductId: 'pp-1', ProvisionedProductProperties: { OWNER: 'arn:aws:iam::123456789012:user/bob' }, IdempotencyToken: 'transfer-1' },
    ]);
    expect(inputs(ListServiceActionsForProvisioningArtifactCommand)).toEqual([{ ProductId: 'prod-a', ProvisioningArtifactId: 'pa-2' }]);
    expect(inputs(ExecuteProvisionedProductServiceActionCommand)).toEqual([{ ProvisionedProductId: 'pp-1', ServiceActionId: 'act-1', ExecuteToken: 'stop-1' }]);
  });

  it('maps AWS errors to what the user sees and whether a job retries', async () => {
    sc.on(DescribeProductCommand).rejects(new ResourceNotFoundException({ message: 'Product not found', $metadata: {} }));
    await expect(catalog.getProduct('prod-x')).rejects.toThrow(NotFoundError);
    sc.on(TerminateProvisionedProductCommand).rejects(new InvalidParametersException({ message: 'bad', $metadata: {} }));
    await expect(catalog.terminate({ provisionedProductId: 'pp', token: 't' })).rejects.toThrow(UserInputError);
    sc.on(DescribeRecordCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }));
    const throttled = await catalog.describeRecord('rec').catch((e: unknown) => e);
    expect(throttled).toBeInstanceOf(UpstreamError);
    expect((throttled as UpstreamError).retryable).toBe(true);
    sc.on(SearchProvisionedProductsCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }));
    const denied = await catalog.searchProvisioned().catch((e: unknown) => e);
    expect((denied as UpstreamError).retryable).toBe(false);
  });
});
