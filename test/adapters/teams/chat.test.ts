// TeamsChat against the offline Bot Framework: real MSAL tokens from the local token endpoint, a recording Bot Connector that refuses calls without them.
import { CloudAdapter } from 'botbuilder';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { RedisConversations } from '../../../src/adapters/redis/conversations.js';
import type { Store } from '../../../src/adapters/redis/store.js';
import { StrictBotFrameworkAuthentication } from '../../../src/adapters/teams/authentication.js';
import { TeamsChat, retryAfterMs, toUpstream, type TeamsMessageRef } from '../../../src/adapters/teams/chat.js';
import { rememberConversation } from '../../../src/adapters/teams/conversation-references.js';
import { NotFoundError, UnreachableError, UpstreamError } from '../../../src/core/errors.js';
import type { Form, Message } from '../../../src/core/message.js';
import { teamsHandle } from '../../../src/core/repositories/conversations.js';
import { channel, channelMention, member, person, personalMessage, type TeamsActivity, type TeamsPerson } from '../../support/teams/activities.js';
import { testRedis } from '../../support/backends.js';
import { TeamsCloud } from '../../support/teams/cloud.js';
import { CONNECTOR_SCOPE } from '../../support/teams/connector.js';

const redis = testRedis();
let cloud: TeamsCloud;
let adapter: CloudAdapter;
let store: Store;
let conversations: RedisConversations;
let chat: TeamsChat;
const turnErrors: unknown[] = [];

const ready: Message = { text: 'box is ready', title: 'Your instance is ready', tone: 'success', fields: [{ label: 'Instance', value: 'i-0abc' }] };

beforeAll(async () => {
  cloud = await TeamsCloud.start();
  adapter = new CloudAdapter(new StrictBotFrameworkAuthentication(cloud.settings()));
  // As the inbound side will: a failed turn is logged and swallowed, so nothing thrown inside a turn rejects by itself.
  adapter.onTurnError = async (_ctx, err) => {
    turnErrors.push(err);
  };
});

beforeEach(() => {
  store = redis.store();
  conversations = new RedisConversations(store);
  chat = new TeamsChat({ adapter, app: { appId: cloud.app.appId, tenantId: cloud.app.tenantId, botName: cloud.botName }, conversations, store });
});

afterAll(async () => {
  // Every call reached the connector with a token the local endpoint issued to this app: no call went unauthenticated.
  expect(cloud.connector.calls.length).toBeGreaterThan(0);
  for (const call of cloud.connector.calls) expect(cloud.tokens.verify(call.authorization, CONNECTOR_SCOPE)).toMatchObject({ appId: cloud.app.appId });
  await cloud.close();
});

/** A person who messaged the bot: their 1:1 chat is learned, as the inbound side learns it. */
async function messaged(p: TeamsPerson): Promise<TeamsActivity> {
  cloud.connector.addMember(member(p, cloud.app.tenantId));
  const activity = personalMessage(cloud.context, p, 'hello');
  await rememberConversation(activity as never, conversations, { tenantId: cloud.app.tenantId });
  return activity;
}

const callsOn = (conversationId: string) => cloud.connector.calls.filter((c) => c.conversationId === conversationId);
const userOf = (p: TeamsPerson) => ({ platform: 'teams' as const, kind: 'user' as const, userId: p.aadObjectId });

describe('posting', () => {
  it('posts a card to a person through their stored 1:1 reference, the summary as summary and not as text', async () => {
    const alice = person('Alice Smith');
    const activity = await messaged(alice);
    const posted = await chat.post(userOf(alice), ready);

    const [sent, ...more] = callsOn(activity.conversation.id);
    expect(more).toEqual([]);
    expect(sent!.status).toBe(201);
    expect(sent!.body).toMatchObject({ type: 'message', summary: 'box is ready', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive' }] });
    expect(sent!.body).not.toHaveProperty('text');
    expect(cloud.connector.accepted('createConversation').filter((c) => (c.body as any).members[0].id === alice.aadObjectId)).toEqual([]);

    const ref = JSON.parse(posted.ref) as TeamsMessageRef;
    expect(ref.conversation.conversationId).toBe(activity.conversation.id);
    expect(ref.activityId).toMatch(/^1:/);
    expect(ref.of).toEqual({ person: teamsHandle(alice.aadObjectId) });
    // A bot's 1:1 chat has no link a person could open.
    expect(posted.permalink).toBeUndefined();
    expect(await chat.permalink(posted.ref)).toBeUndefined();
  });

  it('opens the 1:1 chat of a person with no stored reference (tenant + Entra object id), stores it and reuses it', async () => {
    await messaged(person('Someone Else')); // teaches the tenant's service URL; nothing is hard-coded
    const bob = person('Bob Jones');
    expect(await conversations.get({ person: teamsHandle(bob.aadObjectId) })).toBeUndefined();

    await chat.post(userOf(bob), ready);
    const create = cloud.connector.accepted('createConversation').at(-1)!;
    expect(create.body).toMatchObject({
      isGroup: false,
      bot: { id: `28:${cloud.app.appId}` },
      members: [{ id: bob.aadObjectId }],
      tenantId: cloud.app.tenantId,
      channelData: { tenant: { id: cloud.app.tenantId } },
    });
    const stored = (await conversations.get({ person: teamsHandle(bob.aadObjectId) }))!;
    expect(stored).toMatchObject({ serviceUrl: cloud.connector.serviceUrl, conversationType: 'personal', tenantId: cloud.app.tenantId });
    expect(cloud.connector.activities(stored.conversationId).map((a) => a.summary)).toEqual(['box is ready']);

    const creates = cloud.connector.accepted('createConversation').length;
    await chat.post(userOf(bob), { text: 'again' });
    expect(cloud.connector.accepted('createConversation').length).toBe(creates);
    expect(cloud.connector.activities(stored.conversationId).map((a) => a.summary)).toEqual(['box is ready', 'again']);
  });

  it('says a person cannot be reached when no activity has taught the tenant’s service URL', async () => {
    const lonely = new TeamsChat({ adapter, app: { appId: cloud.app.appId, tenantId: 'another-tenant' }, conversations, store });
    const calls = cloud.connector.calls.length;
    const err = await lonely.post(userOf(person('Nobody Yet')), ready).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnreachableError);
    expect(err).toMatchObject({ retryable: false, reason: 'NoServiceUrl' });
    expect(cloud.connector.calls.length).toBe(calls);
  });

  it('posts into a channel, then into the post’s reply thread, with a deep link to each', async () => {
    const carol = person('Carol White');
    const ch = channel('approvals');
    await rememberConversation(channelMention(cloud.context, carol, 'approvals', ch) as never, conversations, { tenantId: cloud.app.tenantId });

    const root = await chat.post({ platform: 'teams', kind: 'channel', channel: ch.channelId }, { text: 'request r-1', actions: [{ id: 'approve', label: 'Approve', value: 'r-1' }] });
    const rootCall = cloud.connector.accepted().at(-1)!;
    expect(rootCall.conversationId).toBe(ch.channelId);
    const rootRef = JSON.parse(root.ref) as TeamsMessageRef;
    expect(rootRef.conversation.conversationId).toBe(`${ch.channelId};messageid=${rootRef.activityId}`);
    const link = new URL(root.permalink!);
    expect(`${link.origin}${link.pathname}`).toBe(`https://teams.microsoft.com/l/message/${ch.channelId}/${rootRef.activityId}`);
    expect(Object.fromEntries(link.searchParams)).toEqual({ tenantId: cloud.app.tenantId, groupId: rootRef.conversation.groupId, parentMessageId: rootRef.activityId });
    expect(rootRef.conversation.groupId).toMatch(/^[0-9a-f-]{36}$/);

    const reply = await chat.post({ platform: 'teams', kind: 'channel', channel: ch.channelId }, { text: 'approved by Carol' }, { thread: root.ref });
    const replyCall = cloud.connector.accepted().at(-1)!;
    expect(replyCall.conversationId).toBe(`${ch.channelId};messageid=${rootRef.activityId}`);
    expect(replyCall.body).toMatchObject({ summary: 'approved by Carol' });
    const replyRef = JSON.parse(reply.ref) as TeamsMessageRef;
    const replyLink = new URL(reply.permalink!);
    expect(replyLink.pathname).toBe(`/l/message/${ch.channelId}/${replyRef.activityId}`);
    expect(replyLink.searchParams.get('parentMessageId')).toBe(rootRef.activityId);

    // An address naming the thread lands there too.
    await chat.post({ platform: 'teams', kind: 'channel', channel: ch.channelId, thread: rootRef.activityId }, { text: 'discussion' });
    expect(cloud.connector.accepted().at(-1)!.conversationId).toBe(`${ch.channelId};messageid=${rootRef.activityId}`);
  });

  it('updates a posted message in place (updateActivity)', async () => {
    const dave = person('Dave Green');
    const activity = await messaged(dave);
    const posted = await chat.post(userOf(dave), { text: 'provisioning box', actions: [{ id: 'cancel', label: 'Cancel', value: 'x' }] });
    const { activityId } = JSON.parse(posted.ref) as TeamsMessageRef;
    await chat.update(posted.ref, ready);
    const update = cloud.connector.accepted('updateActivity').at(-1)!;
    expect(update).toMatchObject({ conversationId: activity.conversation.id, activityId });
    expect(update.body).toMatchObject({ type: 'message', id: activityId, summary: 'box is ready' });
  });

  it('answers a reply address in its conversation, or over the card clicked', async () => {
    const erin = person('Erin Black');
    const activity = await messaged(erin);
    const conversation = (await conversations.get({ person: teamsHandle(erin.aadObjectId) }))!;
    await chat.post({ platform: 'teams', kind: 'reply', ref: JSON.stringify({ conversation }) }, { text: 'here is your list' });
    expect(cloud.connector.activities(activity.conversation.id).at(-1)).toMatchObject({ summary: 'here is your list' });
    await chat.post({ platform: 'teams', kind: 'reply', ref: JSON.stringify({ conversation, activityId: '1:card', replace: true }) }, { text: 'terminated' });
    expect(cloud.connector.accepted('updateActivity').at(-1)).toMatchObject({ conversationId: activity.conversation.id, activityId: '1:card' });
  });

  it('posts a form as an Adaptive Card and updates it in place', async () => {
    const frank = person('Frank Blue');
    const activity = await messaged(frank);
    const conversation = (await conversations.get({ person: teamsHandle(frank.aadObjectId) }))!;
    const form: Form = { id: 'launch', title: 'Launch a product', submitLabel: 'Launch', state: 's1', inputs: [{ key: 'name', label: 'Name', kind: 'text' }] };
    const reply = { platform: 'teams' as const, kind: 'reply' as const, ref: JSON.stringify({ conversation }) };
    await chat.showForm({ userId: frank.aadObjectId, reply }, form);
    const card = cloud.connector.activities(activity.conversation.id).at(-1)!;
    expect(card).toMatchObject({ summary: 'Launch a product', attachments: [{ content: { type: 'AdaptiveCard', actions: [{ verb: 'form-submit:launch' }] } }] });
    const posted = cloud.connector.accepted().filter((c) => c.operation === 'replyToActivity' || c.operation === 'sendToConversation').at(-1)!;
    const activityId = (posted.response as { id: string }).id;
    const over: TeamsMessageRef = { conversation, activityId };
    await chat.showForm({ userId: frank.aadObjectId, reply, ref: JSON.stringify({ ...over, replace: true }) }, { ...form, title: 'Launch EC2 Linux' });
    expect(cloud.connector.accepted('updateActivity').at(-1)).toMatchObject({ activityId, body: { summary: 'Launch EC2 Linux' } });
    // A refusal of its submission is drawn into the form's card, not posted apart.
    await chat.post({ platform: 'teams', kind: 'reply', ref: JSON.stringify({ conversation, activityId, replace: true, form: over }) }, { text: 'That name is taken.', tone: 'error' });
    const redrawn = cloud.connector.accepted('updateActivity').at(-1)!;
    expect(redrawn).toMatchObject({ activityId, body: { summary: 'Launch EC2 Linux' } });
    expect(JSON.stringify(redrawn.body)).toContain('That name is taken.');
  });
});

describe('people', () => {
  it('reads a profile through the connector (email, else UPN) in the conversation the person was seen in, and caches it', async () => {
    const gina = person('Gina Gray');
    const activity = await messaged(gina);
    const profile = await chat.profile(gina.aadObjectId);
    expect(profile).toEqual({ email: gina.email, name: 'Gina Gray', username: gina.email.split('@')[0] });
    const lookups = cloud.connector.accepted('getConversationMember').filter((c) => c.memberId === gina.aadObjectId);
    expect(lookups.map((c) => c.conversationId)).toEqual([activity.conversation.id]);
    await chat.profile(gina.aadObjectId);
    expect(cloud.connector.accepted('getConversationMember').filter((c) => c.memberId === gina.aadObjectId)).toHaveLength(1);

    const upnOnly = person('Hal Upn');
    cloud.connector.addMember({ ...member(upnOnly, cloud.app.tenantId), email: undefined as never });
    await rememberConversation(personalMessage(cloud.context, upnOnly, 'hi') as never, conversations);
    expect((await chat.profile(upnOnly.aadObjectId)).email).toBe(upnOnly.userPrincipalName);
  });

  it('says so when a person was never seen, or Teams does not know them there', async () => {
    await expect(chat.profile(person('Never Seen').aadObjectId)).rejects.toBeInstanceOf(NotFoundError);
    const ghost = person('Ghost');
    await rememberConversation(personalMessage(cloud.context, ghost, 'hi') as never, conversations);
    await expect(chat.profile(ghost.aadObjectId)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lists a team’s members by Entra object id (paged team members), cached', async () => {
    const ivy = person('Ivy Red');
    await messaged(ivy);
    const ch = channel('approvals');
    await rememberConversation(channelMention(cloud.context, ivy, 'hi', ch) as never, conversations);
    const members = await chat.groupMembers(ch.teamId);
    expect(members).toContain(ivy.aadObjectId.toLowerCase());
    const paged = cloud.connector.accepted('getConversationPagedMembers').filter((c) => c.conversationId === ch.teamId);
    expect(paged).toHaveLength(1);
    await chat.groupMembers(ch.teamId);
    expect(cloud.connector.accepted('getConversationPagedMembers').filter((c) => c.conversationId === ch.teamId)).toHaveLength(1);
  });
});

describe('connector errors', () => {
  it('maps a 429 to a retryable UpstreamError with Retry-After, at once: no retry, no sleep inside the call', async () => {
    const jack = person('Jack Brown');
    const activity = await messaged(jack);
    cloud.connector.failNext(activity.conversation.id, { status: 429, retryAfter: 3 });
    const started = Date.now();
    const err = await chat.post(userOf(jack), ready).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toMatchObject({ retryable: true, retryAfterMs: 3000 });
    expect(callsOn(activity.conversation.id).map((c) => c.status)).toEqual([429]);
    // The reference stays: a throttled conversation is still the person's.
    expect(await conversations.get({ person: teamsHandle(jack.aadObjectId) })).toBeDefined();
  });

  it('maps a 5xx to a retryable UpstreamError, tried once (the outbox retries, not botbuilder)', async () => {
    const kim = person('Kim Gold');
    const activity = await messaged(kim);
    cloud.connector.failNext(activity.conversation.id, { status: 502 });
    const err = await chat.post(userOf(kim), ready).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).not.toBeInstanceOf(UnreachableError);
    expect(err).toMatchObject({ retryable: true, retryAfterMs: undefined });
    expect(callsOn(activity.conversation.id).map((c) => c.status)).toEqual([502]);
  });

  it('rejects when the connector fails inside the turn, even though the adapter’s onTurnError swallows turn errors', async () => {
    const lee = person('Lee Silver');
    const activity = await messaged(lee);
    const swallowed = turnErrors.length;
    // Failures botbuilder does not retry either way: a 404 on an update (the message is gone), a 429 without Retry-After.
    cloud.connector.failNext(activity.conversation.id, { status: 404, code: 'ActivityNotFound' });
    const conversation = (await conversations.get({ person: teamsHandle(lee.aadObjectId) }))!;
    await expect(chat.update(JSON.stringify({ conversation, activityId: '1:x' }), ready)).rejects.toMatchObject({ name: 'UpstreamError', retryable: false });
    cloud.connector.failNext(activity.conversation.id, { status: 429 });
    await expect(chat.post(userOf(lee), ready)).rejects.toMatchObject({ retryable: true, retryAfterMs: 1000 });
    expect(turnErrors.length).toBe(swallowed);
  });

  it.each([
    [403, 'BotNotInConversationRoster'],
    [403, 'ConversationBlockedByUser'],
    [404, 'ConversationNotFound'],
  ] as const)('a %s %s is permanent: the reference is dropped, the person marked unreachable, and not knocked on again', async (status, code) => {
    const mia = person('Mia Stone');
    const activity = await messaged(mia);
    const handle = teamsHandle(mia.aadObjectId);
    // The stored chat is refused, and so is opening it again: the app is gone for her.
    cloud.connector.failNext(activity.conversation.id, { status, code });
    cloud.connector.failNext(mia.aadObjectId, { status: 403, code });
    const err = await chat.post(userOf(mia), ready).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnreachableError);
    expect(err).toMatchObject({ retryable: false, target: { platform: 'teams', userId: mia.aadObjectId }, reason: code });
    expect(await conversations.get({ person: handle })).toBeUndefined();
    expect(await conversations.unreachable(handle)).toMatchObject({ reason: code });

    const calls = cloud.connector.calls.length;
    await expect(chat.post(userOf(mia), ready)).rejects.toBeInstanceOf(UnreachableError);
    expect(cloud.connector.calls.length).toBe(calls);

    // She installs the app again: the bot hears from her, and reaches her.
    await messaged(mia);
    expect(await conversations.unreachable(handle)).toBeUndefined();
    await chat.post(userOf(mia), { text: 'welcome back' });
    expect(cloud.connector.activities().at(-1)).toMatchObject({ summary: 'welcome back' });
  });

  it('opens a refused 1:1 chat afresh once, and delivers there when Teams allows it', async () => {
    const ned = person('Ned Stark');
    const activity = await messaged(ned);
    cloud.connector.failNext(activity.conversation.id, { status: 404 });
    await chat.post(userOf(ned), ready);
    const stored = (await conversations.get({ person: teamsHandle(ned.aadObjectId) }))!;
    expect(stored.conversationId).not.toBe(activity.conversation.id);
    expect(cloud.connector.activities(stored.conversationId).map((a) => a.summary)).toEqual(['box is ready']);
  });

  it('a channel that refuses the bot (403) drops its reference and is unreachable', async () => {
    const olive = person('Olive Tree');
    const ch = channel('alerts');
    await rememberConversation(channelMention(cloud.context, olive, 'hi', ch) as never, conversations);
    cloud.connector.failNext(ch.channelId, { status: 403 });
    const err = await chat.post({ platform: 'teams', kind: 'channel', channel: ch.channelId }, ready).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnreachableError);
    expect(err).toMatchObject({ target: { channel: ch.channelId }, reason: 'BotNotInConversationRoster' });
    expect(await conversations.get({ channel: ch.channelId })).toBeUndefined();
  });

  it('toUpstream and retryAfterMs read RestError-shaped errors', () => {
    const rest = (statusCode: number, headers: Record<string, string> = {}, code?: string) =>
      Object.assign(new Error('x'), { statusCode, code, response: { headers: { get: (n: string) => headers[n] } } });
    expect(retryAfterMs(rest(429, { 'retry-after': '2' }))).toBe(2000);
    expect(retryAfterMs(rest(429, { 'retry-after': new Date(10_000).toUTCString() }), 4_000)).toBe(6_000);
    expect(retryAfterMs(rest(429, { 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250);
    expect(retryAfterMs(rest(429))).toBeUndefined();
    expect(toUpstream(rest(429), 'x')).toMatchObject({ retryable: true, retryAfterMs: 1000 });
    expect(toUpstream(rest(412), 'x').retryable).toBe(true);
    expect(toUpstream(rest(400, {}, 'BadArgument'), 'x')).toMatchObject({ retryable: false, message: 'Teams answered 400 BadArgument to x' });
    expect(toUpstream(new Error('ECONNREFUSED'), 'x').retryable).toBe(true);
  });
});

describe('no token, no call', () => {
  it('fails retryably before any connector call when the token endpoint refuses, and the error rejects', async () => {
    const other = await TeamsCloud.start();
    try {
      vi.spyOn(console, 'error').mockImplementation(() => {});
      const broken = new CloudAdapter(new StrictBotFrameworkAuthentication(other.settings({ MicrosoftAppPassword: 'wrong' })));
      broken.onTurnError = async () => {};
      const otherStore = redis.store();
      const otherConversations = new RedisConversations(otherStore);
      const pat = person('Pat Doe');
      await rememberConversation(personalMessage(other.context, pat, 'hi') as never, otherConversations);
      const c = new TeamsChat({ adapter: broken, app: { appId: other.app.appId, tenantId: other.app.tenantId }, conversations: otherConversations, store: otherStore });
      await expect(c.post(userOf(pat), ready)).rejects.toMatchObject({ name: 'UpstreamError', retryable: true });
      expect(other.connector.calls).toEqual([]);
    } finally {
      vi.restoreAllMocks();
      await other.close();
    }
  });
});
