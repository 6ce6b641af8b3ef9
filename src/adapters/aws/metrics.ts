// Counts every AWS API attempt by service, operation and outcome: one SDK v3 middleware, added to each client.
import type { Metrics } from '../../metrics.js';

/** Error names AWS services use for "slow down" (the SDK's own throttling list, plus HTTP 429). */
const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'TransactionInProgressException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'LimitExceededException',
  'RequestThrottled',
  'SlowDown',
  'PriorRequestNotComplete',
  'EC2ThrottledException',
]);

/** The SDK's FinalizeHandler, written out (@smithy/types is not a dependency of ours). */
type Next = (args: { input: object; request: unknown }) => Promise<{ output: object; response: unknown }>;
interface Context {
  clientName?: string;
  commandName?: string;
}
interface FinalizeStack {
  add(middleware: (next: Next, context: Context) => Next, options: { step: 'finalizeRequest'; name: string; priority: 'low'; override: boolean }): void;
}

export function awsOutcome(err: unknown): 'throttled' | 'error' {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return THROTTLING.has(e?.name ?? '') || e?.$metadata?.httpStatusCode === 429 ? 'throttled' : 'error';
}

/**
 * Adds the counting middleware to a client. It sits inside the SDK's retry loop (finalizeRequest, low priority), so a
 * throttle the SDK retried away is still counted. Returns the client.
 */
export function meterAwsClient<C extends { middlewareStack: object }>(client: C, metrics: Pick<Metrics, 'awsCall'>): C {
  // Every SDK v3 client's stack takes a finalizeRequest middleware; its per-client overloads defeat a structural type.
  (client.middlewareStack as FinalizeStack).add(
    (next, context) => async (args) => {
      const service = (context.clientName ?? 'unknown').replace(/Client$/, '');
      const operation = (context.commandName ?? 'unknown').replace(/Command$/, '');
      try {
        const out = await next(args);
        metrics.awsCall(service, operation, 'ok');
        return out;
      } catch (err) {
        metrics.awsCall(service, operation, awsOutcome(err));
        throw err;
      }
    },
    { step: 'finalizeRequest', name: 'scicompMetrics', priority: 'low', override: true },
  );
  return client;
}
