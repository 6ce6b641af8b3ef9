// What alerting remembers: each resource's alert and its message, the notifications already applied, the provisioned
// products scicomp watches (and the instances they run), and the SNS topics scicomp owns.
import type { AlarmState } from '../notifications.js';
import type { Platform } from '../ports.js';

/** Whom a topic's or a watched product's alerts go to: the person, and where to reach them. */
export interface Owner {
  platform: Platform;
  userId: string;
  email: string;
}

/** What an alarm is about, kept when its alarms are created so an alert finds its product without an AWS call. */
export interface WatchedProduct {
  provisionedProductId: string;
  name: string;
  productName: string;
  owner: Owner;
  alarms: string[];
  /** The instance its alarms watch, so an alarm scicomp did not name finds the product by its InstanceId dimension. */
  instanceId?: string;
}

/** One resource's alert (a provisioned product and alarm kind): its message, and how often it fired in the window. */
export interface AlertState {
  /** Outbox key of the message every repeat and recovery updates. */
  key: string;
  /** ALARM notifications in this message; 0 when it began with no data. */
  count: number;
  firstAt: string;
  firstAtMs: number;
  open: boolean;
  /** The alarm's last word was INSUFFICIENT_DATA: its message says so until OK or ALARM. */
  nodata?: boolean;
  /** Bumped on every change, so the outbox can drop an update that arrives after a newer one. */
  seq: number;
}

/** What applying a notification did to its resource's alert: a new message, an edit of the current one, or nothing. */
export type AlertStep = 'posted' | 'coalesced' | 'nodata' | 'recovered' | 'snoozed' | 'ignored';

/** How long alert state lasts. */
export interface AlertWindows {
  /** Repeats within this long of a resource's first alarm update its one message. */
  coalesceMs: number;
  /** An open (or no-data) alert keeps its message this long without news. */
  openTtlMs: number;
  /** How long an applied notification's outcome is replayed for its MessageId. */
  appliedTtlMs: number;
  /** How long a new message counts as on its way to the outbox before it lands. */
  announceTtlMs: number;
}

/** One alarm notification, as the alert state needs it. */
export interface AlarmStateChange {
  /** The SNS MessageId: applying the same one again replays its first outcome. */
  messageId: string;
  /** The topic it came by, whose owner it goes to. */
  topicArn: string;
  /** The provisioned product the alarm is about, when known: its watch record and snooze apply. */
  provisionedProductId?: string;
  /** What the alert is about: one message per resource (a product and alarm kind, or an alarm name). */
  resource: string;
  state: AlarmState;
  /** The outbox key of the message this notification starts, if it starts one. */
  messageKey: string;
  /** When the alarm changed state: a new alert counts from then. */
  changedAt: string;
  now: number;
  /** Whether a snooze of the product mutes this alarm (idle pings only). */
  snoozable: boolean;
  windows: AlertWindows;
}

export interface AppliedAlarm {
  step: AlertStep;
  /** The resource's alert after the step (before it, for `snoozed` and `ignored`). */
  state?: AlertState;
  /** Routing, read in the same step: the topic's owner and the product's watch record. */
  owner?: Owner;
  watched?: WatchedProduct;
}

export interface AlertStateRepository {
  /**
   * Applies an alarm's new state to its resource's alert, atomically, and reads what routing needs in the same step. A
   * resource has one message while its alarm is open, shows no data, or within the coalescing window of its first:
   * ALARM, INSUFFICIENT_DATA and OK edit it. With neither a topic owner nor a watch record, nothing changes (`ignored`).
   * A MessageId applied before replays its first outcome. A step that starts a message marks it as on its way to the
   * outbox in the same atomic step, so a repeat's edit waits for it rather than posting a second message.
   */
  applyAlarm(change: AlarmStateChange): Promise<AppliedAlarm>;

  /** Records a topic as scicomp's, owned by `owner`: POST /sns then accepts it, and its alerts go to the owner. */
  recordTopic(topicArn: string, owner: Owner): Promise<void>;
  topicOwner(topicArn: string): Promise<Owner | undefined>;
  /** Whether scicomp created this topic (a subscription to it may be confirmed). */
  isKnownTopic(topicArn: string): Promise<boolean>;

  /** Records what a product's alarms watch, and indexes its instance; returns the record it replaced. */
  watch(product: WatchedProduct): Promise<WatchedProduct | undefined>;
  watched(provisionedProductId: string): Promise<WatchedProduct | undefined>;
  /** Forgets a product's watch record and its instance index entry; returns the record. */
  unwatch(provisionedProductId: string): Promise<WatchedProduct | undefined>;
  /** The watched product running this instance. */
  productOfInstance(instanceId: string): Promise<string | undefined>;
}
