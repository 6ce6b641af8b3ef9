// POST /api/messages on the one server: genuine Teams activities (real JWTs) become interactions answered in the
// person's 1:1 chat; a forged token of every kind, or another tenant, is refused and queues nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually } from '../support/harness.js';
import { adaptiveCardAction, installationUpdate, personalMessage, type TeamsPerson } from '../support/teams/activities.js';
import { FORGERIES } from '../support/teams/channel-issuer.js';
import { TeamsCloud } from '../support/teams/cloud.js';
import { TeamsScicomp } from '../support/teams/scicomp.js';

let t: TeamsScicomp;
let alice: TeamsPerson;

beforeAll(async () => {
  t = await TeamsScicomp.start({ catalog: new SandboxCatalog({ provisionMs: 100 }) });
  alice = t.person('Alice Smith');
});

afterAll(async () => {
  await dropPrefix(t.h.app);
  await t.close();
});

const interactions = async () => (await t.h.app.audit.recent(1000)).filter((e) => e.actor.startsWith('teams:') && e.action !== 'teams.foreign-request');

describe('POST /api/messages', () => {
  it('answers a message in the 1:1 chat with a card, acting as the person behind the activity (by email)', async () => {
    const res = await t.send(personalMessage(t.cloud.context, alice, 'help', { conversationId: t.chatOf(alice) }));
    expect(res.status).toBe(200);
    const card = await t.inChat(alice, 'scicomp commands');
    expect(card.body).toMatchObject({ type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive' }] });
    // Commands are named as a person types them in Teams: the words alone.
    expect(card.text).toContain('launch \\"S3 Private Encrypted Bucket\\" data');
    expect(card.text).not.toContain('/scicomp');
    const entry = await eventually(async () => (await interactions()).find((e) => e.action === 'command.help'), 'the audit entry');
    expect(entry).toMatchObject({ actor: `teams:${alice.aadObjectId}`, actorEmail: alice.email, outcome: 'ok' });
    // The person was read through the connector in the conversation they wrote from.
    expect(t.cloud.connector.accepted('getConversationMember').some((c) => c.memberId === alice.aadObjectId && c.conversationId === t.chatOf(alice))).toBe(true);
  });

  it('answers a channel @mention in the person\'s 1:1 chat, never in the channel', async () => {
    const bob = t.person('Bob Jones');
    const before = t.cards(t.venue.channelId).length;
    await t.mention(bob, 'products');
    const opened = await eventually(() => t.cloud.connector.accepted('createConversation').find((c) => JSON.stringify(c.body).includes(bob.aadObjectId)), 'the 1:1 chat opened');
    const chatId = (opened.response as { id: string }).id;
    const card = await t.card(chatId, 'EC2 Linux', "Bob's answer in his chat");
    expect(card.conversationId).toBe(chatId);
    expect(t.cards(t.venue.channelId).length).toBe(before);
  });

  it('refuses every forged token with 401 and queues nothing', async () => {
    const mallory = t.person('Mallory Forge');
    for (const forgery of FORGERIES) {
      const res = await t.send(personalMessage(t.cloud.context, mallory, 'list', { conversationId: t.chatOf(mallory) }), { forgery });
      expect(res.status, forgery).toBe(401);
      const click = await t.send(adaptiveCardAction(t.cloud.context, mallory, { verb: 'confirm', data: { value: 'x' } }), { forgery });
      expect(click.status, `${forgery} (invoke)`).toBe(401);
    }
    // A genuine message after them is the only one the workers see.
    await t.say(mallory, 'list');
    await t.inChat(mallory, /nothing|no products|You have/i, "Mallory's genuine list");
    const hers = (await interactions()).filter((e) => e.actor === `teams:${mallory.aadObjectId}`);
    expect(hers.map((e) => e.action)).toEqual(['command.list']);
    // Nothing was learned from the forged requests either: no reference before the genuine one.
    expect(t.cloud.connector.calls.filter((c) => c.conversationId === t.chatOf(mallory) && c.operation !== 'getConversationMember' && c.operation !== 'replyToActivity' && c.operation !== 'sendToConversation')).toEqual([]);
  });

  it("refuses another tenant's activity, with a genuine token, and queues nothing", async () => {
    const other = await TeamsCloud.start({ appId: t.cloud.app.appId });
    try {
      const eve = t.person('Eve Other');
      // Signed by the channel for this very bot, but from another organisation.
      const activity = personalMessage({ ...t.cloud.context, tenantId: other.app.tenantId }, eve, 'list', { conversationId: t.chatOf(eve) });
      const res = await t.send(activity);
      expect(res.status).toBe(403);
      const click = await t.send(adaptiveCardAction({ ...t.cloud.context, tenantId: other.app.tenantId }, eve, { verb: 'confirm', data: { value: 'x' } }));
      expect(click.status).toBe(403);
      const install = await t.send(installationUpdate({ ...t.cloud.context, tenantId: other.app.tenantId }, eve, 'add'));
      expect(install.status).toBe(403);
      await eventually(async () => (await t.h.app.audit.recent(100)).filter((e) => e.action === 'teams.foreign-request').length >= 3, 'the refusals audited');
      expect((await interactions()).filter((e) => e.actor === `teams:${eve.aadObjectId}`)).toEqual([]);
      expect(t.cloud.connector.calls.filter((c) => c.conversationId === t.chatOf(eve))).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('a 429 from the Bot Connector delays the answer by its Retry-After through the queue, then delivers it once', async () => {
    const frank = t.person('Frank Paced');
    await t.say(frank, 'help');
    await t.inChat(frank, 'scicomp commands');
    t.cloud.connector.failNext(t.chatOf(frank), { status: 429, retryAfter: 1 });
    await t.say(frank, 'products');
    const answer = await t.inChat(frank, 'EC2 Linux', "Frank's products after the 429");
    const calls = t.cloud.connector.calls.filter((c) => c.conversationId === t.chatOf(frank) && (c.operation === 'replyToActivity' || c.operation === 'sendToConversation'));
    const refused = calls.find((c) => c.status === 429)!;
    const sent = calls.filter((c) => c.status < 300 && JSON.stringify(c.body).includes('EC2 Linux'));
    expect(sent).toHaveLength(1);
    // Not retried at once by botbuilder's client, but when Teams said.
    expect(sent[0]!.at - refused.at).toBeGreaterThanOrEqual(950);
    expect(answer.updated).toBe(false);
  });

  it('learns where a person is from the install event, before they write', async () => {
    const carol = t.person('Carol Install');
    const res = await t.send({ ...installationUpdate(t.cloud.context, carol, 'add'), conversation: { id: t.chatOf(carol), conversationType: 'personal', tenantId: t.cloud.app.tenantId, isGroup: false, name: '' } });
    expect(res.status).toBe(200);
    const teams = t.h.app.channels.require('teams').chat;
    await teams.post({ platform: 'teams', kind: 'user', userId: carol.aadObjectId }, { text: 'hello Carol' });
    await t.inChat(carol, 'hello Carol');
    expect(t.cloud.connector.accepted('createConversation').filter((c) => JSON.stringify(c.body).includes(carol.aadObjectId))).toEqual([]);
  });
});
