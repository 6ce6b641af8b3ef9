// One sandbox AWS account in Redis for every scicomp process on it, across restarts: its ports (catalog, topics, alarms,
// budgets) and its hooks for the app (the SNS certificate to trust, POST /sandbox/publish), built in one place.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redisConnection } from '../../jobs/queues.js';
import { systemClock, type Clock } from '../core/ports.js';
import { SandboxCatalog } from './catalog.js';
import { RedisSandboxAccount } from './redis-account.js';
import { RedisSandboxAlarms, RedisSandboxBudgets, RedisSandboxTopics } from './redis-alerts.js';
import { loadSigner, SandboxSns, type PublishRequest, type Published, type SnsSigner } from './sns.js';

/** What the app needs of the sandbox, in sandbox mode only. */
export interface SandboxHooks {
  /** The sandbox SNS's certificate by its URL: SNS messages signed with it verify, without a fetch. */
  readonly certificates: ReadonlyMap<string, string>;
  /** POST /sandbox/publish, delivering to `target` (the process's own POST /sns). */
  publishHandler(target: () => string): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** Publishes as POST /sandbox/publish does, to `target` (the console's `sandbox …` lines). */
  publish(request: PublishRequest, target: string): Promise<Published>;
  close(): Promise<void>;
}

export interface SharedSandboxOptions {
  redisUrl: string;
  /** SCICOMP_PREFIX: the account lives under `<prefix>:sandbox:`. */
  prefix: string;
  provisionMs?: number;
  products?: number;
  apiLatencyMs?: number;
  mutationAnswerMs?: number;
  clock?: Clock;
  log?: Logger;
  fetch?: typeof fetch;
}

export interface SharedSandbox {
  catalog: SandboxCatalog;
  topics: RedisSandboxTopics;
  alarms: RedisSandboxAlarms;
  budgets: RedisSandboxBudgets;
  sns: SandboxSns;
  /** The key and certificate the sandbox SNS signs with, the same in every process on this Redis. */
  signer: SnsSigner;
  hooks: SandboxHooks;
  /** Publishes as POST /sandbox/publish does (the console's `sandbox …`). */
  publish(request: PublishRequest, target: string): Promise<Published>;
  redis: Redis;
}

const ACCOUNT_ID = '111122223333';
const REGION = 'us-east-1';

export async function openSharedSandbox(o: SharedSandboxOptions): Promise<SharedSandbox> {
  const redis = redisConnection(o.redisUrl);
  // The app says once that Redis is away; this connection waits for it quietly.
  redis.on('error', () => {});
  const clock = o.clock ?? systemClock;
  const account = new RedisSandboxAccount(redis, o.prefix);
  const catalog = new SandboxCatalog({ account, provisionMs: o.provisionMs, products: o.products, apiLatencyMs: o.apiLatencyMs, mutationAnswerMs: o.mutationAnswerMs, clock, accountId: ACCOUNT_ID });
  const topics = new RedisSandboxTopics(redis, o.prefix, ACCOUNT_ID, REGION);
  const alarms = new RedisSandboxAlarms(redis, o.prefix);
  const budgets = new RedisSandboxBudgets(redis, o.prefix);
  const [signer] = await Promise.all([loadSigner(redis, o.prefix), catalog.ready]);
  const sns = new SandboxSns({ signer, account, topics, alarms, budgets, clock, accountId: ACCOUNT_ID, region: REGION, log: o.log, fetch: o.fetch });
  topics.sendConfirmation = sns.confirm;
  const hooks: SandboxHooks = {
    certificates: new Map([[signer.certUrl, signer.cert]]),
    publishHandler: (target) => sns.publishHandler(target),
    publish: (request, target) => sns.publish(request, target),
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
  return { catalog, topics, alarms, budgets, sns, signer, hooks, publish: (request, target) => sns.publish(request, target), redis };
}
