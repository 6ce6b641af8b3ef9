// The ports the core speaks to. Adapters (AWS SDK, sandbox, Slack, Redis) implement them; src/main.ts wires them.
import type { Form, Message } from './message.js';

// ---------- Service Catalog ----------

export type RecordStatus = 'CREATED' | 'IN_PROGRESS' | 'IN_PROGRESS_IN_ERROR' | 'SUCCEEDED' | 'FAILED';
export const TERMINAL_RECORD_STATUSES: readonly RecordStatus[] = ['SUCCEEDED', 'FAILED'];

export type ProductKind = 'instance' | 'bucket' | 'cluster' | 'other';

export interface ProductVersion {
  id: string;
  name: string;
  description?: string;
  active: boolean;
}

export interface Product {
  id: string;
  name: string;
  description?: string;
  owner?: string;
  versions: ProductVersion[];
}

/** One provisioning parameter with the product's own constraints (DescribeProvisioningParameters). */
export interface ParameterSpec {
  key: string;
  description?: string;
  type?: string;
  /** Never a NoEcho parameter's: its default stays in the template (see hideNoEchoDefault). */
  defaultValue?: string;
  noEcho?: boolean;
  /** A NoEcho parameter the template gives a default: left out of a launch, AWS applies that default itself. */
  hasDefault?: boolean;
  allowedValues?: string[];
  allowedPattern?: string;
  constraintDescription?: string;
  minLength?: number;
  maxLength?: number;
  minValue?: number;
  maxValue?: number;
}

/** One way the bot's role reaches a product (ListLaunchPaths): a portfolio, with that portfolio's constraints. */
export interface LaunchPath {
  id: string;
  /** The portfolio's name, as the console shows it. */
  name?: string;
}

/** Additional information the catalog administrator gave for launching (DescribeProvisioningParameters' UsageInstructions). */
export interface UsageInstruction {
  type: string;
  value: string;
}

export interface LaunchOptions {
  /** The launch path these parameters (and their constraints) are for. */
  pathId: string;
  /** Every launch path of the product; absent means `pathId` is the only one. */
  paths?: LaunchPath[];
  parameters: ParameterSpec[];
  usageInstructions?: UsageInstruction[];
}

export interface ProvisionInput {
  productId: string;
  versionId: string;
  pathId: string;
  name: string;
  parameters: Record<string, string>;
  tags: Record<string, string>;
  /** Idempotency token derived from the request id. */
  token: string;
}

export interface UpdateInput {
  provisionedProductId: string;
  productId: string;
  versionId: string;
  pathId?: string;
  /** Parameters to change; every other parameter keeps its previous value. */
  parameters: Record<string, string>;
  /** Every parameter key of the product, so unchanged ones are sent as UsePreviousValue. */
  parameterKeys: string[];
  tags?: Record<string, string>;
  token: string;
}

export interface ProvisionedProduct {
  id: string;
  name: string;
  type?: string;
  /** AVAILABLE | UNDER_CHANGE | TAINTED | ERROR | PLAN_IN_PROGRESS */
  status: string;
  statusMessage?: string;
  productId?: string;
  productName?: string;
  versionId?: string;
  versionName?: string;
  lastRecordId?: string;
  /** The last record that succeeded: its outputs describe what is running now. */
  lastSuccessfulRecordId?: string;
  createdTime?: string;
  physicalId?: string;
  tags: Record<string, string>;
}

export interface RecordOutput {
  key: string;
  value: string;
  description?: string;
}

export interface ProductRecord {
  id: string;
  status: RecordStatus;
  /** PROVISION_PRODUCT | UPDATE_PROVISIONED_PRODUCT | TERMINATE_PROVISIONED_PRODUCT | EXECUTE_PROVISIONED_PRODUCT_SERVICE_ACTION | ... */
  type: string;
  provisionedProductId?: string;
  provisionedProductName?: string;
  productId?: string;
  versionId?: string;
  errors: { code?: string; description?: string }[];
  outputs: RecordOutput[];
  createdTime?: string;
  updatedTime?: string;
}

export interface ServiceAction {
  id: string;
  name: string;
  description?: string;
}

export interface CatalogPort {
  /** Products the bot's role can launch (SearchProducts, then DescribeProduct for the versions). */
  listProducts(): Promise<Product[]>;
  getProduct(productId: string): Promise<Product>;
  /** ListLaunchPaths (all of them) and DescribeProvisioningParameters for one version, through `pathId` or else the first path. */
  launchOptions(productId: string, versionId: string, pathId?: string): Promise<LaunchOptions>;
  provision(input: ProvisionInput): Promise<{ recordId: string; provisionedProductId?: string }>;
  describeRecord(recordId: string): Promise<ProductRecord>;
  /**
   * Every provisioned product in the account (SearchProvisionedProducts, AccessLevelFilter Account/self, 100 a page).
   * `beforePage` runs before each page's call: the inventory's reconcile paces itself there.
   */
  searchProvisioned(opts?: { beforePage?: () => Promise<void> }): Promise<ProvisionedProduct[]>;
  /** One provisioned product, tags included, read afresh (SearchProvisionedProducts `id:`); undefined once it is gone. */
  describeProvisioned(provisionedProductId: string): Promise<ProvisionedProduct | undefined>;
  /** The live provisioned product of that name (any case), read afresh (SearchProvisionedProducts `name:`). */
  findProvisionedByName(name: string): Promise<ProvisionedProduct | undefined>;
  update(input: UpdateInput): Promise<{ recordId: string }>;
  terminate(input: { provisionedProductId: string; token: string }): Promise<{ recordId: string }>;
  /** UpdateProvisionedProductProperties with OWNER. */
  setOwner(input: { provisionedProductId: string; ownerArn: string; token: string }): Promise<{ recordId: string }>;
  listServiceActions(productId: string, versionId: string): Promise<ServiceAction[]>;
  executeServiceAction(input: { provisionedProductId: string; serviceActionId: string; token: string }): Promise<{ recordId: string }>;
}

// ---------- Chat ----------

export type Platform = 'slack' | 'teams' | 'console';

/** Where a message goes. `user` is the user's own channel (DM or configured private channel). */
export type Address =
  | { platform: Platform; kind: 'user'; userId: string }
  | { platform: Platform; kind: 'channel'; channel: string; thread?: string; /** Teams: the team the channel is in. */ team?: string }
  /** A private reply to a command or click; `ref` is the adapter's own serialised reference. */
  | { platform: Platform; kind: 'reply'; ref: string };

export interface PostedMessage {
  /** Adapter-specific reference (channel + timestamp) used for updates and threads. */
  ref: string;
  /** A link a person can open, when the platform has one. */
  permalink?: string;
}

/** Whoever acted, and the channel's own reference (RunPayload.formRef) for showing them a form, when it has one. */
export interface FormPlace {
  userId: string;
  /** Where the answer to the interaction goes. */
  reply: Address;
  ref?: string;
}

export interface ChatProfile {
  email?: string;
  name: string;
  /** Short handle used in product names (`jdoe`). */
  username: string;
}

export interface ChatPort {
  readonly platform: Platform;
  /**
   * `thread` is the ref of a parent message: the post becomes a reply in its thread. `key` (the outbox's id for the
   * message) is stamped on the message where the platform can carry it, for `findPosted`.
   */
  post(to: Address, msg: Message, opts?: { thread?: string; key?: string }): Promise<PostedMessage>;
  /**
   * The message posted with this `key` since `sinceMs` (ms since epoch), if the platform shows one: how a retry learns
   * that an attempt which died after posting did post. Optional: a platform that cannot tell leaves it out, and a post
   * retried after a crash may repeat. Teams cannot: the id could be stamped (an Adaptive Card's `id`, the activity's
   * `channelData`), but there is no metadata search, and a bot cannot read a 1:1 chat's history without Microsoft Graph.
   */
  findPosted?(to: Address, key: string, sinceMs: number, opts?: { thread?: string }): Promise<PostedMessage | undefined>;
  update(ref: string, msg: Message): Promise<void>;
  /** A link a person can open to a posted message, where the platform has one. */
  permalink(ref: string): Promise<string | undefined>;
  /** Shows a form to whoever acted; a channel that needs a trigger or an open view finds it in `place.ref`. */
  showForm(place: FormPlace, form: Form): Promise<void>;
  profile(userId: string): Promise<ChatProfile>;
  /** Members of a platform user group (the approver group). */
  groupMembers(groupId: string): Promise<string[]>;
  /** The platform user id a person typed (a mention, @handle or email); a UserInputError when no one, or several, match. */
  findUser?(text: string): Promise<string>;
}

// ---------- Secrets ----------

export const SECRET_NAMES = [
  'slackSigningSecret',
  'slackBotToken',
  'slackAppToken',
  'teamsAppId',
  'teamsAppPassword',
  'teamsTenantId',
  'slackFeedWebhookUrl',
  'teamsFeedWebhookUrl',
  /** AES-256-GCM key(s) sealing NoEcho values and raw commands in Redis (core/sealed.ts). */
  'dataKey',
] as const;
export type SecretName = (typeof SECRET_NAMES)[number];

export interface SecretsPort {
  get(name: SecretName): Promise<string | undefined>;
  /** Forget the cache, e.g. after a webhook refused a post as if the URL was rotated. */
  invalidate(): void;
}

// ---------- Time ----------

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

// ---------- Alerts wiring: SNS topics, CloudWatch alarms, Budgets ----------

export interface UserTopicInput {
  /** Stable per user, so CreateTopic returns the same topic every time. */
  name: string;
  ownerEmail: string;
  /** The bot's HTTPS endpoint (`SCICOMP_PUBLIC_URL/sns`), subscribed beside the user's email. */
  endpoint?: string;
}

export interface TopicsPort {
  /** CreateTopic (tagged with the owner) and a policy letting CloudWatch and Budgets publish; idempotent. Returns the ARN. */
  createTopic(input: UserTopicInput): Promise<string>;
  /** Email and HTTPS subscriptions where absent (or, for HTTPS, still pending confirmation); idempotent. */
  ensureSubscriptions(topicArn: string, input: UserTopicInput): Promise<void>;
  confirmSubscription(topicArn: string, token: string): Promise<void>;
}

export type AlarmKind = 'cpu-high' | 'cpu-idle' | 'memory-high' | 'disk-high';

export interface AlarmThreshold {
  threshold: number;
  periodSeconds: number;
  evaluationPeriods: number;
}

export interface InstanceAlarmsInput {
  provisionedProductId: string;
  instanceId: string;
  topicArn: string;
  thresholds: Record<AlarmKind, AlarmThreshold>;
}

export interface AlarmsPort {
  /** PutMetricAlarm for each kind, named `scicomp-<provisioned product id>-<kind>`; returns the names. */
  putInstanceAlarms(input: InstanceAlarmsInput): Promise<string[]>;
  deleteAlarms(names: string[]): Promise<void>;
}

export interface BudgetSummary {
  limitUsd: number;
  actualUsd: number;
  forecastUsd?: number;
}

export interface BudgetsPort {
  /** A monthly cost budget filtered by the OwnerEmail tag, notifying the topic at 80 % and 100 % actual and 100 % forecast. */
  ensureUserBudget(input: { accountId: string; name: string; ownerEmail: string; monthlyUsd: number; topicArn: string }): Promise<void>;
  describeUserBudget(input: { accountId: string; name: string }): Promise<BudgetSummary | undefined>;
}
