// rememberConversation: what each kind of Teams activity teaches the bot about where to reach people and channels.
import { describe, expect, it } from 'vitest';
import { MemoryConversations } from '../../../src/adapters/memory/conversations.js';
import { channelOf, rememberConversation, toReference } from '../../../src/adapters/teams/conversation-references.js';
import { teamsHandle } from '../../../src/core/repositories/conversations.js';
import {
  adaptiveCardAction,
  botAccount,
  channel,
  channelConversation,
  channelMention,
  installationUpdate,
  membersAdded,
  person,
  personalMessage,
  type TeamsActivity,
  type TeamsContext,
} from '../../support/teams/activities.js';

const ctx: TeamsContext = { serviceUrl: 'https://smba.example.test/amer/', tenantId: 'tenant-1', botAppId: 'app-1', botName: 'scicomp' };
const NOW = Date.UTC(2026, 10, 23);
const alice = person('Alice Smith');
const handle = teamsHandle(alice.aadObjectId);

async function remember(activity: TeamsActivity, o: { tenantId?: string } = {}) {
  const conversations = new MemoryConversations({ now: () => NOW });
  const remembered = await rememberConversation(activity as never, conversations, { now: NOW, ...o });
  return { conversations, remembered };
}

describe('rememberConversation', () => {
  it('a personal message: the person’s 1:1 chat, where they were seen, and the tenant’s service URL', async () => {
    const activity = personalMessage(ctx, alice, 'launch');
    const { conversations, remembered } = await remember(activity, { tenantId: 'TENANT-1' });
    expect(remembered).toEqual({ tenantId: 'tenant-1', person: handle, seen: handle });
    const ref = {
      serviceUrl: ctx.serviceUrl,
      conversationId: activity.conversation.id,
      conversationType: 'personal',
      tenantId: 'tenant-1',
      botId: '28:app-1',
      userId: alice.id,
      aadObjectId: alice.aadObjectId,
      learnedAt: NOW,
    };
    expect(await conversations.get({ person: handle })).toEqual(ref);
    expect(await conversations.get({ seen: handle })).toEqual(ref);
    expect(await conversations.serviceUrl('tenant-1')).toBe(ctx.serviceUrl);
  });

  it('a channel @mention: the channel (by its id, thread stripped, with its team), and the sender seen in the team', async () => {
    const ch = channel('approvals');
    const activity = channelMention(ctx, alice, 'approvals', ch, { messageId: '1700000000001' });
    const { conversations, remembered } = await remember(activity);
    expect(remembered).toEqual({ tenantId: 'tenant-1', channel: ch.channelId, seen: handle });
    expect(await conversations.get({ channel: ch.channelId })).toMatchObject({
      conversationId: ch.channelId,
      conversationType: 'channel',
      teamId: ch.teamId,
      groupId: (activity.channelData.team as { aadGroupId: string }).aadGroupId,
    });
    expect(await conversations.get({ seen: handle })).toMatchObject({ conversationId: ch.teamId });
    // Not a 1:1 chat: nothing to post proactively to the person from it.
    expect(await conversations.get({ person: handle })).toBeUndefined();
  });

  it('install events: in a personal scope the person, in a team the channel; an uninstall forgets them', async () => {
    const personal = await remember(installationUpdate(ctx, alice, 'add'));
    expect(personal.remembered).toMatchObject({ person: handle });

    const ch = channel('general');
    const team = await remember(installationUpdate(ctx, alice, 'add', ch));
    expect(team.remembered).toMatchObject({ channel: ch.channelId });

    const add = installationUpdate(ctx, alice, 'add');
    const { conversations } = await remember(add);
    const removed = await rememberConversation({ ...add, action: 'remove' } as never, conversations);
    expect(removed).toMatchObject({ dropped: { person: handle } });
    expect(await conversations.get({ person: handle })).toBeUndefined();

    const added = await remember(membersAdded(ctx, alice, [botAccount(ctx)], { channel: ch, conversation: { ...channelConversation(ctx, ch), id: ch.teamId } }));
    expect(added.remembered).toMatchObject({ channel: ch.channelId });
  });

  it('a card click in a 1:1 chat teaches the chat too', async () => {
    const { remembered } = await remember(adaptiveCardAction(ctx, alice, { verb: 'approve', data: { value: 'r-1' } }));
    expect(remembered).toMatchObject({ person: handle });
  });

  it('teaches nothing from another tenant, another channel, the bot itself, or a bad service URL', async () => {
    expect((await remember(personalMessage(ctx, alice, 'x'), { tenantId: 'tenant-2' })).remembered).toBeUndefined();
    expect((await remember({ ...personalMessage(ctx, alice, 'x'), channelId: 'slack' })).remembered).toBeUndefined();
    expect((await remember({ ...personalMessage(ctx, alice, 'x'), serviceUrl: 'javascript:alert(1)' })).remembered).toBeUndefined();
    const fromBot = { ...personalMessage(ctx, alice, 'x'), from: { ...botAccount(ctx), aadObjectId: 'bot-object' } };
    const { conversations, remembered } = await remember(fromBot);
    expect(remembered).toEqual({ tenantId: 'tenant-1' });
    expect(await conversations.get({ person: teamsHandle('bot-object') })).toBeUndefined();
  });
});

describe('toReference', () => {
  it('makes a botbuilder reference, addressed to a thread when asked', () => {
    const ref = { serviceUrl: ctx.serviceUrl, conversationId: '19:c@thread.tacv2', conversationType: 'channel' as const, tenantId: 't', learnedAt: NOW };
    expect(toReference(ref, { appId: 'app-1' }, '19:c@thread.tacv2;messageid=42')).toEqual({
      channelId: 'msteams',
      serviceUrl: ctx.serviceUrl,
      conversation: { id: '19:c@thread.tacv2;messageid=42', conversationType: 'channel', isGroup: true, name: '', tenantId: 't' },
      bot: { id: '28:app-1', name: '' },
    });
    expect(channelOf('19:c@thread.tacv2;messageid=42')).toBe('19:c@thread.tacv2');
  });
});
