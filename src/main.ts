// `npm start`: web and workers in one process (--role=web or --role=worker runs one half). Wires real or sandbox AWS.
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ServiceCatalogClient } from '@aws-sdk/client-service-catalog';
import { pino } from 'pino';
import { AwsCatalog } from './adapters/aws/catalog.js';
import { AwsSecrets, EnvSecrets } from './adapters/aws/secrets.js';
import { CONSOLE_USER, ConsoleChat } from './adapters/console/chat.js';
import { startConsole } from './adapters/console/repl.js';
import { AwsAlarms, AwsBudgets, AwsTopics, BudgetsClient, CloudWatchClient, SNSClient } from './adapters/aws/alerts.js';
import { Scicomp, type Overrides } from './app.js';
import { ConfigError, LOG_REDACT, loadConfig, type Config } from './config.js';
import { PolicyError, loadPolicy } from './core/policy.js';
import type { SecretName } from './core/ports.js';
import { dataKeyProblem } from './core/sealed.js';
import type { SharedSandbox } from './sandbox/shared.js';

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

type AwsPorts = Pick<Overrides, 'catalog' | 'topics' | 'alarms' | 'budgets' | 'sandbox'>;

async function awsPorts(c: Config, log: pino.Logger): Promise<AwsPorts & { shared?: SharedSandbox }> {
  if (c.aws === 'aws') {
    const region = c.AWS_REGION;
    return {
      catalog: new AwsCatalog(new ServiceCatalogClient({ region })),
      topics: new AwsTopics(new SNSClient({ region })),
      alarms: new AwsAlarms(new CloudWatchClient({ region })),
      // AWS Budgets is a global service answered in us-east-1.
      budgets: new AwsBudgets(new BudgetsClient({ region: 'us-east-1' })),
    };
  }
  log.warn({ reason: c.awsReason, keys: `${c.SCICOMP_PREFIX}:sandbox:*` }, 'SANDBOX MODE: using a fake AWS account kept in Redis, shared by every scicomp on it; nothing is launched in AWS');
  // Loaded only here, so production wiring never depends on the sandbox.
  const { openSharedSandbox } = await import('./sandbox/shared.js');
  const shared = await openSharedSandbox({ redisUrl: c.REDIS_URL, prefix: c.SCICOMP_PREFIX, provisionMs: c.SANDBOX_PROVISION_MS, products: c.SANDBOX_PRODUCTS, apiLatencyMs: c.SANDBOX_API_LATENCY_MS, log });
  return { catalog: shared.catalog, topics: shared.topics, alarms: shared.alarms, budgets: shared.budgets, sandbox: shared.hooks, shared };
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
  const log = interactive
    ? pino({ level: process.env.LOG_LEVEL ? config.LOG_LEVEL : 'warn', redact: LOG_REDACT }, pino.destination(2))
    : pino({ level: config.LOG_LEVEL, redact: LOG_REDACT });
  const policy = await loadPolicy(config.SCICOMP_POLICY);
  const fallback = envSecrets(config);
  const secrets = config.SCICOMP_SECRET_ID
    ? new AwsSecrets({ client: new SecretsManagerClient({ region: config.AWS_REGION }), secretId: config.SCICOMP_SECRET_ID, ttlMs: config.SCICOMP_SECRET_TTL_MS, fallback })
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
  const consoleChat = consoleMode ? new ConsoleChat((t) => process.stdout.write(`\n${t}\n`), policy.doc.defaults.emailDomain) : undefined;
  const { shared, ...ports } = await awsPorts(config, log);
  const app = new Scicomp({ ...config, SLACK_APP_TOKEN: appToken }, policy, {
    ...ports,
    secrets,
    log,
    chats: consoleChat ? { console: consoleChat } : {},
  });

  await app.listenForPolicyReloads();
  // Once per deployment's workers is enough (web replicas would only repeat the warning and the catalog reads).
  if (role !== 'web') void app.checkPolicyAgainstCatalog();
  let webPort: number | undefined;
  if (role !== 'worker') {
    const server = await app.startWeb();
    webPort = (server.address() as { port: number }).port;
    log.info({ port: webPort, slack: slackConfigured ? 'configured' : 'not configured' }, 'scicomp web listening');
    if (!slackConfigured) log.warn('no Slack credentials (SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN): Slack requests will be refused');
    if (appToken) log.info('Slack Socket Mode: Slack connects out to this process; no public URL needed');
  }
  if (role !== 'web') {
    app.startWorkers();
    log.info('scicomp workers started');
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: finishing jobs in hand');
    await app.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGHUP', () => {
    app.reloadPolicy().catch((err: Error) => log.error({ err: err.message }, 'catalog policy NOT reloaded; the previous one stays in force'));
  });
  if (consoleChat) {
    if (config.aws === 'sandbox') process.stdout.write(`SANDBOX MODE (${config.awsReason}): a fake AWS account kept in Redis; nothing is launched in AWS.\n`);
    process.stdout.write('No Slack credentials: this terminal is your chat with scicomp.\n');
    if (shared) process.stdout.write('Sandbox: "sandbox alarm <name> cpu-idle" fakes an idle alarm on your instance; "sandbox" alone lists what it fakes.\n');
    // `sandbox …` lines are the console's own: they publish as AWS would, to this process's POST /sns.
    const email = (await consoleChat.profile(CONSOLE_USER)).email!;
    const sandboxLine = shared && webPort !== undefined
      ? async (args: string) => {
          const { sandboxLine: run } = await import('./sandbox/console.js');
          return run(args, { email, publish: (r) => shared.publish(r, `http://127.0.0.1:${webPort}/sns`) });
        }
      : undefined;
    startConsole(consoleChat, (p) => app.inbox.push(p), () => void stop('console closed'), sandboxLine);
  }
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
