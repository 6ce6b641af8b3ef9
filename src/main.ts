// `npm start`: web and workers in one process (--role=web or --role=worker runs one half). Wires real or sandbox AWS.
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ServiceCatalogClient } from '@aws-sdk/client-service-catalog';
import { pino, type Logger } from 'pino';
import { AwsCatalog } from './adapters/aws/catalog.js';
import { meterAwsClient } from './adapters/aws/metrics.js';
import { AwsSecrets, EnvSecrets } from './adapters/aws/secrets.js';
import { ConsoleChat } from './adapters/console/chat.js';
import { startConsole } from './adapters/console/repl.js';
import { AwsAlarms, AwsBudgets, AwsTopics, BudgetsClient, CloudWatchClient, SNSClient } from './adapters/aws/alerts.js';
import { Scicomp, type Overrides } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { PolicyError, loadPolicy } from './core/policy.js';
import type { SecretName } from './core/ports.js';
import { dataKeyProblem } from './core/sealed.js';
import { createLogger } from './log.js';
import { Metrics } from './metrics.js';

type Role = 'all' | 'web' | 'worker';

const USAGE = `usage: scicomp [--role=all|web|worker]   (node dist/src/main.js in the image, npm start from the source)

  --role=all     web and workers in one process (the default)
  --role=web     the HTTP server only: Slack, POST /sns, GET /healthz
  --role=worker  the queue workers only
  --help         this text

Settings come from the environment (PORT, REDIS_URL, SLACK_*, SCICOMP_*): see README.md, Configuration.
`;

function roleFromArgs(argv: string[]): Role {
  const arg = argv.find((a) => a.startsWith('--role='))?.slice('--role='.length) ?? 'all';
  if (arg !== 'all' && arg !== 'web' && arg !== 'worker') throw new ConfigError(`invalid --role: ${arg} (web, worker or all)`);
  return arg;
}

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

type AwsPorts = Pick<Overrides, 'catalog' | 'topics' | 'alarms' | 'budgets'>;

async function awsPorts(c: Config, log: Logger, metrics: Metrics): Promise<AwsPorts> {
  if (c.aws === 'aws') {
    const region = c.AWS_REGION;
    return {
      catalog: new AwsCatalog(meterAwsClient(new ServiceCatalogClient({ region }), metrics)),
      topics: new AwsTopics(meterAwsClient(new SNSClient({ region }), metrics)),
      alarms: new AwsAlarms(meterAwsClient(new CloudWatchClient({ region }), metrics)),
      // AWS Budgets is a global service answered in us-east-1.
      budgets: new AwsBudgets(meterAwsClient(new BudgetsClient({ region: 'us-east-1' }), metrics)),
    };
  }
  log.warn({ reason: c.awsReason }, 'SANDBOX MODE: using an in-process fake AWS account; nothing is launched in AWS');
  // Loaded only here, so production wiring never depends on the sandbox.
  const { SandboxCatalog } = await import('./sandbox/catalog.js');
  const { SandboxAlarms, SandboxBudgets, SandboxTopics } = await import('./sandbox/alerts.js');
  const catalog = new SandboxCatalog({ provisionMs: c.SANDBOX_PROVISION_MS, products: c.SANDBOX_PRODUCTS, apiLatencyMs: c.SANDBOX_API_LATENCY_MS });
  return { catalog, topics: new SandboxTopics(), alarms: new SandboxAlarms(), budgets: new SandboxBudgets() };
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  const config = loadConfig();
  const role = roleFromArgs(process.argv.slice(2));
  const slackEnv = Boolean(config.SCICOMP_SECRET_ID || config.SLACK_BOT_TOKEN || config.SLACK_APP_TOKEN);
  const interactive = config.SCICOMP_CONSOLE ?? (!slackEnv && process.stdin.isTTY === true && role === 'all');
  // The console is the chat there: logs go to stderr, and only what needs attention unless LOG_LEVEL says otherwise.
  const log = interactive ? createLogger(process.env.LOG_LEVEL ? config.LOG_LEVEL : 'warn', pino.destination(2)) : createLogger(config.LOG_LEVEL);
  const metrics = new Metrics();
  const policy = await loadPolicy(config.SCICOMP_POLICY);
  const fallback = envSecrets(config);
  const secrets = config.SCICOMP_SECRET_ID
    ? new AwsSecrets({ client: meterAwsClient(new SecretsManagerClient({ region: config.AWS_REGION }), metrics), secretId: config.SCICOMP_SECRET_ID, ttlMs: config.SCICOMP_SECRET_TTL_MS, fallback })
    : new EnvSecrets(fallback);
  const [signingSecret, botToken, appToken] = await Promise.all([secrets.get('slackSigningSecret'), secrets.get('slackBotToken'), secrets.get('slackAppToken')]);
  // Socket Mode needs no signing secret; HTTP mode needs both. Half a Slack configuration is a mistake, not a console.
  if (botToken && !appToken && !signingSecret) throw new ConfigError('invalid configuration: SLACK_SIGNING_SECRET: required with SLACK_BOT_TOKEN (or set SLACK_APP_TOKEN for Socket Mode)');
  if (!botToken && (signingSecret || appToken)) throw new ConfigError('invalid configuration: SLACK_BOT_TOKEN: required with SLACK_SIGNING_SECRET or SLACK_APP_TOKEN');
  // NoEcho values wait in Redis sealed with this key, which every process must share; only the one-process sandbox can
  // do with a key of its own, never stored.
  const dataKey = await secrets.get('dataKey');
  const keyProblem = dataKey ? dataKeyProblem(dataKey) : undefined;
  // SCICOMP_DATA_KEY was checked with the rest of the environment: a bad key here is the secret's.
  if (keyProblem) throw new ConfigError(`invalid configuration: dataKey in the secret ${config.SCICOMP_SECRET_ID}: ${keyProblem}`);
  if (!dataKey && (config.aws === 'aws' || role !== 'all')) {
    throw new ConfigError('invalid configuration: SCICOMP_DATA_KEY: required with real AWS or separate web and worker processes (or dataKey in the secret): openssl rand -base64 32');
  }
  const slackConfigured = Boolean(botToken);
  const consoleMode = interactive && (config.SCICOMP_CONSOLE === true || !slackConfigured);
  if (config.aws === 'sandbox' && role !== 'all') {
    log.warn('the sandbox lives in one process: run web and workers together (npm start) to see provisioning finish');
  }
  const consoleChat = consoleMode ? new ConsoleChat((t) => process.stdout.write(`\n${t}\n`), policy.doc.defaults.emailDomain) : undefined;
  const app = new Scicomp({ ...config, SLACK_APP_TOKEN: appToken }, policy, {
    ...(await awsPorts(config, log, metrics)),
    secrets,
    log,
    metrics,
    chats: consoleChat ? { console: consoleChat } : {},
  });

  await app.listenForPolicyReloads();
  // Once per deployment's workers is enough (web replicas would only repeat the warning and the catalog reads).
  if (role !== 'web') void app.checkPolicyAgainstCatalog();
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

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      // Asked again: whoever sends it wants out now; jobs in hand return to their queues when their locks expire.
      log.warn({ signal }, 'second signal: exiting at once');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    stopping = true;
    log.info({ signal, timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'shutting down: finishing the work in hand (a second signal exits at once)');
    try {
      await app.close();
    } catch (err) {
      log.error({ err }, 'shutdown did not finish cleanly');
      process.exit(1);
    }
    log.info('shut down');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGHUP', () => {
    app.reloadPolicy().catch((err: Error) => log.error({ err }, 'catalog policy NOT reloaded; the previous one stays in force'));
  });
  if (consoleChat) {
    if (config.aws === 'sandbox') process.stdout.write(`SANDBOX MODE (${config.awsReason}): an in-process fake AWS account; nothing is launched in AWS.\n`);
    process.stdout.write('No Slack credentials: this terminal is your chat with scicomp.\n');
  }
  if (consoleChat) startConsole(consoleChat, (p) => app.inbox.push(p), () => void stop('console closed'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof PolicyError) {
    process.stderr.write(`scicomp: ${err.message}\n`);
  } else {
    // One line (a Secrets Manager or Redis fault at start-up); the stack only when asked for.
    const detail = process.env.LOG_LEVEL === 'debug' || process.env.LOG_LEVEL === 'trace' ? ((err as Error).stack ?? String(err)) : ((err as Error).message ?? String(err));
    process.stderr.write(`scicomp: failed to start: ${detail}\n`);
  }
  process.exit(1);
});
