// The composition root: builds scicomp from config for every entry point (server roles, tests, the CLI); a caller swaps parts through Overrides.
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { meterAwsClient } from './adapters/aws/metrics.js';
import { AwsSecrets, EnvSecrets } from './adapters/aws/secrets.js';
import { CONSOLE_USER } from './adapters/console/chat.js';
import { ConsoleChannel } from './adapters/console/channel.js';
import type { SandboxLine } from './adapters/console/repl.js';
import { RedisAudit } from './adapters/redis/audit.js';
import { Store } from './adapters/redis/store.js';
import { Scicomp, type Parts } from './app.js';
import { ConfigError, TEAMS_ENDPOINT_SETTINGS, type Config } from './config.js';
import type { TeamsEndpoints, TeamsSettings } from './adapters/teams/channel.js';
import { loadPolicy } from './core/policy.js';
import { systemClock, type SecretName, type SecretsPort } from './core/ports.js';
import { dataKeyProblem } from './core/sealed.js';
import { createLogger } from './log.js';
import { Metrics } from './metrics.js';

export type Role = 'all' | 'web' | 'worker';

/** What an entry point puts in place of what the config would build: a test's catalog, recorder or clock. */
export type Overrides = Partial<Parts>;

function envSecrets(c: Config): Partial<Record<SecretName, string>> {
  return {
    slackSigningSecret: c.SLACK_SIGNING_SECRET,
    slackBotToken: c.SLACK_BOT_TOKEN,
    slackAppToken: c.SLACK_APP_TOKEN,
    teamsAppId: c.TEAMS_APP_ID,
    teamsAppPassword: c.TEAMS_APP_PASSWORD,
    teamsTenantId: c.TEAMS_TENANT_ID,
    slackFeedWebhookUrl: c.SLACK_FEED_WEBHOOK_URL,
    teamsFeedWebhookUrl: c.TEAMS_FEED_WEBHOOK_URL,
    dataKey: c.SCICOMP_DATA_KEY,
  };
}

/** Secrets Manager (SCICOMP_SECRET_ID), with the environment as its fallback; the environment alone in development. */
export function secretsFor(c: Config, metrics: Metrics): SecretsPort {
  const fallback = envSecrets(c);
  return c.SCICOMP_SECRET_ID
    ? new AwsSecrets({ client: meterAwsClient(new SecretsManagerClient({ region: c.AWS_REGION }), metrics), secretId: c.SCICOMP_SECRET_ID, ttlMs: c.SCICOMP_SECRET_TTL_MS, fallback })
    : new EnvSecrets(fallback);
}

type AwsPorts = Pick<Parts, 'catalog' | 'topics' | 'alarms' | 'budgets' | 'sandbox'>;

/** Real AWS, or the in-process sandbox (config.aws); a port given in `o` is used as it is. */
async function awsPorts(c: Config, o: Overrides, metrics: Metrics, log: Logger): Promise<AwsPorts> {
  if (o.catalog && o.topics && o.alarms && o.budgets) return { catalog: o.catalog, topics: o.topics, alarms: o.alarms, budgets: o.budgets, sandbox: o.sandbox };
  if (c.aws === 'aws') {
    // Loaded only here, as the sandbox is below: a process (or test) on the sandbox never loads the AWS clients.
    const { ServiceCatalogClient } = await import('@aws-sdk/client-service-catalog');
    const { AwsCatalog } = await import('./adapters/aws/catalog.js');
    const { AwsAlarms, AwsBudgets, AwsTopics, BudgetsClient, CloudWatchClient, SNSClient } = await import('./adapters/aws/alerts.js');
    const region = c.AWS_REGION;
    return {
      catalog: o.catalog ?? new AwsCatalog(meterAwsClient(new ServiceCatalogClient({ region }), metrics)),
      topics: o.topics ?? new AwsTopics(meterAwsClient(new SNSClient({ region }), metrics)),
      alarms: o.alarms ?? new AwsAlarms(meterAwsClient(new CloudWatchClient({ region }), metrics)),
      // AWS Budgets is a global service answered in us-east-1.
      budgets: o.budgets ?? new AwsBudgets(meterAwsClient(new BudgetsClient({ region: 'us-east-1' }), metrics)),
    };
  }
  // Loaded only here, so production wiring never depends on the sandbox. A test that brings its own catalog gets the
  // rest of the sandbox in memory, as its catalog is.
  if (o.catalog) {
    const { SandboxAlarms, SandboxBudgets, SandboxTopics } = await import('./sandbox/alerts.js');
    return { catalog: o.catalog, topics: o.topics ?? new SandboxTopics(), alarms: o.alarms ?? new SandboxAlarms(), budgets: o.budgets ?? new SandboxBudgets(), sandbox: o.sandbox };
  }
  // Every process on one Redis shares one sandbox account kept there, which survives restarts.
  const { openSharedSandbox } = await import('./sandbox/shared.js');
  const shared = await openSharedSandbox({ redisUrl: c.REDIS_URL, prefix: c.SCICOMP_PREFIX, provisionMs: c.SANDBOX_PROVISION_MS, products: c.SANDBOX_PRODUCTS, apiLatencyMs: c.SANDBOX_API_LATENCY_MS, mutationAnswerMs: c.SANDBOX_MUTATION_ANSWER_MS, log });
  return {
    catalog: o.catalog ?? shared.catalog,
    topics: o.topics ?? shared.topics,
    alarms: o.alarms ?? shared.alarms,
    budgets: o.budgets ?? shared.budgets,
    sandbox: o.sandbox ?? shared.hooks,
  };
}

/** A whole scicomp from its config: the catalog policy, secrets, AWS (or the sandbox) and Slack, unless `o` gives them. */
export async function createApp(config: Config, o: Overrides = {}): Promise<Scicomp> {
  const log = o.log ?? createLogger(config.LOG_LEVEL);
  const metrics = o.metrics ?? new Metrics();
  for (const line of config.deprecated) log.warn(line);
  const policy = o.policy ?? (await loadPolicy(config.SCICOMP_POLICY));
  const secrets = o.secrets ?? secretsFor(config, metrics);
  const teams = o.teams ?? (await teamsSettings(config, secrets));
  return new Scicomp(config, { ...o, log, metrics, policy, secrets, ...(teams ? { teams } : {}), ...(await awsPorts(config, o, metrics, log)) });
}

/**
 * The Teams app from the secrets (teamsAppId, teamsAppPassword, teamsTenantId; the environment in development) and the
 * environment; undefined when no app id is set: the Teams channel then does not exist. Half an app is a mistake.
 */
export async function teamsSettings(config: Config, secrets: SecretsPort): Promise<TeamsSettings | undefined> {
  const [appId, password, tenantId] = await Promise.all([secrets.get('teamsAppId'), secrets.get('teamsAppPassword'), secrets.get('teamsTenantId')]);
  if (!appId && !password) return undefined;
  if (!appId) throw new ConfigError('invalid configuration: TEAMS_APP_ID: required with TEAMS_APP_PASSWORD (teamsAppId in the secret)');
  if (!password) throw new ConfigError('invalid configuration: TEAMS_APP_PASSWORD: required with TEAMS_APP_ID (teamsAppPassword in the secret)');
  if (!tenantId) throw new ConfigError('invalid configuration: TEAMS_TENANT_ID: required with TEAMS_APP_ID (teamsTenantId in the secret): activities from any other tenant are refused');
  const set = TEAMS_ENDPOINT_SETTINGS.every((k) => config[k] !== undefined);
  const endpoints = set ? (Object.fromEntries(TEAMS_ENDPOINT_SETTINGS.map((k) => [k, config[k]])) as TeamsEndpoints) : undefined;
  return { appId, password, tenantId, appType: config.TEAMS_APP_TYPE, intervalMs: config.TEAMS_CHANNEL_INTERVAL_MS, ...(endpoints ? { endpoints } : {}) };
}

/** The audit trail alone, for the CLI: a connection that fails rather than waits while Redis is away. */
export function openAuditTrail(config: Config, log: Logger): { audit: RedisAudit; close(): void } {
  const redis = new Redis(config.REDIS_URL);
  // Said once in the log, not as ioredis' unhandled-error dump; the command itself fails with a plain line.
  let said = false;
  redis.on('error', (err) => {
    if (!said) log.warn({ err }, 'Redis is not answering');
    said = true;
  });
  return { audit: new RedisAudit(new Store(redis, config.SCICOMP_PREFIX), systemClock, config.SCICOMP_AUDIT_MAXLEN), close: () => redis.disconnect() };
}

/** Why a server process must not start with these secrets, or undefined. */
async function startProblem(config: Config, secrets: SecretsPort, role: Role): Promise<string | undefined> {
  const [signingSecret, botToken, appToken] = await Promise.all([secrets.get('slackSigningSecret'), secrets.get('slackBotToken'), secrets.get('slackAppToken')]);
  // Socket Mode needs no signing secret; HTTP mode needs both. Half a Slack configuration is a mistake, not a console.
  if (botToken && !appToken && !signingSecret) return 'invalid configuration: SLACK_SIGNING_SECRET: required with SLACK_BOT_TOKEN (or set SLACK_APP_TOKEN for Socket Mode)';
  if (!botToken && (signingSecret || appToken)) return 'invalid configuration: SLACK_BOT_TOKEN: required with SLACK_SIGNING_SECRET or SLACK_APP_TOKEN';
  // NoEcho values wait in Redis sealed with this key, which every process must share; only the one-process sandbox can
  // do with a key of its own, never stored.
  const dataKey = await secrets.get('dataKey');
  const keyProblem = dataKey ? dataKeyProblem(dataKey) : undefined;
  // SCICOMP_DATA_KEY was checked with the rest of the environment: a bad key here is the secret's.
  if (keyProblem) return `invalid configuration: dataKey in the secret ${config.SCICOMP_SECRET_ID}: ${keyProblem}`;
  if (!dataKey && (config.aws === 'aws' || role !== 'all')) {
    return 'invalid configuration: SCICOMP_DATA_KEY: required with real AWS or separate web and worker processes (or dataKey in the secret): openssl rand -base64 32';
  }
  return undefined;
}

export interface ServeOptions {
  /** The process environment: whether LOG_LEVEL was set at all. */
  env: NodeJS.ProcessEnv;
  /** Whether stdin is a terminal: with no Slack configured, it becomes the chat. */
  stdinIsTTY: boolean;
  /** The console was closed (quit, end of input). */
  onConsoleExit: () => void;
}

/** `npm start` for one role: checks the secrets, builds the app, and starts its server, workers or both. */
export async function serve(role: Role, config: Config, o: ServeOptions): Promise<Scicomp> {
  // A chat platform configured (Slack, or Teams): the terminal is not the chat then.
  const slackEnv = Boolean(config.SCICOMP_SECRET_ID || config.SLACK_BOT_TOKEN || config.SLACK_APP_TOKEN || config.TEAMS_APP_ID);
  const interactive = config.SCICOMP_CONSOLE ?? (!slackEnv && o.stdinIsTTY && role === 'all');
  // The console is the chat there: logs go to stderr, and only what needs attention unless LOG_LEVEL says otherwise.
  const log = interactive ? createLogger(o.env.LOG_LEVEL ? config.LOG_LEVEL : 'warn', pino.destination(2)) : createLogger(config.LOG_LEVEL);
  const metrics = new Metrics();
  const secrets = secretsFor(config, metrics);
  const problem = await startProblem(config, secrets, role);
  if (problem) throw new ConfigError(problem);
  const [botToken, appToken] = await Promise.all([secrets.get('slackBotToken'), secrets.get('slackAppToken')]);
  const slackConfigured = Boolean(botToken);
  const consoleMode = interactive && (config.SCICOMP_CONSOLE === true || !slackConfigured);
  if (config.aws === 'sandbox') log.warn({ reason: config.awsReason, keys: `${config.SCICOMP_PREFIX}:sandbox:*` }, 'SANDBOX MODE: using a fake AWS account kept in Redis, shared by every scicomp on it; nothing is launched in AWS');
  const policy = await loadPolicy(config.SCICOMP_POLICY);
  // The console's `sandbox …` lines publish as AWS would, to this process's own POST /sns (filled once the app is built).
  const running: { app?: Scicomp } = {};
  const sandbox: SandboxLine | undefined =
    config.aws === 'sandbox'
      ? async (args) => {
          const hooks = running.app?.sandbox;
          if (!hooks) return 'The sandbox is not ready yet; try again in a moment.';
          const { sandboxLine } = await import('./sandbox/console.js');
          const email = (await terminal.chat.profile(CONSOLE_USER)).email!;
          return sandboxLine(args, { email, publish: (r) => hooks.publish(r, running.app!.ownSnsUrl()) });
        }
      : undefined;
  const terminal = new ConsoleChannel({ prompt: { onExit: o.onConsoleExit, sandbox }, emailDomain: policy.doc.defaults.emailDomain });
  const channels = consoleMode ? [terminal] : [];
  const app = (running.app = await createApp(config, { log, metrics, secrets, policy, channels }));

  await app.listenForPolicyReloads();
  // Once per deployment's workers is enough (web replicas would only repeat the warning and the catalog reads).
  if (role !== 'web') void app.checkPolicyAgainstCatalog();
  if (consoleMode) {
    if (config.aws === 'sandbox') process.stdout.write(`SANDBOX MODE (${config.awsReason}): a fake AWS account kept in Redis; nothing is launched in AWS.\n`);
    process.stdout.write('No Slack credentials: this terminal is your chat with scicomp.\n');
    if (config.aws === 'sandbox') process.stdout.write('Sandbox: "sandbox alarm <name> cpu-idle" fakes an idle alarm on your instance; "sandbox" alone lists what it fakes.\n');
  }
  if (role !== 'worker') {
    const server = await app.startWeb();
    log.info({ port: (server.address() as { port: number }).port, slack: slackConfigured ? 'configured' : 'not configured' }, 'scicomp web listening');
    if (!slackConfigured) log.warn('no Slack credentials (SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN): Slack requests will be refused');
    if (appToken) log.info('Slack Socket Mode: Slack connects out to this process; no public URL needed');
  }
  if (role !== 'web') {
    app.startWorkers();
    log.info('scicomp workers started');
  }
  if (role === 'worker') {
    // A worker's own /metrics (its jobs, Slack and AWS calls) and /healthz; no Slack or SNS requests.
    const server = await app.startOps();
    log.info({ port: (server.address() as { port: number }).port }, 'scicomp worker: /metrics and /healthz listening');
  }
  return app;
}
