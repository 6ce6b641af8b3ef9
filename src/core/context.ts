// Who is acting, where to answer, and the collaborators every core handler receives.
import type { Logger } from 'pino';
import type { Store } from '../adapters/redis/store.js';
import type { Channels } from './channel.js';
import type { Message } from './message.js';
import type { Policy } from './policy.js';
import type { Address, AlarmsPort, BudgetsPort, CatalogPort, Clock, Platform, ProductKind, TopicsPort } from './ports.js';
import type { Sealer } from './sealed.js';

export interface Actor {
  platform: Platform;
  userId: string;
  email: string;
  /** Short handle used in product names. */
  username: string;
  name: string;
}

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

/**
 * The outbox's mark that a message is on its way. Whoever creates a message that later ones may edit before it lands
 * (an alert, in the same atomic step that lets a repeat refer to it) sets this; the outbox holds such edits back until
 * the message has landed, instead of posting them as new messages.
 */
export const announcedKey = (store: Pick<Store, 'key'>, messageKey: string) => store.key('outbox', 'announced', messageKey);

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
}

export interface Watcher {
  watch(w: WatchRequest): Promise<void>;
}

export interface AuditEntry {
  actor: string;
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

/** Who people are: chat users resolved to directory identities, and group membership. */
export interface People {
  actor(platform: Platform, userId: string): Promise<Actor>;
  groupMembers(platform: Platform, groupId: string): Promise<string[]>;
  /** The user id a person typed, resolved by the platform; undefined where it names people by mention only. */
  find?(platform: Platform, text: string): Promise<string | undefined>;
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
  store: Store;
  outbox: Outbox;
  watcher: Watcher;
  audit: AuditLog;
  feed: Feed;
  clock: Clock;
  policy: () => Policy;
  /** Re-reads the policy on every replica; the caller announces it. */
  reloadPolicy: () => Promise<void>;
  people: People;
  connect: ConnectSettings;
  topics: TopicsPort;
  alarms: AlarmsPort;
  budgets: BudgetsPort;
  /** `SCICOMP_PUBLIC_URL/sns`, subscribed to every user's topic; absent in local use. */
  snsEndpoint?: string;
  /** How old an SNS message may be when it arrives (SNS_MAX_AGE_MS): a MessageId is remembered at least that long. */
  snsMaxAgeMs?: number;
  log: Logger;
  /** The chat channels people use, by platform: how to reach them, and how they name commands. */
  channels: Channels;
  /** Seals what holds NoEcho values (launch plans, confirmations, request payloads) before it is stored. */
  sealer: Sealer;
}

export const noFeed: Feed = { publish: async () => {} };
