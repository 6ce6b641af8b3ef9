// ChatPort over botbuilder for Teams: cards posted and updated through stored conversation references, 1:1 chats opened where none is stored, profiles and team members read from the Bot Connector, its errors mapped to retry decisions.
import { TeamsInfo, type Activity, type CloudAdapter, type ConversationParameters, type ConversationReference, type TurnContext } from 'botbuilder';
import type { ConnectorClient } from 'botframework-connector';
import type { Logger } from 'pino';
import { NotFoundError, UnreachableError, UpstreamError, UserInputError } from '../../core/errors.js';
import type { Form, Message } from '../../core/message.js';
import type { Address, ChatPort, ChatProfile, Clock, FormPlace, PostedMessage } from '../../core/ports.js';
import { teamsHandle, type ConversationOf, type ConversationRef, type ConversationsRepository } from '../../core/repositories/conversations.js';
import type { ChatCallOutcome, Metrics } from '../../metrics.js';
import type { Store } from '../redis/store.js';
import type { AdaptiveCard } from './card-types.js';
import { channelOf, toReference } from './conversation-references.js';
import { directoryEmail } from './people.js';
import { cardAttachment, renderForm, renderMessage } from './render.js';

/** The bot's Entra app registration and its home tenant (`TEAMS_APP_ID`, `TEAMS_TENANT_ID`). */
export interface TeamsApp {
  appId: string;
  tenantId: string;
  botName?: string;
}

/**
 * A posted message: the conversation it is in (a channel post's is `<channel id>;messageid=<thread root>`), its activity
 * id, and whose stored conversation that is, so a refusal can drop the right reference.
 */
export interface TeamsMessageRef {
  conversation: ConversationRef;
  activityId: string;
  of?: ConversationOf;
}

/**
 * Where a reply to a command or click goes (an `Address` of kind `reply`, a form's trigger): into `conversation`, or,
 * with `replace`, over the card `activityId` that was clicked.
 */
export interface TeamsReplyRef {
  /** Absent with `user`: the reply goes to that person's 1:1 chat. */
  conversation?: ConversationRef;
  activityId?: string;
  replace?: boolean;
  /** The Entra object id of whoever acted: a reply to a command or click in a channel goes to their 1:1 chat, never the channel. */
  user?: string;
  /** The form card this interaction was submitted from: a refusal is drawn into it (the form with the error), not posted apart. */
  form?: TeamsMessageRef;
}

/** A form card as drawn, kept so a refusal of its submission can be drawn into it. */
const FORM_TTL_MS = 24 * 3600_000;
/** How long the last conversation heard from serves for looking people up. */
const CONVERSATION_VENUE_TTL_MS = 30 * 24 * 3600_000;

type ChatMetrics = Pick<Metrics, 'chatCall'>;

/** A person's profile is read again after this long: a changed email is picked up soon. */
const PROFILE_TTL_MS = 10 * 60_000;
/** Approver group membership is re-read every few minutes: a removed approver loses the right quickly. */
const GROUP_TTL_MS = 5 * 60_000;
/** A person Teams refused is not knocked on again for this long, unless they install the app meanwhile. */
const UNREACHABLE_TTL_MS = 24 * 3600_000;
/** A 429 without Retry-After waits this long. */
const DEFAULT_RETRY_AFTER_MS = 1000;
const MEMBERS_PAGE_SIZE = 500;

interface RestErrorLike {
  statusCode?: number;
  code?: string;
  response?: { headers?: { get?(name: string): string | undefined } & Record<string, unknown> };
}

function statusOf(err: unknown): number | undefined {
  const s = (err as RestErrorLike | undefined)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

function header(err: unknown, name: string): string | undefined {
  const headers = (err as RestErrorLike | undefined)?.response?.headers;
  if (!headers) return undefined;
  const v = typeof headers.get === 'function' ? headers.get(name) : headers[name];
  return typeof v === 'string' ? v : undefined;
}

/** Retry-After as milliseconds: seconds or an HTTP date (or the Azure `retry-after-ms` headers). */
export function retryAfterMs(err: unknown, now = Date.now()): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const ms = Number(header(err, name));
    if (header(err, name) !== undefined && Number.isFinite(ms) && ms >= 0) return ms;
  }
  const raw = header(err, 'retry-after');
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (raw.trim() !== '' && Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(raw);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/** The Bot Connector's reason for a refusal (`BotNotInConversationRoster`, `ConversationBlockedByUser`, `ConversationNotFound`). */
function reasonOf(err: unknown): string {
  const e = (err instanceof UpstreamError ? err.cause : err) as RestErrorLike | undefined;
  return e?.code || `HTTP ${statusOf(e) ?? '?'}`;
}

/** 403 and 404 from the connector: the bot may not (any longer) post there. */
function refusal(err: unknown): number | undefined {
  const status = statusOf(err instanceof UpstreamError ? err.cause : err);
  return status === 403 || status === 404 ? status : undefined;
}

/**
 * A Bot Connector failure as the core's UpstreamError: 429 retryable after its Retry-After; 5xx, 408, 412 and no answer
 * at all retryable; any other status (403, 404, 400) permanent. Teams' own advice is to retry 412, 502 and 504 too.
 */
export function toUpstream(err: unknown, what: string): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const status = statusOf(err);
  const code = (err as RestErrorLike | undefined)?.code;
  if (status === 429) return new UpstreamError(`Teams rate limited ${what}`, true, retryAfterMs(err) ?? DEFAULT_RETRY_AFTER_MS, { cause: err });
  if (status === undefined) return new UpstreamError(`Teams could not be reached for ${what}`, true, undefined, { cause: err });
  const retryable = status >= 500 || status === 408 || status === 412;
  return new UpstreamError(`Teams answered ${status}${code ? ` ${code}` : ''} to ${what}`, retryable, undefined, { cause: err });
}

function outcomeOf(err: unknown): ChatCallOutcome {
  return statusOf(err) === 429 ? 'rate_limited' : 'error';
}

/**
 * botbuilder's connector client retries by itself (Azure core's retry policy): a 429 or 503 after sleeping its
 * Retry-After, other 5xx after a backoff, up to three times, inside the call. The outbox owns retries and delays a
 * throttled message through BullMQ, so each turn's client loses that policy: a 429 comes back at once. False when the
 * client's shape is not the one this knows (a botbuilder upgrade): its own retries then stay.
 */
export function withoutRetries(connector: ConnectorClient | undefined): boolean {
  const pipeline = (connector as unknown as { client?: { pipeline?: { removePolicy?(o: { phase?: string }): unknown[] } } } | undefined)?.client?.pipeline;
  if (typeof pipeline?.removePolicy !== 'function') return false;
  pipeline.removePolicy({ phase: 'Retry' });
  return true;
}

export class TeamsChat implements ChatPort {
  readonly platform = 'teams' as const;
  private warnedRetries = false;

  constructor(
    private readonly opts: {
      /** The one CloudAdapter (its BotFrameworkAuthentication holds the app credentials and endpoints). */
      adapter: CloudAdapter;
      app: TeamsApp;
      conversations: ConversationsRepository;
      /** Caches profiles and team members, shared by every replica. */
      store: Store;
      metrics?: ChatMetrics;
      log?: Logger;
      clock?: Clock;
    },
  ) {}

  private now(): number {
    return (this.opts.clock ?? Date).now();
  }

  /**
   * Runs `work` in a proactive turn on `reference` (continueConversationAsync) and hands back its result or its error.
   * An error thrown inside the turn would go to the adapter's onTurnError and never reject, so it is caught in there and
   * rethrown here; errors before the turn (no token) reject as they are. Every error comes back as an UpstreamError.
   */
  private async turn<T>(reference: Partial<ConversationReference>, method: string, work: (ctx: TurnContext) => Promise<T>): Promise<T> {
    let outcome = undefined as { value: T } | { error: unknown } | undefined;
    try {
      await this.opts.adapter.continueConversationAsync(this.opts.app.appId, reference, async (ctx) => {
        try {
          if (!withoutRetries(ctx.turnState.get<ConnectorClient>(ctx.adapter.ConnectorClientKey)) && !this.warnedRetries) {
            this.warnedRetries = true;
            this.opts.log?.warn('could not turn off the Bot Connector client retries: a 429 may hold a worker for its Retry-After');
          }
          outcome = { value: await work(ctx) };
        } catch (error) {
          outcome = { error };
        }
      });
    } catch (error) {
      outcome = { error };
    }
    if (!outcome) {
      // Middleware ended the turn before it reached the work: nothing was sent.
      this.opts.metrics?.chatCall('teams', method, 'error');
      throw new UpstreamError(`Teams ran no turn for ${method}`, true);
    }
    if ('error' in outcome) {
      this.opts.metrics?.chatCall('teams', method, outcomeOf(outcome.error));
      throw toUpstream(outcome.error, method);
    }
    this.opts.metrics?.chatCall('teams', method, 'ok');
    return outcome.value;
  }

  private reference(conversation: ConversationRef, conversationId?: string): Partial<ConversationReference> {
    return toReference(conversation, this.opts.app, conversationId);
  }

  private async serviceUrl(...known: (ConversationRef | undefined)[]): Promise<string | undefined> {
    return known.find((r) => r?.serviceUrl)?.serviceUrl ?? (await this.opts.conversations.serviceUrl(this.opts.app.tenantId));
  }

  /** One activity into one conversation; the posted message's ref. */
  private async send(conversation: ConversationRef, activity: Partial<Activity>, of?: ConversationOf): Promise<PostedMessage> {
    const id = await this.turn(this.reference(conversation), 'sendActivity', async (ctx) => (await ctx.sendActivity(activity))?.id);
    if (!id) throw new UpstreamError('Teams accepted the message but gave no activity id', false);
    // A new channel post starts a thread: it, and its replies, live in `<channel>;messageid=<its id>`.
    const inChannel = conversation.conversationType === 'channel';
    const conversationId = inChannel && !conversation.conversationId.includes(';messageid=') ? `${conversation.conversationId};messageid=${id}` : conversation.conversationId;
    const ref: TeamsMessageRef = { conversation: { ...conversation, conversationId }, activityId: id, ...(of ? { of } : {}) };
    const permalink = this.link(ref);
    return { ref: JSON.stringify(ref), ...(permalink ? { permalink } : {}) };
  }

  async post(to: Address, msg: Message, opts: { thread?: string } = {}): Promise<PostedMessage> {
    const drawnIn = to.kind === 'reply' && msg.tone === 'error' ? await this.intoForm(JSON.parse(to.ref) as TeamsReplyRef, msg) : undefined;
    return drawnIn ?? this.postActivity(to, this.messageActivity(msg), opts);
  }

  /** A refusal of a form's submission, drawn into the form's card (the form again, the error on top), where the form is kept. */
  private async intoForm(reply: TeamsReplyRef, msg: Message): Promise<PostedMessage | undefined> {
    if (!reply.form) return undefined;
    const form = await this.formAt(reply.form.activityId);
    if (!form) return undefined;
    const error = [msg.text, ...(msg.context ?? [])].join(' ');
    await this.replace(reply.form, this.cardActivity(renderForm(form, { '': error }), form.title));
    return { ref: JSON.stringify(reply.form) };
  }

  private messageActivity(msg: Message): Partial<Activity> {
    const { summary, attachments } = renderMessage(msg);
    // The summary is what notifications and screen readers show; `text` would be drawn beside the card.
    return { type: 'message', summary, attachments };
  }

  private cardActivity(card: AdaptiveCard, summary: string): Partial<Activity> {
    return { type: 'message', summary, attachments: [cardAttachment(card)] };
  }

  private async postActivity(to: Address, activity: Partial<Activity>, opts: { thread?: string } = {}): Promise<PostedMessage> {
    if (to.kind === 'reply') {
      const reply = JSON.parse(to.ref) as TeamsReplyRef;
      if (!reply.conversation) {
        if (!reply.user) throw new UpstreamError('a Teams reply names no conversation and no person', false);
        return this.postToPerson(reply.user, activity);
      }
      if (reply.replace && reply.activityId) {
        await this.replace({ conversation: reply.conversation, activityId: reply.activityId }, activity);
        return { ref: JSON.stringify({ conversation: reply.conversation, activityId: reply.activityId } satisfies TeamsMessageRef) };
      }
      return this.send(reply.conversation, activity);
    }
    if (opts.thread) {
      // A reply in the parent's thread: a channel post's conversation is its thread; a 1:1 chat has no threads.
      const parent = JSON.parse(opts.thread) as TeamsMessageRef;
      return this.deliver(parent.conversation, activity, parent.of ?? (to.kind === 'user' ? { person: teamsHandle(to.userId) } : undefined), to);
    }
    if (to.kind === 'user') return this.postToPerson(to.userId, activity);
    const channel = await this.channelConversation(to.channel);
    const conversation = to.thread ? { ...channel, conversationId: `${to.channel};messageid=${to.thread}` } : channel;
    return this.deliver(conversation, activity, { channel: to.channel }, to);
  }

  /** `send`, where a refusal (403, 404) drops the stored reference and becomes an UnreachableError. */
  private async deliver(conversation: ConversationRef, activity: Partial<Activity>, of: ConversationOf | undefined, to: Address): Promise<PostedMessage> {
    try {
      return await this.send(conversation, activity, of);
    } catch (err) {
      // A 404 on a thread reply is the thread gone (its root deleted), not the channel.
      const threadGone = refusal(err) === 404 && 'channel' in (of ?? {}) && conversation.conversationId.includes(';messageid=');
      if (!refusal(err) || threadGone) throw err;
      throw await this.unreachable(err, of, conversation.conversationId, to);
    }
  }

  /** Drops the reference Teams refused (while it is still that conversation), records a person as unreachable. */
  private async unreachable(err: unknown, of: ConversationOf | undefined, conversationId: string | undefined, to: Address | { kind: 'message' }): Promise<UnreachableError> {
    const reason = reasonOf(err);
    const person = of && 'person' in of ? of.person : undefined;
    if (of && !('seen' in of) && conversationId) await this.opts.conversations.drop(of, channelOf(conversationId));
    if (person) await this.opts.conversations.markUnreachable(person, { reason, at: this.now() }, UNREACHABLE_TTL_MS);
    const target = to.kind === 'user' ? { platform: 'teams', userId: to.userId } : to.kind === 'channel' ? { platform: 'teams', channel: to.channel } : { platform: 'teams' };
    this.opts.log?.warn({ target, reason }, 'Teams refused to reach the conversation; its reference is dropped');
    const who = target.userId ? 'this person' : target.channel ? 'this channel' : 'this conversation';
    return new UnreachableError(`Teams could not reach ${who} (${reason}): the app may not be installed for them, or was removed or blocked.`, target, reason, {
      cause: err instanceof UpstreamError ? err.cause : err,
    });
  }

  /**
   * The person's 1:1 chat: the stored reference, else a new one (createConversation with the tenant and their Entra
   * object id). A stored chat Teams refuses is dropped and opened afresh once; a person Teams refuses to open a chat
   * with is marked unreachable for a while, and every post to them fails at once with an UnreachableError until then
   * or until they install the app.
   */
  private async postToPerson(userId: string, activity: Partial<Activity>): Promise<PostedMessage> {
    const to: Address = { platform: 'teams', kind: 'user', userId };
    const of = { person: teamsHandle(userId) };
    const stored = await this.opts.conversations.get(of);
    if (stored) {
      try {
        return await this.send(stored, activity, of);
      } catch (err) {
        if (!refusal(err)) throw err;
        await this.opts.conversations.drop(of, stored.conversationId);
        this.opts.log?.info({ reason: reasonOf(err) }, 'Teams refused a stored 1:1 chat; opening it again');
      }
    } else {
      const mark = await this.opts.conversations.unreachable(of.person);
      if (mark) {
        throw new UnreachableError(`Teams could not reach this person (${mark.reason}): the app may not be installed for them.`, { platform: 'teams', userId }, mark.reason);
      }
    }
    let opened: ConversationRef;
    try {
      opened = await this.openPersonal(userId);
    } catch (err) {
      if (!refusal(err)) throw err;
      throw await this.unreachable(err, of, undefined, to);
    }
    return this.deliver(opened, activity, of, to);
  }

  /** Creates (or finds: Teams answers the same one) the 1:1 chat with a person, and stores its reference. */
  private async openPersonal(userId: string): Promise<ConversationRef> {
    const handle = teamsHandle(userId);
    const { appId, tenantId, botName } = this.opts.app;
    const serviceUrl = await this.serviceUrl(await this.opts.conversations.get({ seen: handle }));
    if (!serviceUrl) {
      throw new UnreachableError(
        'Teams has not talked to scicomp yet, so the bot does not know where to reach this person: install the app first.',
        { platform: 'teams', userId },
        'NoServiceUrl',
      );
    }
    const bot = { id: `28:${appId}`, name: botName ?? '' };
    const params: ConversationParameters = {
      isGroup: false,
      bot,
      // Teams takes the Entra object id for a 1:1 chat, where the app is installed for the person.
      members: [{ id: userId, name: '', aadObjectId: userId }],
      tenantId,
      channelData: { tenant: { id: tenantId } },
    };
    // A turn on the tenant's connector, in no conversation yet, for its connector client (with botbuilder's retries
    // off): createConversationAsync would call createConversation with them on.
    const created = await this.turn(
      { channelId: 'msteams', serviceUrl, conversation: { id: '', isGroup: false, conversationType: 'personal', name: '', tenantId }, bot },
      'createConversation',
      async (ctx) => ctx.turnState.get<ConnectorClient>(ctx.adapter.ConnectorClientKey).conversations.createConversation(params),
    );
    if (!created.id) throw new UpstreamError('Teams created a 1:1 chat but gave no conversation id', true);
    const ref: ConversationRef = {
      serviceUrl,
      conversationId: created.id,
      conversationType: 'personal',
      tenantId,
      botId: bot.id,
      aadObjectId: userId.toLowerCase(),
      learnedAt: this.now(),
    };
    await this.opts.conversations.save({ person: handle }, ref);
    return ref;
  }

  /** A channel's stored reference, else one built from the tenant's connector URL. */
  private async channelConversation(channel: string): Promise<ConversationRef> {
    const stored = await this.opts.conversations.get({ channel });
    if (stored) return { ...stored, conversationId: channel, conversationType: 'channel' };
    const serviceUrl = await this.serviceUrl();
    if (!serviceUrl) {
      throw new UnreachableError(
        'Teams has not talked to scicomp yet, so the bot does not know where to reach this channel: add the app to its team first.',
        { platform: 'teams', channel },
        'NoServiceUrl',
      );
    }
    return { serviceUrl, conversationId: channel, conversationType: 'channel', tenantId: this.opts.app.tenantId, learnedAt: this.now() };
  }

  async update(ref: string, msg: Message): Promise<void> {
    await this.replace(JSON.parse(ref) as TeamsMessageRef, this.messageActivity(msg));
  }

  /** updateActivity on a posted message; a 403 drops the conversation's reference (the bot was removed). */
  private async replace(ref: TeamsMessageRef, activity: Partial<Activity>): Promise<void> {
    try {
      await this.turn(this.reference(ref.conversation), 'updateActivity', async (ctx) => {
        await ctx.updateActivity({ ...activity, id: ref.activityId });
      });
    } catch (err) {
      if (refusal(err) !== 403) throw err;
      throw await this.unreachable(err, ref.of, ref.conversation.conversationId, { kind: 'message' });
    }
  }

  /** A channel message's deep link; a 1:1 chat with a bot has none a person could open. */
  async permalink(ref: string): Promise<string | undefined> {
    return this.link(JSON.parse(ref) as TeamsMessageRef);
  }

  private link(ref: TeamsMessageRef): string | undefined {
    const [channel, root] = ref.conversation.conversationId.split(';messageid=');
    if (!channel?.startsWith('19:') || !root || !ref.activityId) return undefined;
    const query = new URLSearchParams({ tenantId: ref.conversation.tenantId ?? this.opts.app.tenantId });
    if (ref.conversation.groupId) query.set('groupId', ref.conversation.groupId);
    query.set('parentMessageId', root);
    // `:` and `@` are path characters: Teams writes channel ids into the link as they are.
    const segment = (s: string) => encodeURIComponent(s).replace(/%3A/gi, ':').replace(/%40/g, '@');
    return `https://teams.microsoft.com/l/message/${segment(channel)}/${segment(ref.activityId)}?${query.toString()}`;
  }

  /**
   * The form as a card: over the card clicked (`place.ref`, a TeamsReplyRef with `replace`), else posted where the answer
   * goes (the person's 1:1 chat). The form is kept by its card, so a refusal of its submission is drawn into it.
   */
  async showForm(place: FormPlace, form: Form): Promise<void> {
    const posted = await this.postActivity(place.ref ? { platform: 'teams', kind: 'reply', ref: place.ref } : place.reply, this.cardActivity(renderForm(form), form.title));
    await this.keepForm(JSON.parse(posted.ref) as TeamsMessageRef, form);
  }

  /** Keeps `form` for its card; a text input's value is not kept (it may be a NoEcho parameter). */
  async keepForm(at: Pick<TeamsMessageRef, 'activityId'>, form: Form): Promise<void> {
    const kept: Form = { ...form, inputs: form.inputs.map((i) => (i.kind === 'text' ? { ...i, initial: undefined } : i)) };
    await this.opts.store.setJson(this.opts.store.key('teams', 'form', at.activityId), kept, FORM_TTL_MS);
  }

  /** The form drawn in a card, while it is kept. */
  async formAt(activityId: string): Promise<Form | undefined> {
    return this.opts.store.getJson<Form>(this.opts.store.key('teams', 'form', activityId));
  }

  /**
   * The Entra object id of a person named in a command: `<@id>` (a mention the channel resolved), their email or UPN
   * (TeamsInfo.getMember takes either, in a conversation the bot shares with them), or an object id typed as is.
   */
  async findUser(text: string): Promise<string> {
    const t = text.trim();
    const hint = 'Mention them with @ (pick them from Teams\' suggestions), or give their email address.';
    const mentioned = /^<@([0-9a-f-]{36})>$/i.exec(t)?.[1] ?? /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i.exec(t)?.[1];
    if (mentioned) return mentioned.toLowerCase();
    if (!/^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(t)) throw new UserInputError(`"${t}" is not a person: mention them with @ or give their email address.`, hint);
    const venue = await this.anyConversation();
    if (!venue) throw new UserInputError(`I can't look up ${t} in Teams yet: no one has talked to scicomp in Teams.`, hint);
    let member;
    try {
      member = await this.turn(this.reference(venue), 'getMember', (ctx) => TeamsInfo.getMember(ctx, t));
    } catch (err) {
      if (refusal(err) === 404) throw new UserInputError(`No one in this Teams organisation has the email address ${t}.`, hint);
      throw err;
    }
    if (!member.aadObjectId) throw new UserInputError(`Teams gave no directory id for ${t}.`, hint);
    return member.aadObjectId.toLowerCase();
  }

  /** A conversation to ask the connector about people in: the approvals channel, else the tenant's last one seen. */
  private async anyConversation(): Promise<ConversationRef | undefined> {
    return this.opts.store.getJson<ConversationRef>(this.opts.store.key('teams', 'venue', this.opts.app.tenantId));
  }

  /** Notes a conversation the bot was just addressed in (any inbound turn), for looking people up by email. */
  async noteVenue(ref: ConversationRef): Promise<void> {
    await this.opts.store.setJson(this.opts.store.key('teams', 'venue', this.opts.app.tenantId), ref, CONVERSATION_VENUE_TTL_MS);
  }

  /**
   * A person's profile by their Entra object id (TeamsInfo.getMember: GET /v3/conversations/{id}/members/{aadObjectId}),
   * read in the conversation they were last seen in, else their 1:1 chat; cached. Their email is `email`, else their UPN.
   */
  async profile(userId: string): Promise<ChatProfile> {
    const handle = teamsHandle(userId);
    const key = this.opts.store.key('teams', 'member', handle);
    const cached = await this.opts.store.getJson<ChatProfile>(key);
    if (cached) return cached;
    // Someone named in a command (an @mention) may not have written to the bot yet: any conversation in the tenant will do.
    const venue = (await this.opts.conversations.get({ seen: handle })) ?? (await this.opts.conversations.get({ person: handle })) ?? (await this.anyConversation());
    if (!venue) throw new NotFoundError('This person has not used scicomp in Teams yet, so their Teams profile cannot be read.');
    let member;
    try {
      member = await this.turn(this.reference(venue), 'getMember', (ctx) => TeamsInfo.getMember(ctx, userId));
    } catch (err) {
      if (refusal(err) === 404) throw new NotFoundError('Teams does not know this person in the conversation they were last seen in.');
      throw err;
    }
    const email = directoryEmail(member);
    const profile: ChatProfile = {
      ...(email ? { email } : {}),
      name: member.name?.trim() || email || userId,
      username: email?.split('@')[0] ?? userId,
    };
    await this.opts.store.setJson(key, profile, PROFILE_TTL_MS);
    return profile;
  }

  /** The Entra object ids of a team's members (TeamsInfo.getPagedTeamMembers, every page), for an approver group named by team id; cached. */
  async groupMembers(teamId: string): Promise<string[]> {
    const key = this.opts.store.key('teams', 'group', teamId);
    const cached = await this.opts.store.getJson<string[]>(key);
    if (cached) return cached;
    const stored = await this.opts.conversations.get({ channel: teamId });
    const serviceUrl = await this.serviceUrl(stored);
    if (!serviceUrl) throw new UpstreamError(`the bot does not know where to reach Teams for team ${teamId}: add the app to the team`, false);
    const team: ConversationRef = { serviceUrl, conversationId: teamId, conversationType: 'channel', tenantId: this.opts.app.tenantId, learnedAt: this.now(), ...(stored?.botId ? { botId: stored.botId } : {}) };
    const members = await this.turn(this.reference(team), 'getPagedTeamMembers', async (ctx) => {
      const ids: string[] = [];
      let continuationToken: string | undefined;
      do {
        const page = await TeamsInfo.getPagedTeamMembers(ctx, teamId, MEMBERS_PAGE_SIZE, continuationToken);
        for (const m of page.members ?? []) if (m.aadObjectId) ids.push(m.aadObjectId.toLowerCase());
        continuationToken = page.continuationToken || undefined;
      } while (continuationToken);
      return [...new Set(ids)];
    });
    await this.opts.store.setJson(key, members, GROUP_TTL_MS);
    return members;
  }
}
