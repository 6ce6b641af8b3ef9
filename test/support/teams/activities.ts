// Builders for the activities Teams sends a bot: personal and channel messages, Action.Execute invokes, install events.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Activity, ChannelAccount, ConversationAccount } from 'botbuilder';
import type { TeamsMember } from './connector.js';

/** What every activity from one Teams tenant to one bot shares. */
export interface TeamsContext {
  serviceUrl: string;
  tenantId: string;
  botAppId: string;
  botName: string;
}

/** A Teams user: the 29: id Teams uses in activities, and the Entra object id and email behind it. */
export interface TeamsPerson {
  id: string;
  aadObjectId: string;
  name: string;
  email: string;
  userPrincipalName: string;
}

/** An inbound activity as Teams posts it (the fields botbuilder reads, all of them set). */
export type TeamsActivity = Partial<Activity> &
  Pick<Activity, 'type' | 'id' | 'serviceUrl' | 'channelId' | 'from' | 'conversation' | 'recipient'> & {
    channelData: Record<string, unknown>;
  };

export interface TeamsChannel {
  teamId: string;
  teamName?: string;
  /** The channel's 19:…@thread.tacv2 id (the General channel's id equals the team id). */
  channelId: string;
  channelName?: string;
}

export function person(name: string, domain = 'synapse.org'): TeamsPerson {
  const email = `${name.toLowerCase().replace(/[^a-z0-9.]+/g, '.')}@${domain}`;
  return {
    id: `29:1${randomBytes(24).toString('base64url')}`,
    aadObjectId: randomUUID(),
    name,
    email,
    userPrincipalName: email,
  };
}

/** The member record the Bot Connector answers for `p` (TeamsInfo.getMember). */
export function member(p: TeamsPerson, tenantId: string): TeamsMember {
  const [givenName, ...rest] = p.name.split(' ');
  return {
    id: p.id,
    name: p.name,
    aadObjectId: p.aadObjectId,
    email: p.email,
    userPrincipalName: p.userPrincipalName,
    givenName: givenName ?? p.name,
    surname: rest.join(' '),
    tenantId,
    userRole: 'user',
  };
}

export function channel(name = 'approvals'): TeamsChannel {
  const thread = (): string => `19:${randomBytes(16).toString('hex')}@thread.tacv2`;
  return { teamId: thread(), teamName: 'Research IT', channelId: thread(), channelName: name };
}

/** The bot as the recipient of activities (Teams prefixes the app id with 28:). */
export function botAccount(ctx: TeamsContext): ChannelAccount {
  return { id: `28:${ctx.botAppId}`, name: ctx.botName };
}

const fromAccount = (p: TeamsPerson): ChannelAccount => ({ id: p.id, name: p.name, aadObjectId: p.aadObjectId });

/** The 1:1 conversation between `p` and the bot. */
export function personalConversation(ctx: TeamsContext, conversationId?: string): ConversationAccount {
  return {
    id: conversationId ?? `a:1${randomBytes(24).toString('base64url')}`,
    conversationType: 'personal',
    tenantId: ctx.tenantId,
    isGroup: false,
    name: '',
  };
}

/** A channel thread; `messageId` is the root post of the thread (a new post when omitted). */
export function channelConversation(ctx: TeamsContext, ch: TeamsChannel, messageId?: string): ConversationAccount {
  return {
    id: `${ch.channelId};messageid=${messageId ?? Date.now().toString()}`,
    conversationType: 'channel',
    tenantId: ctx.tenantId,
    isGroup: true,
    name: '',
  };
}

function base(ctx: TeamsContext, from: TeamsPerson, conversation: ConversationAccount, extra: Record<string, unknown> = {}) {
  const now = new Date();
  return {
    id: `1${now.getTime()}${randomBytes(2).toString('hex')}`,
    timestamp: now,
    localTimestamp: now,
    localTimezone: 'America/Los_Angeles',
    serviceUrl: ctx.serviceUrl,
    channelId: 'msteams',
    from: fromAccount(from),
    conversation,
    recipient: botAccount(ctx),
    locale: 'en-US',
    channelData: { tenant: { id: ctx.tenantId }, ...extra },
  };
}

function channelData(ch: TeamsChannel): Record<string, unknown> {
  return {
    teamsTeamId: ch.teamId,
    teamsChannelId: ch.channelId,
    team: { id: ch.teamId, name: ch.teamName, aadGroupId: randomUUID() },
    channel: { id: ch.channelId, name: ch.channelName },
  };
}

/** A message to the bot in its 1:1 chat. */
export function personalMessage(
  ctx: TeamsContext,
  from: TeamsPerson,
  text: string,
  o: { conversationId?: string } = {},
): TeamsActivity {
  return { ...base(ctx, from, personalConversation(ctx, o.conversationId)), type: 'message', text, textFormat: 'plain' };
}

/** A channel post that @mentions the bot: `<at>Bot</at> text`, with the mention entity Teams adds. */
export function channelMention(
  ctx: TeamsContext,
  from: TeamsPerson,
  text: string,
  ch: TeamsChannel,
  o: { messageId?: string } = {},
): TeamsActivity {
  const at = `<at>${ctx.botName}</at>`;
  return {
    ...base(ctx, from, channelConversation(ctx, ch, o.messageId), channelData(ch)),
    type: 'message',
    text: `${at} ${text}`,
    textFormat: 'plain',
    entities: [{ type: 'mention', text: at, mentioned: botAccount(ctx) }],
  };
}

/** A click on an Action.Execute button of an Adaptive Card: an `adaptiveCard/action` invoke. */
export function adaptiveCardAction(
  ctx: TeamsContext,
  from: TeamsPerson,
  action: { verb: string; data?: Record<string, unknown>; id?: string },
  o: { conversation?: ConversationAccount; replyToId?: string; channel?: TeamsChannel } = {},
): TeamsActivity {
  const conversation = o.conversation ?? personalConversation(ctx);
  return {
    ...base(ctx, from, conversation, o.channel ? channelData(o.channel) : {}),
    type: 'invoke',
    name: 'adaptiveCard/action',
    ...(o.replyToId ? { replyToId: o.replyToId } : {}),
    value: {
      action: { type: 'Action.Execute', id: action.id ?? randomUUID(), verb: action.verb, data: action.data ?? {} },
      trigger: 'manual',
    },
  };
}

/** The bot was installed (`add`) in or removed from a personal chat, or a team when `ch` is given. */
export function installationUpdate(
  ctx: TeamsContext,
  from: TeamsPerson,
  action: 'add' | 'remove',
  ch?: TeamsChannel,
): TeamsActivity {
  const conversation = ch ? { ...channelConversation(ctx, ch), id: ch.teamId } : personalConversation(ctx);
  return {
    ...base(ctx, from, conversation, { ...(ch ? channelData(ch) : {}), source: { name: 'message' } }),
    type: 'installationUpdate',
    action,
  };
}

/** Members joined a conversation (the bot itself when `added` holds the bot account, as on install). */
export function membersAdded(
  ctx: TeamsContext,
  from: TeamsPerson,
  added: ChannelAccount[],
  o: { conversation?: ConversationAccount; channel?: TeamsChannel } = {},
): TeamsActivity {
  const conversation = o.conversation ?? personalConversation(ctx);
  return {
    ...base(ctx, from, conversation, { ...(o.channel ? channelData(o.channel) : {}), eventType: 'teamMemberAdded' }),
    type: 'conversationUpdate',
    membersAdded: added,
  };
}
