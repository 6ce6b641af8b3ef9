// Where the bot can reach people and channels on a platform that needs a stored conversation (Teams): the references
// learned from the activities it receives, each tenant's connector URL, and the people it could not reach.

/** Enough of a conversation to post into it later without being asked: Bot Framework's conversation reference, as data. */
export interface ConversationRef {
  /** The platform's connector for this conversation, learned from a received activity; never assumed. */
  serviceUrl: string;
  /** Teams: `a:…` for a 1:1 chat, `19:…@thread.tacv2` for a channel (its root, without `;messageid=`). */
  conversationId: string;
  conversationType?: 'personal' | 'channel' | 'groupChat';
  tenantId?: string;
  /** The bot's account in the conversation (Teams: `28:<app id>`). */
  botId?: string;
  /** The person in a 1:1 chat: their platform account id (Teams `29:…`) and directory object id. */
  userId?: string;
  aadObjectId?: string;
  /** A channel's team: its id and its Microsoft 365 group id (for deep links). */
  teamId?: string;
  groupId?: string;
  /** When it was learned (epoch ms). */
  learnedAt: number;
}

/**
 * Whose conversation: a person's 1:1 chat with the bot, by handle (`teams:<aadObjectId>`), or a channel, by its id.
 * `seen` is where a person was last heard from (any conversation): their profile can be read through it.
 */
export type ConversationOf = { person: string } | { channel: string } | { seen: string };

/** What a reference is kept under, the same in every repository: `person:<id>`, `channel:<id>` or `seen:<id>`. */
export const conversationOfKey = (of: ConversationOf): string =>
  'person' in of ? `person:${of.person}` : 'channel' in of ? `channel:${of.channel}` : `seen:${of.seen}`;

/** Why a person could not be reached, kept for a while so every alert does not knock on the same closed door. */
export interface UnreachableMark {
  reason: string;
  at: number;
}

export interface ConversationsRepository {
  /** Stores (or replaces) a reference; storing a person's clears their unreachable mark. */
  save(of: ConversationOf, ref: ConversationRef): Promise<void>;
  get(of: ConversationOf): Promise<ConversationRef | undefined>;
  /**
   * Drops a reference, only while it is still the conversation `conversationId` (when given), so a newer one learned
   * meanwhile (the app reinstalled) stays. True when one was dropped.
   */
  drop(of: ConversationOf, conversationId?: string): Promise<boolean>;

  /** The connector URL of a tenant, from the latest activity received from it. */
  saveServiceUrl(tenantId: string, serviceUrl: string): Promise<void>;
  serviceUrl(tenantId: string): Promise<string | undefined>;

  /** Records that the platform refused to reach a person, for `ttlMs`. */
  markUnreachable(person: string, mark: UnreachableMark, ttlMs: number): Promise<void>;
  unreachable(person: string): Promise<UnreachableMark | undefined>;
}

/** A Teams person's handle: the key of their references. */
export const teamsHandle = (aadObjectId: string): string => `teams:${aadObjectId.toLowerCase()}`;

/** A reference unused this long is forgotten; every activity received from the conversation renews it. */
export const CONVERSATION_TTL_MS = 90 * 24 * 3600_000;
