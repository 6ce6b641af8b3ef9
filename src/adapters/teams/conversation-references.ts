// Learns where the bot can reach people and channels from each activity Teams sends it, and turns what it learned back into botbuilder references.
import type { Activity, ConversationReference } from 'botbuilder';
import {
  teamsHandle,
  type ConversationOf,
  type ConversationRef,
  type ConversationsRepository,
} from '../../core/repositories/conversations.js';

/** What `rememberConversation` stored. */
export interface Remembered {
  tenantId: string;
  /** The person's handle, when their 1:1 chat was stored. */
  person?: string;
  /** The channel id, when a channel's reference was stored. */
  channel?: string;
  /** The person's handle, when where they were seen was stored. */
  seen?: string;
  /** What an uninstall made the bot forget. */
  dropped?: ConversationOf;
}

interface TeamsChannelData {
  tenant?: { id?: string };
  team?: { id?: string; aadGroupId?: string };
  channel?: { id?: string };
  teamsTeamId?: string;
  teamsChannelId?: string;
}

/** A channel message's conversation id is `<channel id>;messageid=<thread root>`; the channel is the part before. */
export function channelOf(conversationId: string): string {
  return conversationId.split(';messageid=')[0]!;
}

function serviceUrlOf(activity: Partial<Activity>): string | undefined {
  if (typeof activity.serviceUrl !== 'string') return undefined;
  try {
    const u = new URL(activity.serviceUrl);
    return u.protocol === 'https:' || u.protocol === 'http:' ? activity.serviceUrl : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stores what the activity teaches: its tenant's connector URL; for a 1:1 chat, the person's reference; for a channel
 * (a message, an @mention, the app installed in a team), the channel's; and where the sender was seen, so their profile
 * can be read there. An uninstall forgets the conversation. Call it for every activity, inside the turn (after botbuilder
 * checked the token, whose `serviceurl` claim vouches for the URL learned); activities from a tenant other than
 * `tenantId`, when given, and from other channels teach nothing.
 */
export async function rememberConversation(
  activity: Partial<Activity>,
  conversations: ConversationsRepository,
  o: { tenantId?: string; now?: number } = {},
): Promise<Remembered | undefined> {
  if (activity.channelId !== 'msteams') return undefined;
  const serviceUrl = serviceUrlOf(activity);
  const data = (activity.channelData ?? {}) as TeamsChannelData;
  const tenantId = data.tenant?.id ?? activity.conversation?.tenantId;
  const conversationId = activity.conversation?.id;
  if (!serviceUrl || !tenantId || !conversationId) return undefined;
  if (o.tenantId && tenantId.toLowerCase() !== o.tenantId.toLowerCase()) return undefined;
  await conversations.saveServiceUrl(tenantId, serviceUrl);

  const learnedAt = o.now ?? Date.now();
  const from = activity.from;
  // The bot's own account (28:) is never a person.
  const aadObjectId = from?.aadObjectId && !from.id?.startsWith('28:') ? from.aadObjectId : undefined;
  const handle = aadObjectId ? teamsHandle(aadObjectId) : undefined;
  const base = { serviceUrl, tenantId, learnedAt, ...(activity.recipient?.id ? { botId: activity.recipient.id } : {}) };
  const type = activity.conversation?.conversationType;
  const teamId = data.team?.id ?? data.teamsTeamId;
  const channelId = data.channel?.id ?? data.teamsChannelId ?? (type === 'channel' ? channelOf(conversationId) : undefined);
  const removed = activity.type === 'installationUpdate' && typeof activity.action === 'string' && activity.action.startsWith('remove');
  const out: Remembered = { tenantId };

  if (type === 'personal' || (!type && !activity.conversation?.isGroup && !channelId)) {
    if (!handle) return out;
    if (removed) {
      await conversations.drop({ person: handle }, conversationId);
      return { ...out, dropped: { person: handle } };
    }
    const ref: ConversationRef = { ...base, conversationId, conversationType: 'personal', userId: from!.id, aadObjectId: aadObjectId!.toLowerCase() };
    await conversations.save({ person: handle }, ref);
    await conversations.save({ seen: handle }, ref);
    return { ...out, person: handle, seen: handle };
  }

  if (channelId) {
    if (removed) {
      await conversations.drop({ channel: channelId });
      return { ...out, dropped: { channel: channelId } };
    }
    await conversations.save(
      { channel: channelId },
      {
        ...base,
        conversationId: channelId,
        conversationType: 'channel',
        ...(teamId ? { teamId } : {}),
        ...(data.team?.aadGroupId ? { groupId: data.team.aadGroupId } : {}),
      },
    );
    out.channel = channelId;
  }
  if (handle && !removed) {
    // A team's members are read through the team's id; a group chat's through the chat's.
    await conversations.save({ seen: handle }, { ...base, conversationId: teamId ?? channelOf(conversationId), conversationType: type === 'groupChat' ? 'groupChat' : 'channel', userId: from!.id, aadObjectId: aadObjectId!.toLowerCase() });
    out.seen = handle;
  }
  return out;
}

/** The botbuilder reference for a stored conversation, addressed to `conversationId` (a channel thread) when given. */
export function toReference(ref: ConversationRef, app: { appId: string; botName?: string }, conversationId = ref.conversationId): Partial<ConversationReference> {
  const conversationType = ref.conversationType ?? 'personal';
  return {
    channelId: 'msteams',
    serviceUrl: ref.serviceUrl,
    conversation: {
      id: conversationId,
      conversationType,
      isGroup: conversationType !== 'personal',
      name: '',
      ...(ref.tenantId ? { tenantId: ref.tenantId } : {}),
    },
    bot: { id: ref.botId ?? `28:${app.appId}`, name: app.botName ?? '' },
    ...(ref.userId ? { user: { id: ref.userId, name: '', ...(ref.aadObjectId ? { aadObjectId: ref.aadObjectId } : {}) } } : {}),
  };
}
