// Teams as a channel: messages, @mentions and Action.Execute clicks in through botbuilder's CloudAdapter on POST
// /api/messages (every token checked), out through TeamsChat.
import {
  CloudAdapter,
  TeamsActivityHandler,
  TeamsInfo,
  TurnContext,
  type Activity,
  type AdaptiveCardInvokeResponse,
  type AdaptiveCardInvokeValue,
  type ConfigurationBotFrameworkAuthenticationOptions,
} from 'botbuilder';
import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { bareCommand, type Pacing } from '../../core/channel.js';
import { requestIdFrom } from '../../core/ids.js';
import type { RunPayload } from '../../core/interaction.js';
import type { Form, Message } from '../../core/message.js';
import type { Address } from '../../core/ports.js';
import type { ConversationRef, ConversationsRepository } from '../../core/repositories/conversations.js';
import type { Metrics } from '../../metrics.js';
import { RedisConversations } from '../redis/conversations.js';
import type { Store } from '../redis/store.js';
import { ACK_WAIT_MS, byDeadline, LATE, queuedInTime, type ChannelAdapter, type Door } from '../channel.js';
import { StrictBotFrameworkAuthentication } from './authentication.js';
import { ADAPTIVE_CARD_CONTENT_TYPE } from './card-types.js';
import { TeamsChat, type TeamsMessageRef, type TeamsReplyRef } from './chat.js';
import { teamsPacing } from './pacing.js';
import { rememberConversation } from './conversation-references.js';
import { RememberedConversations } from './remembered.js';
import { readInvoke, renderCard, renderForm, type CardInvoke } from './render.js';

export const TEAMS_MESSAGES_PATH = '/api/messages';

/** botbuilder's endpoint settings, read verbatim from the environment, all seven or none. */
export type TeamsEndpoints = Pick<
  ConfigurationBotFrameworkAuthenticationOptions,
  'ToBotFromChannelOpenIdMetadataUrl' | 'ToBotFromChannelTokenIssuer' | 'ToBotFromEmulatorOpenIdMetadataUrl' | 'ToChannelFromBotLoginUrl' | 'ToChannelFromBotOAuthScope' | 'OAuthUrl' | 'CallerId'
>;

/** The bot's Entra app registration (TEAMS_APP_ID, TEAMS_APP_PASSWORD, TEAMS_TENANT_ID, TEAMS_APP_TYPE) and where Microsoft's services are. */
export interface TeamsSettings {
  appId: string;
  password: string;
  tenantId: string;
  appType: 'SingleTenant' | 'MultiTenant';
  endpoints?: TeamsEndpoints;
  /** TEAMS_CHANNEL_INTERVAL_MS. */
  intervalMs: number;
  botName?: string;
}

/** botbuilder's settings for these: never an empty app id, so no token is ever skipped. */
export function botFrameworkSettings(s: TeamsSettings): ConfigurationBotFrameworkAuthenticationOptions {
  if (!s.appId || !s.password || !s.tenantId) throw new Error('the Teams channel needs an app id, a password and a tenant id');
  return {
    MicrosoftAppId: s.appId,
    MicrosoftAppPassword: s.password,
    MicrosoftAppTenantId: s.tenantId,
    MicrosoftAppType: s.appType,
    ...(s.endpoints ?? {}),
  };
}

/** A click answered at once: the card Teams puts in place of the one clicked, or a line it shows and leaves the card. */
function cardResponse(card: object): AdaptiveCardInvokeResponse {
  return { statusCode: 200, type: ADAPTIVE_CARD_CONTENT_TYPE, value: card as never };
}

function noteResponse(text: string): AdaptiveCardInvokeResponse {
  return { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: text as never };
}

/** How often a replica notes the conversation it last heard from (for looking people up by email). */
const VENUE_NOTE_MS = 60_000;

const NOT_QUEUED: Message = { text: 'scicomp could not take that just now; nothing was done. Please try again.', tone: 'error' };

const WORKING: Message = { text: 'Working on it…', context: ['This card is updated when it is done.'] };

interface TeamsChannelData {
  tenant?: { id?: string };
}

/** The activity's tenant (channelData.tenant.id, else the conversation's). */
function tenantOf(activity: Partial<Activity>): string | undefined {
  return ((activity.channelData ?? {}) as TeamsChannelData).tenant?.id ?? activity.conversation?.tenantId;
}

/** Why an authenticated activity is not for this installation, or undefined. */
export function foreignActivity(activity: Partial<Activity>, tenantId: string): string | undefined {
  if (activity.channelId !== 'msteams') return `channel ${String(activity.channelId)} is not msteams`;
  const tenant = tenantOf(activity);
  if (!tenant || tenant.toLowerCase() !== tenantId.toLowerCase()) return `tenant ${tenant ?? 'unknown'} is not ${tenantId}`;
  return undefined;
}

/** The bot's handler of Teams activities: each message or click becomes an interaction in the inbox. */
export class ScicompTeamsBot extends TeamsActivityHandler {
  private venueNotedAt = 0;
  constructor(
    private readonly o: {
      chat: TeamsChat;
      conversations: ConversationsRepository;
      tenantId: string;
      door: Door;
    },
  ) {
    super();
    this.onMessage(async (ctx, next) => {
      await this.message(ctx);
      await next();
    });
  }

  private get log(): Logger {
    return this.o.door.log;
  }

  /** Every activity teaches where its conversation is (install events included); only then is it handled. */
  override async run(ctx: TurnContext): Promise<void> {
    const a = ctx.activity;
    await rememberConversation(a, this.o.conversations, { tenantId: this.o.tenantId });
    const here = this.conversationOf(a);
    if (here && Date.now() - this.venueNotedAt > VENUE_NOTE_MS) {
      this.venueNotedAt = Date.now();
      await this.o.chat.noteVenue({ ...here, conversationId: here.conversationId.split(';messageid=')[0]! });
    }
    await super.run(ctx);
  }

  /** The activity's own conversation, as TeamsChat posts into it (a channel's with its thread). */
  private conversationOf(a: Partial<Activity>): ConversationRef | undefined {
    if (!a.serviceUrl || !a.conversation?.id) return undefined;
    const type = a.conversation.conversationType;
    return {
      serviceUrl: a.serviceUrl,
      conversationId: a.conversation.id,
      conversationType: type === 'channel' || type === 'groupChat' ? type : 'personal',
      tenantId: tenantOf(a),
      ...(a.recipient?.id ? { botId: a.recipient.id } : {}),
      ...(a.from?.id ? { userId: a.from.id } : {}),
      ...(a.from?.aadObjectId ? { aadObjectId: a.from.aadObjectId.toLowerCase() } : {}),
      learnedAt: Date.now(),
    };
  }

  private personal(a: Partial<Activity>): boolean {
    return (a.conversation?.conversationType ?? 'personal') === 'personal';
  }

  /** Where answers go: into the 1:1 chat it came from, or, from a channel, the person's 1:1 chat, never the channel. */
  private reply(a: Partial<Activity>, userId: string, extra: Omit<TeamsReplyRef, 'conversation' | 'user'> = {}): Address {
    const here = this.conversationOf(a);
    const ref: TeamsReplyRef = this.personal(a) && here ? { conversation: here, ...extra } : { user: userId, ...(extra.form ? { form: extra.form } : {}) };
    return { platform: 'teams', kind: 'reply', ref: JSON.stringify(ref) };
  }

  private userOf(a: Partial<Activity>): string | undefined {
    return a.from?.aadObjectId?.toLowerCase();
  }

  /**
   * Queues the interaction and answers Teams only once Redis holds it (as Slack's ack does): a 200 for a message that
   * then dies with this process would be a message lost. Not held in time, the person is told nothing was done.
   */
  private async enqueue(p: RunPayload, deadline?: number): Promise<boolean> {
    return queuedInTime(this.o.door.enqueue, p, this.log, deadline);
  }

  /** What a click that was not taken answers, in the card (a chat) or as a note (a channel). */
  private notTaken(a: Partial<Activity>): AdaptiveCardInvokeResponse {
    return this.personal(a) ? cardResponse(renderCard(NOT_QUEUED)) : noteResponse(NOT_QUEUED.text);
  }

  /**
   * The words of a message to the bot: its own mention taken out, each other person's `<at>Name</at>` written as
   * `<@object id>` (TeamsChat.findUser reads it), so the core's people look-up gets the person, not a display name.
   */
  private async words(ctx: TurnContext): Promise<string> {
    const a = ctx.activity;
    let text = TurnContext.removeRecipientMention(a) ?? a.text ?? '';
    for (const e of a.entities ?? []) {
      if (e.type !== 'mention') continue;
      const mentioned = (e as { mentioned?: { id?: string; aadObjectId?: string } }).mentioned;
      const at = (e as { text?: string }).text;
      if (!mentioned?.id || !at || mentioned.id === a.recipient?.id) continue;
      let id = mentioned.aadObjectId ?? (/^[0-9a-f-]{36}$/i.test(mentioned.id) ? mentioned.id : undefined);
      if (!id) id = (await TeamsInfo.getMember(ctx, mentioned.id).catch(() => undefined))?.aadObjectId;
      if (id) text = text.split(at).join(`<@${id.toLowerCase()}>`);
    }
    // Teams sends the text of a message as HTML-ish: entities and non-breaking spaces as typed.
    return text.replace(/&nbsp;|\u00a0/g, ' ').replace(/&quot;/g, '"').replace(/&amp;/g, '&').trim();
  }

  private async message(ctx: TurnContext): Promise<void> {
    const a = ctx.activity;
    const userId = this.userOf(a);
    if (!userId || !a.id || !a.conversation?.id) return;
    const text = await this.words(ctx);
    const reply = this.reply(a, userId);
    const taken = await this.enqueue({ requestId: requestIdFrom('teams', a.conversation.id, a.id), platform: 'teams', userId, reply, interaction: { type: 'command', text: text || 'help' } });
    if (!taken) void this.o.chat.post(reply, NOT_QUEUED).catch(() => undefined);
  }

  protected override async onAdaptiveCardInvoke(ctx: TurnContext, value: AdaptiveCardInvokeValue): Promise<AdaptiveCardInvokeResponse> {
    const a = ctx.activity;
    const userId = this.userOf(a);
    const click = readInvoke(value);
    if (!userId || !click || !a.conversation?.id) return noteResponse('That button is no longer understood; run the command again.');
    // Everything Redis is asked before the answer shares the ack's one wait: Redis hung, the click is told so in time.
    const deadline = Date.now() + ACK_WAIT_MS;
    const here = this.conversationOf(a)!;
    const clicked: TeamsMessageRef | undefined = a.replyToId ? { conversation: here, activityId: a.replyToId } : undefined;
    const requestId = requestIdFrom('teams', a.conversation.id, a.id ?? '', a.replyToId ?? '');
    const formRef = clicked ? JSON.stringify({ ...clicked, replace: true } satisfies TeamsReplyRef) : undefined;
    if (click.kind === 'action') return this.action(ctx, userId, click, clicked, requestId, formRef, deadline);

    const form = clicked ? await byDeadline(this.o.chat.formAt(clicked.activityId), deadline) : undefined;
    if (form === LATE) return this.notTaken(a);
    if (click.kind === 'form-submit' && form) {
      // What the card itself should have refused: said in the card at once, with nothing queued.
      const missing = Object.fromEntries(form.inputs.filter((i) => !i.optional && !i.dispatch && !click.values[i.key]?.trim()).map((i) => [i.key, `${i.label} is required.`]));
      if (Object.keys(missing).length > 0) return cardResponse(renderForm(withValues(form, click.values), missing));
    }
    const interaction =
      click.kind === 'form-submit'
        ? { type: 'form-submit' as const, formId: click.formId, values: click.values, state: click.state }
        : { type: 'form-change' as const, formId: click.formId, values: click.values };
    const taken = await this.enqueue({
      requestId,
      platform: 'teams',
      userId,
      reply: this.reply(a, userId, clicked ? { activityId: clicked.activityId, replace: true, form: clicked } : {}),
      interaction,
      ...(formRef ? { formRef } : {}),
    }, deadline);
    if (!taken) return this.notTaken(a);
    if (!this.personal(a)) return noteResponse('Working on it… you will hear back in your chat with scicomp.');
    return cardResponse(renderCard(click.kind === 'form-change' ? { text: 'Loading the form…' } : WORKING));
  }

  private async action(ctx: TurnContext, userId: string, click: Extract<CardInvoke, { kind: 'action' }>, clicked: TeamsMessageRef | undefined, requestId: string, formRef: string | undefined, deadline: number): Promise<AdaptiveCardInvokeResponse> {
    const a = ctx.activity;
    // A click that opens a form (deny reason, transfer target) gets it at once, in place of the card, once the core says the clicker may.
    const checked = this.o.door.formForAction('teams', userId, click.actionId, click.value).catch((err: Error) => {
      this.log.warn({ err, action: click.actionId }, 'could not check a form click');
      return undefined;
    });
    const form = await byDeadline(checked, deadline);
    if (form === LATE) return this.notTaken(a);
    if (form && clicked) {
      if ((await byDeadline(this.o.chat.keepForm(clicked, form), deadline)) === LATE) return this.notTaken(a);
      return cardResponse(renderForm(form));
    }
    const taken = await this.enqueue({
      requestId,
      platform: 'teams',
      userId,
      reply: this.reply(a, userId, clicked ? { activityId: clicked.activityId, replace: true } : {}),
      interaction: { type: 'action', id: click.actionId, value: click.value },
      ...(formRef ? { formRef } : {}),
    }, deadline);
    if (!taken) return this.notTaken(a);
    // In a channel the card is everyone's (an approval request): it stays, and the decision updates it.
    if (!this.personal(a)) return noteResponse('Working on it… you will hear back in your chat with scicomp.');
    return cardResponse(renderCard(WORKING));
  }
}

/** The form as submitted: the values given stay in the card drawn again. */
function withValues(form: Form, values: Record<string, string | undefined>): Form {
  return { ...form, inputs: form.inputs.map((i) => (values[i.key] !== undefined ? { ...i, initial: values[i.key] } : i)) };
}

export interface TeamsChannelOptions {
  settings: TeamsSettings;
  store: Store;
  conversations?: ConversationsRepository;
  metrics?: Metrics;
  log: Logger;
}

export class TeamsChannel implements ChannelAdapter {
  readonly platform = 'teams' as const;
  readonly chat: TeamsChat;
  readonly pacing: Pacing;
  /** A chat with the bot: the words alone. */
  readonly commandText = bareCommand;
  readonly adapter: CloudAdapter;
  private readonly conversations: ConversationsRepository;
  private bot?: ScicompTeamsBot;

  constructor(private readonly o: TeamsChannelOptions) {
    const s = o.settings;
    this.adapter = new CloudAdapter(new StrictBotFrameworkAuthentication(botFrameworkSettings(s)));
    this.adapter.onTurnError = async (ctx, err) => {
      o.log.error({ err, activity: ctx.activity?.type }, 'a Teams turn failed');
      throw err;
    };
    this.conversations = new RememberedConversations(o.conversations ?? new RedisConversations(o.store));
    this.chat = new TeamsChat({
      adapter: this.adapter,
      app: { appId: s.appId, tenantId: s.tenantId, ...(s.botName ? { botName: s.botName } : {}) },
      conversations: this.conversations,
      store: o.store,
      metrics: o.metrics,
      log: o.log,
    });
    this.pacing = teamsPacing(s.intervalMs, { appId: s.appId, tenantId: s.tenantId });
  }

  async open(door: Door): Promise<void> {
    if (!door.web) return;
    const tenantId = this.o.settings.tenantId;
    const bot = new ScicompTeamsBot({ chat: this.chat, conversations: this.conversations, tenantId, door });
    this.bot = bot;
    door.web.post(TEAMS_MESSAGES_PATH, express.json({ limit: '1mb' }), (req: Request, res: Response) => {
      // Another tenant's activity (or another channel's), once its token is good: refused with 403, nothing learned or queued.
      let refused: string | undefined;
      const status = res.status.bind(res);
      res.status = (code: number) => status(refused ? 403 : code);
      void this.adapter
        .process(req, res, async (ctx) => {
          refused = foreignActivity(ctx.activity, tenantId);
          if (refused) {
            door.log.warn({ reason: refused }, 'refused a Teams activity for another installation');
            void door.audit
              .append({ actor: `teams:${ctx.activity.from?.aadObjectId ?? 'unknown'}`, action: 'teams.foreign-request', target: TEAMS_MESSAGES_PATH, outcome: `refused: ${refused}` })
              .catch(() => undefined);
            return;
          }
          await bot.run(ctx);
        })
        .catch((err: Error) => {
          door.log.error({ err }, 'a Teams request failed');
          if (!res.headersSent) res.status(500).end();
        });
    });
  }

  async stop(): Promise<void> {
    this.bot = undefined;
  }

  async close(): Promise<void> {}
}
