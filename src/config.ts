// Start-up configuration from the environment, validated with zod; a bad setting stops the process with one line naming it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { dataKeyProblem } from './core/sealed.js';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** A whole number; an empty variable counts as unset (`PORT=` must not become port 0). */
const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), z.coerce.number().int().min(min).max(max).optional());

const schema = z.object({
  PORT: int(0, 65535).default(3000),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  SCICOMP_PREFIX: z.string().regex(/^[a-zA-Z0-9:_-]+$/, 'letters, digits, ":", "_" or "-" only').default('scicomp'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_BOT_TOKEN: optionalString,
  SLACK_APP_TOKEN: optionalString,
  SLACK_API_URL: optionalString.pipe(z.string().url().optional()),
  SLACK_TEAM_ID: optionalString.pipe(z.string().regex(/^[TE][A-Z0-9]+$/, 'a Slack team id (T…) or Enterprise Grid id (E…)').optional()),
  SLACK_APP_ID: optionalString.pipe(z.string().regex(/^A[A-Z0-9]+$/, 'a Slack app id (A…)').optional()),
  SCICOMP_AWS: z.enum(['aws', 'sandbox']).optional(),
  AWS_REGION: z.string().default('us-east-1'),
  SCICOMP_SECRET_ID: optionalString,
  SCICOMP_SECRET_TTL_MS: int(1).default(300_000),
  SCICOMP_DATA_KEY: optionalString.refine((v) => v === undefined || dataKeyProblem(v) === undefined, { message: dataKeyProblem('') }),
  SANDBOX_PROVISION_MS: int(1).default(5_000),
  /** Seeds the sandbox account with this many provisioned products, ten to an owner (for measuring at scale). */
  SANDBOX_PRODUCTS: int(0, 1_000_000).default(0),
  /** How long each sandbox API call (each page) takes. */
  SANDBOX_API_LATENCY_MS: int(0, 60_000).default(0),
  /** How long a sandbox mutation (ProvisionProduct, Terminate…) takes to answer once it has taken effect (for fault runs). */
  SANDBOX_MUTATION_ANSWER_MS: int(0, 600_000).default(0),
  /** How often the inventory of provisioned products is reconciled with the account (changes made outside the bot show within it). */
  INVENTORY_RECONCILE_MS: int(1_000).default(300_000),
  /** Service Catalog pages (100 products each) a reconcile reads at most per second, below the account's API limits. */
  INVENTORY_PAGES_PER_SECOND: int(1, 100).default(2),
  SCICOMP_POLICY: z.string().default('manifests/catalog.yaml'),
  SCICOMP_PUBLIC_URL: optionalString.pipe(z.string().url().optional()),
  SCICOMP_SNS_TOPICS: optionalString,
  /** How old an SNS message may be and still be applied: at least a minute, at most the outbox's 7-day memory of what it sent. */
  SNS_MAX_AGE_MS: int(60_000, 7 * 86400_000).default(3_600_000),
  TEAMS_APP_ID: optionalString,
  TEAMS_APP_PASSWORD: optionalString,
  TEAMS_TENANT_ID: optionalString,
  /** SingleTenant (the app registration's own tenant only) or MultiTenant. */
  TEAMS_APP_TYPE: z.enum(['SingleTenant', 'MultiTenant']).default('SingleTenant'),
  /** At most one Teams message per conversation per this interval: Teams allows 7 a second and 60 in 30 s per conversation. */
  TEAMS_CHANNEL_INTERVAL_MS: int(1).default(500),
  // The Bot Framework endpoint settings, read verbatim (botbuilder takes the seven all or nothing): for sovereign
  // clouds and offline tests. Unset, botbuilder uses the public Azure ones.
  ToBotFromChannelOpenIdMetadataUrl: optionalString,
  ToBotFromChannelTokenIssuer: optionalString,
  ToBotFromEmulatorOpenIdMetadataUrl: optionalString,
  ToChannelFromBotLoginUrl: optionalString,
  ToChannelFromBotOAuthScope: optionalString,
  OAuthUrl: optionalString,
  CallerId: optionalString,
  SLACK_FEED_WEBHOOK_URL: optionalString.pipe(z.string().url().optional()),
  TEAMS_FEED_WEBHOOK_URL: optionalString.pipe(z.string().url().optional()),
  SCICOMP_CREDENTIAL_PROCESS: z.string().default('"<path to your credential helper>" "<your access token>"'),
  WATCH_MIN_POLL_MS: int(1).default(5_000),
  WATCH_MAX_POLL_MS: int(1).default(60_000),
  /** At most one Slack message per conversation per this interval (Slack allows about one a second). */
  SLACK_CHANNEL_INTERVAL_MS: int(1),
  /** SLACK_CHANNEL_INTERVAL_MS's name before Teams: still read, with a warning. */
  CHANNEL_INTERVAL_MS: int(1),
  /** How long one attempt holds an outbox message: longer than a chat call may take (Slack's client gives up after 30 s). */
  OUTBOX_LEASE_MS: int(1).default(120_000),
  SCICOMP_CONSOLE: bool.optional(),
  SCICOMP_AUDIT_MAXLEN: int(1000).default(1_000_000),
  /** Bearer token GET /metrics requires; unset, /metrics is open (keep it off the public listener then). */
  METRICS_TOKEN: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  /** Turns the queue dashboard (/admin/queues) on, behind this token. */
  ADMIN_TOKEN: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  ADMIN_QUEUES_WRITE: bool.default(false),
  FEED_INTERVAL_MS: int(1).default(10_000),
  SHUTDOWN_TIMEOUT_MS: int(0).default(30_000),
  SHUTDOWN_DRAIN_MS: int(0).default(0),
  /** How often AWS mutations whose job died are looked for, and how old one must be to count (see core/mutations.ts). */
  MUTATION_RECONCILE_MS: int(100).default(60_000),
  /** A job's lock: a worker that stops renewing it for this long is taken for dead and its job handed on (per-queue multiples). */
  JOB_LOCK_MS: int(100).default(30_000),
  /** How long a client may take to send a request's headers, and its whole request (a slow body is cut off with 408). */
  HTTP_HEADERS_TIMEOUT_MS: int(100).default(10_000),
  HTTP_REQUEST_TIMEOUT_MS: int(100).default(30_000),
  /** Connections the HTTP server holds at once; past it, new ones are refused until some close. */
  HTTP_MAX_CONNECTIONS: int(1).default(4096),
});

export type Config = Omit<z.output<typeof schema>, 'CHANNEL_INTERVAL_MS' | 'SLACK_CHANNEL_INTERVAL_MS'> & {
  SLACK_CHANNEL_INTERVAL_MS: number;
  aws: 'aws' | 'sandbox';
  awsReason: string;
  /** Settings read under an old name, to tell the operator at start-up. */
  deprecated: string[];
};

const AWS_CREDENTIAL_VARS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_PROFILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
];

/** `~/.aws/credentials` (or AWS_SHARED_CREDENTIALS_FILE) with a profile in it: the SDK will find credentials there. */
function sharedCredentialsFile(env: NodeJS.ProcessEnv): string | undefined {
  const path = env.AWS_SHARED_CREDENTIALS_FILE ?? (env.HOME ? join(env.HOME, '.aws', 'credentials') : undefined);
  if (!path || !existsSync(path)) return undefined;
  return /aws_access_key_id|credential_process|sso_session/i.test(readFileSync(path, 'utf8')) ? path : undefined;
}

/** `redis://user:pass@host` → `redis://user:***@host`; also for a value too malformed to parse, where the password may hold "@". */
export function redactCredentials(value: string): string {
  const at = value.lastIndexOf('@');
  if (at < 0) return value;
  const scheme = value.indexOf('://');
  const start = scheme >= 0 && scheme < at ? scheme + 3 : 0;
  const userinfo = value.slice(start, at);
  const colon = userinfo.indexOf(':');
  return `${value.slice(0, start)}${colon < 0 ? '' : `${userinfo.slice(0, colon)}:`}***${value.slice(at)}`;
}

/** botbuilder's endpoint settings, taken all or nothing (BotFrameworkAuthenticationFactory). */
export const TEAMS_ENDPOINT_SETTINGS = [
  'ToBotFromChannelOpenIdMetadataUrl',
  'ToBotFromChannelTokenIssuer',
  'ToBotFromEmulatorOpenIdMetadataUrl',
  'ToChannelFromBotLoginUrl',
  'ToChannelFromBotOAuthScope',
  'OAuthUrl',
  'CallerId',
] as const;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    const got = env[variable];
    // Secrets are never echoed back, even when malformed, nor the credentials in a URL.
    const shown = got === undefined || /SECRET|TOKEN|PASSWORD|WEBHOOK|KEY/.test(variable) ? '' : ` (got ${JSON.stringify(redactCredentials(got))})`;
    throw new ConfigError(`invalid configuration: ${variable}: ${issue.message}${shown}`);
  }
  const c = parsed.data;
  const endpoints = TEAMS_ENDPOINT_SETTINGS.filter((k) => c[k] !== undefined);
  if (endpoints.length > 0 && endpoints.length < TEAMS_ENDPOINT_SETTINGS.length) {
    const missing = TEAMS_ENDPOINT_SETTINGS.filter((k) => c[k] === undefined);
    throw new ConfigError(`invalid configuration: ${missing[0]}: the Bot Framework endpoint settings go together (set all of ${TEAMS_ENDPOINT_SETTINGS.join(', ')}, or none); missing ${missing.join(', ')}`);
  }
  if (c.WATCH_MIN_POLL_MS > c.WATCH_MAX_POLL_MS) {
    throw new ConfigError('invalid configuration: WATCH_MIN_POLL_MS must not exceed WATCH_MAX_POLL_MS');
  }
  const hasCredentials = AWS_CREDENTIAL_VARS.some((v) => env[v]) || sharedCredentialsFile(env) !== undefined;
  const aws = c.SCICOMP_AWS ?? (hasCredentials ? 'aws' : 'sandbox');
  const awsReason = c.SCICOMP_AWS ? `SCICOMP_AWS=${c.SCICOMP_AWS}` : hasCredentials ? 'AWS credentials found' : 'no AWS credentials configured';
  // Sandbox records finish in seconds; poll them at a pace that shows it, unless told otherwise.
  const minPoll = aws === 'sandbox' && env.WATCH_MIN_POLL_MS === undefined ? Math.max(100, Math.round(c.SANDBOX_PROVISION_MS / 10)) : c.WATCH_MIN_POLL_MS;
  const maxPoll = aws === 'sandbox' && env.WATCH_MAX_POLL_MS === undefined ? Math.max(minPoll, c.SANDBOX_PROVISION_MS) : c.WATCH_MAX_POLL_MS;
  const { CHANNEL_INTERVAL_MS: oldInterval, ...rest } = c;
  const deprecated = oldInterval !== undefined ? ['CHANNEL_INTERVAL_MS is now SLACK_CHANNEL_INTERVAL_MS; the old name stops working in the next release'] : [];
  const slackIntervalMs = c.SLACK_CHANNEL_INTERVAL_MS ?? oldInterval ?? 1_000;
  return { ...rest, SLACK_CHANNEL_INTERVAL_MS: slackIntervalMs, WATCH_MIN_POLL_MS: minPoll, WATCH_MAX_POLL_MS: maxPoll, aws, awsReason, deprecated };
}
