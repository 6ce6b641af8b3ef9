// The AWS call counter on real SDK v3 clients (their whole middleware stack, retries included), answered by a fake
// HTTP handler instead of AWS: calls, throttles and errors by operation, through the adapters that make them.
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ServiceCatalogClient } from '@aws-sdk/client-service-catalog';
import { describe, expect, it } from 'vitest';
import { AwsCatalog } from '../../../src/adapters/aws/catalog.js';
import { meterAwsClient } from '../../../src/adapters/aws/metrics.js';
import { AwsSecrets } from '../../../src/adapters/aws/secrets.js';
import { Metrics } from '../../../src/metrics.js';

interface Answer {
  status: number;
  body: unknown;
}

/** An HTTP handler for the SDK that answers each request with the next answer, and records the operation (X-Amz-Target). */
function answering(answers: Answer[]) {
  const targets: string[] = [];
  return {
    targets,
    handler: {
      handle: async (request: { headers: Record<string, string> }) => {
        targets.push(request.headers['x-amz-target'] ?? '');
        const a = answers.shift() ?? { status: 500, body: { __type: 'InternalFailure', message: 'no answer left' } };
        const type = (a.body as { __type?: string }).__type;
        return {
          response: {
            statusCode: a.status,
            headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'req-1', ...(type ? { 'x-amzn-errortype': type } : {}) },
            body: new TextEncoder().encode(JSON.stringify(a.body)),
          },
        };
      },
      updateHttpClientConfig: () => {},
      httpHandlerConfigs: () => ({}),
    },
  };
}

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-real-secret' };

async function count(metrics: Metrics, labels: Record<string, string>): Promise<number> {
  const json = await metrics.registry.getSingleMetric('scicomp_aws_api_calls_total')!.get();
  return json.values.filter((v) => Object.entries(labels).every(([k, val]) => (v.labels as Record<string, string>)[k] === val)).reduce((a, v) => a + v.value, 0);
}

describe('AWS API metrics', () => {
  it('counts each attempt: a throttle the SDK retried away, then the success', async () => {
    const metrics = new Metrics();
    const { handler, targets } = answering([
      { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } },
      { status: 200, body: { ProductViewSummaries: [] } },
    ]);
    const client = meterAwsClient(new ServiceCatalogClient({ region: 'us-east-1', credentials, requestHandler: handler }), metrics);
    expect(await new AwsCatalog(client).listProducts()).toEqual([]);
    expect(targets).toEqual(['AWS242ServiceCatalogService.SearchProducts', 'AWS242ServiceCatalogService.SearchProducts']);
    expect(await count(metrics, { service: 'ServiceCatalog', operation: 'SearchProducts', outcome: 'throttled' })).toBe(1);
    expect(await count(metrics, { service: 'ServiceCatalog', operation: 'SearchProducts', outcome: 'ok' })).toBe(1);
  });

  it('counts an error by its operation, on every client it is added to', async () => {
    const metrics = new Metrics();
    const sc = answering([{ status: 400, body: { __type: 'AccessDeniedException', message: 'not allowed' } }]);
    const catalog = new AwsCatalog(meterAwsClient(new ServiceCatalogClient({ region: 'us-east-1', credentials, requestHandler: sc.handler, maxAttempts: 1 }), metrics));
    await expect(catalog.describeRecord('rec-1')).rejects.toThrow(/AccessDenied/);
    const sm = answering([{ status: 200, body: { SecretString: JSON.stringify({ slackBotToken: 'xoxb-from-aws' }) } }]);
    const secrets = new AwsSecrets({ client: meterAwsClient(new SecretsManagerClient({ region: 'us-east-1', credentials, requestHandler: sm.handler }), metrics), secretId: 'scicomp', ttlMs: 60_000 });
    expect(await secrets.get('slackBotToken')).toBe('xoxb-from-aws');
    expect(await count(metrics, { service: 'ServiceCatalog', operation: 'DescribeRecord', outcome: 'error' })).toBe(1);
    expect(await count(metrics, { service: 'SecretsManager', operation: 'GetSecretValue', outcome: 'ok' })).toBe(1);
    // The secret's value is nowhere in what /metrics serves.
    expect(await metrics.text()).not.toContain('xoxb-from-aws');
  });
});
