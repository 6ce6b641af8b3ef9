// Who is acting, where to answer, and the collaborators every core handler receives.
import type { Logger } from 'pino';
import type { Inventory, InventoryPacing } from './inventory.js';
import type { Channels } from './channel.js';
import type { Message } from './message.js';
import type { Policy } from './policy.js';
import type { Address, AlarmsPort, BudgetsPort, CatalogPort, Clock, Platform, ProductKind, TopicsPort } from './ports.js';
import type { AlertStateRepository } from './repositories/alert-state.js';
import type { ApprovalsRepository } from './repositories/approvals.js';
import type { ArchivesRepository } from './repositories/archives.js';
import type { ConfirmationsRepository } from './repositories/confirmations.js';
import type { LaunchPlansRepository } from './repositories/launch-plans.js';
import type { MutationsRepository } from './repositories/mutations.js';
import type { ProductParametersRepository } from './repositories/product-parameters.js';
import type { SnoozesRepository } from './repositories/snoozes.js';
import type { WiringRepository } from './repositories/wiring.js';
import type { ActorRepository } from './repositories/actors.js';
import type { CatalogCacheRepository } from './repositories/catalog-cache.js';
import type { Sealer } from './sealed.js';

/** Where someone is reached on one platform: never who they are. */
export interface Handle {
  platform: Platform;
  userId: string;
}

/** A person is their verified email; their handles are only where to reach them. */
export interface Person {
  email: string;
  name: string;
  /** Short name used in product names (`jdoe`), from the email. */
  username: string;
  handles: Handle[];
}

/** The person acting, and the handle they act through. */
export interface Actor extends Person, Handle {}

export interface Ctx {
  actor: Actor;
  /** Unique per command, click or form submission; idempotency keys and ProvisionTokens derive from it. */
  requestId: string;
  reply: Address;
}

/**
 * One outbound chat message. `key` makes it idempotent; the other keys name earlier messages, resolved at delivery:
 * `replaces` updates that message in place, `threadOf` posts in its thread, `linkTo` adds a link to it.
 */
export interface OutboxItem {
  key: string;
  to: Address;
  message: Message;
  replaces?: string;
  /** Orders updates of one message: an update older than the one already shown is dropped. */
  version?: number;
  threadOf?: string;
  linkTo?: string;
  /** When the SNS notification this message reports reached us (ms since epoch): alert latency ends at its delivery. */
  receivedAt?: number;
}

export interface Outbox {
  send(item: OutboxItem): Promise<void>;
  /** The link of a delivered message, by its outbox key. */
  permalink(key: string): Promise<string | undefined>;
}

export type RecordAction = 'provision' | 'update' | 'terminate' | 'service-action' | 'transfer';

export interface WatchRequest {
  recordId: string;
  provisionedProductId?: string;
  name: string;
  productName: string;
  kind: ProductKind;
  action: RecordAction;
  owner: { platform: Platform; userId: string; email: string };
  requestId: string;
  /** The product's usage instructions, told with the outcome of a launch. */
  usage?: string[];
  /** The journaled AWS mutation this record came from (core/mutations.ts): settled once the owner has heard the outcome. */
  mutationId?: string;
}

export interface Watcher {
  watch(w: WatchRequest): Promise<void>;
}

export interface AuditEntry {
  actor: string;
  /** The acting person's verified email, where known: `audit <person>` finds their entries on every platform by it. */
  actorEmail?: string;
  action: string;
  target?: string;
  parameters?: Record<string, unknown>;
  outcome: string;
  requestId?: string;
}

export interface StoredAuditEntry extends AuditEntry {
  id: string;
  time: string;
}

export interface AuditLog {
  append(entry: AuditEntry): Promise<void>;
  /** Newest first. */
  recent(count: number, filter?: (e: StoredAuditEntry) => boolean): Promise<StoredAuditEntry[]>;
}

/** Who people are: platform handles resolved to persons (their verified email), and approver-group membership. */
export interface People {
  /** The person acting through this handle; a UserInputError when they have no verified email. */
  actor(platform: Platform, userId: string): Promise<Actor>;
  /**
   * The person named by what someone typed on that platform (a mention, @handle or email), resolved by the platform; a
   * UserInputError when no one, or several, match, or they have no verified email.
   */
  find(platform: Platform, text: string): Promise<Person>;
  /** The user ids, on that platform, of a platform group's members. */
  groupMembers(platform: Platform, groupId: string): Promise<string[]>;
}

/** Events for the admin feeds (launch, terminate, alarm, budget, policy change). */
export interface FeedEvent {
  type: 'launched' | 'terminated' | 'termination-failed' | 'updated' | 'alarm' | 'budget' | 'policy-changed' | 'failed';
  summary: string;
  key: string;
}

export interface Feed {
  publish(event: FeedEvent): Promise<void>;
}

export interface ConnectSettings {
  region: string;
  credentialProcess: string;
}

export interface CoreDeps {
  catalog: CatalogPort;
  /** The provisioned products commands read, instead of scanning the account (core/inventory.ts). */
  inventory: Inventory;
  /** How fast the inventory's snapshots read the account. */
  inventoryPacing: InventoryPacing;
  outbox: Outbox;
  watcher: Watcher;
  audit: AuditLog;
  feed: Feed;
  clock: Clock;
  policy: () => Policy;
  /** Re-reads the policy on every replica; the caller announces it. */
  reloadPolicy: () => Promise<void>;
  people: People;
  /** Which person a platform handle is, cached. */
  actors: ActorRepository;
  /** Products and launch options as last read from Service Catalog. */
  catalogCache: CatalogCacheRepository;
  connect: ConnectSettings;
  topics: TopicsPort;
  alarms: AlarmsPort;
  budgets: BudgetsPort;
  /** Each resource's alert, watched products, the topics scicomp owns. */
  alertState: AlertStateRepository;
  snoozes: SnoozesRepository;
  /** Each person's topic (and so their budget's account). */
  wiring: WiringRepository;
  /** Approval requests: filed, decided once, pending, and the marks of carrying them out. */
  approvals: ApprovalsRepository;
  /** Confirmations of updates and terminations, each used by one click. */
  confirmations: ConfirmationsRepository;
  /** Launch plans being provisioned, so a retried launch carries on. */
  launchPlans: LaunchPlansRepository;
  /** Each person's terminated buckets, restorable within the archive's days. */
  archives: ArchivesRepository;
  /** The parameters scicomp set on each provisioned product. */
  productParameters: ProductParametersRepository;
  /** `SCICOMP_PUBLIC_URL/sns`, subscribed to every user's topic; absent in local use. */
  snsEndpoint?: string;
  /** How old an SNS message may be when it arrives (SNS_MAX_AGE_MS): a MessageId is remembered at least that long. */
  snsMaxAgeMs?: number;
  log: Logger;
  /** The chat channels people use, by platform: how to reach them, and how they name commands. */
  channels: Channels;
  /** Seals what holds NoEcho values (launch plans, confirmations, request payloads) before it is stored. */
  sealer: Sealer;
  /** AWS mutations journaled until their owner has heard the outcome (core/mutations.ts); none are reconciled without it. */
  mutations?: MutationsRepository;
}

export const noFeed: Feed = { publish: async () => {} };
