// The offline Bot Framework harness against a bare CloudAdapter bot: real JWT checks inbound, real MSAL tokens outbound.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { rootCertificates } from 'node:tls';
import express from 'express';
import {
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  TeamsActivityHandler,
  TeamsInfo,
  TurnContext,
  type AdaptiveCardInvokeResponse,
  type AdaptiveCardInvokeValue,
  type ConfigurationBotFrameworkAuthenticationOptions,
  type ConversationReference,
} from 'botbuilder';
import { AuthenticationError } from 'botframework-connector';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { StrictBotFrameworkAuthentication, teamsAuthErrorStatus } from '../../src/adapters/teams/authentication.js';
import {
  adaptiveCardAction,
  channel,
  channelMention,
  installationUpdate,
  member,
  membersAdded,
  person,
  personalMessage,
} from '../support/teams/activities.js';
import { FORGERIES, type Forgery } from '../support/teams/channel-issuer.js';
import { TeamsCloud } from '../support/teams/cloud.js';
import { CONNECTOR_SCOPE } from '../support/teams/connector.js';
import { CONNECTOR_AUDIENCE } from '../support/teams/settings.js';
import { DISCOVERY_HOST, serverTls } from '../support/teams/tls.js';

/** A bare Teams bot: "pong" to messages, the sender's email to "whoami", a card to an Action.Execute. */
class PingBot extends TeamsActivityHandler {
  turns = 0;
  references: ConversationReference[] = [];

  constructor() {
    super();
    this.onMessage(async (ctx, next) => {
      this.turns++;
      this.references.push(TurnContext.getConversationReference(ctx.activity) as ConversationReference);
      if (TurnContext.removeRecipientMention(ctx.activity)?.trim() === 'whoami') {
        const m = await TeamsInfo.getMember(ctx, ctx.activity.from.id);
        await ctx.sendActivity(`you are ${m.email} (${m.userPrincipalName}, ${m.aadObjectId})`);
      } else {
        await ctx.sendActivity('pong');
      }
      await next();
    });
    this.onInstallationUpdateAdd(async (ctx, next) => {
      this.turns++;
      await ctx.sendActivity('installed');
      await next();
    });
    this.onTeamsMembersAddedEvent(async (added, _team, ctx, next) => {
      this.turns++;
      await ctx.sendActivity(`welcome ${added.map((a) => a.email ?? a.id).join(', ')}`);
      await next();
    });
  }

  protected override async onAdaptiveCardInvoke(
    _ctx: TurnContext,
    value: AdaptiveCardInvokeValue,
  ): Promise<AdaptiveCardInvokeResponse> {
    this.turns++;
    return {
      statusCode: 200,
      type: 'application/vnd.microsoft.card.adaptive',
      value: {
        type: 'AdaptiveCard',
        version: '1.5',
        body: [{ type: 'TextBlock', text: `${value.action.verb}: ${JSON.stringify(value.action.data)}` }],
      },
    };
  }
}

interface Mounted {
  url: string;
  adapter: CloudAdapter;
  bot: PingBot;
}

let cloud: TeamsCloud;
let server: Server;
let base: string;
const web = express();
web.use(express.json());
let routes = 0;

/** Mounts a fresh bot behind its own CloudAdapter on the one loopback server. */
function mount(auth: ConfigurationBotFrameworkAuthentication): Mounted {
  const adapter = new CloudAdapter(auth);
  const bot = new PingBot();
  const path = `/bot${++routes}/api/messages`;
  web.post(path, (req, res) => adapter.process(req, res, (ctx) => bot.run(ctx)));
  return { url: `${base}${path}`, adapter, bot };
}

const strict = (c: TeamsCloud, o: Partial<ConfigurationBotFrameworkAuthenticationOptions> = {}): Mounted =>
  mount(new StrictBotFrameworkAuthentication(c.settings(o)));
const bare = (c: TeamsCloud): Mounted => mount(new ConfigurationBotFrameworkAuthentication(c.settings()));

let strictBot: Mounted;
let bareBot: Mounted;
const alice = person('Alice Smith');

beforeAll(async () => {
  // CloudAdapter and botbuilder's JWT checks console.error every rejected request.
  vi.spyOn(console, 'error').mockImplementation(() => {});
  cloud = await TeamsCloud.start();
  server = web.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  strictBot = strict(cloud);
  bareBot = bare(cloud);
  cloud.connector.addMember(member(alice, cloud.app.tenantId));
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await cloud?.close();
  vi.restoreAllMocks();
});

describe('inbound: genuine activities', () => {
  it('answers a personal message 200 and posts the reply with a bearer token from the local token endpoint', async () => {
    // A cloud (and app) of its own: its first reply is what asks for a token, which any earlier test would have cached.
    const cloud = await TeamsCloud.start();
    try {
      const strictBot = strict(cloud);
      const activity = personalMessage(cloud.context, alice, 'ping');
      const res = await cloud.send(strictBot.url, activity);
      expect(res.status).toBe(200);

      const [reply, ...more] = cloud.connector.accepted('replyToActivity');
      expect(more).toEqual([]);
      expect(reply).toMatchObject({ conversationId: activity.conversation.id, activityId: activity.id, appId: cloud.app.appId });
      expect(reply!.body).toMatchObject({ type: 'message', text: 'pong', replyToId: activity.id });
      expect(cloud.tokens.verify(reply!.authorization, CONNECTOR_SCOPE)).toMatchObject({ appId: cloud.app.appId });

      // MSAL asked Microsoft's instance discovery (answered locally), then the tenant's metadata, then for a token.
      expect(cloud.tokens.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
        'GET /common/discovery/instance 200',
        `GET /${cloud.app.tenantId}/v2.0/.well-known/openid-configuration 200`,
        `POST /${cloud.app.tenantId}/oauth2/v2.0/token 200`,
      ]);
      expect(cloud.tokens.tokenRequests()[0]!.form).toMatchObject({
        grant_type: 'client_credentials',
        client_id: cloud.app.appId,
        client_secret: '<matched>',
        scope: `${CONNECTOR_AUDIENCE}/.default`,
      });
    } finally {
      await cloud.close();
    }
  });

  it('answers a channel @mention in the thread it was posted in', async () => {
    const ch = channel();
    const activity = channelMention(cloud.context, alice, 'ping', ch);
    expect(activity.text).toBe(`<at>${cloud.botName}</at> ping`);
    const res = await cloud.send(strictBot.url, activity);
    expect(res.status).toBe(200);
    const reply = cloud.connector.accepted('replyToActivity').at(-1)!;
    expect(reply.conversationId).toBe(activity.conversation.id);
    expect(reply.conversationId).toMatch(/^19:.*@thread\.tacv2;messageid=\d+$/);
    expect(reply.body).toMatchObject({ text: 'pong' });
  });

  it('answers an Action.Execute invoke 200 with the adaptive card invoke response, posting nothing', async () => {
    const before = cloud.connector.calls.length;
    const activity = adaptiveCardAction(cloud.context, alice, { verb: 'approve', data: { request: 'r-42' } });
    const res = await cloud.send(strictBot.url, activity);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      statusCode: 200,
      type: 'application/vnd.microsoft.card.adaptive',
      value: {
        type: 'AdaptiveCard',
        version: '1.5',
        body: [{ type: 'TextBlock', text: 'approve: {"request":"r-42"}' }],
      },
    });
    expect(cloud.connector.calls.length).toBe(before);
  });

  it('resolves the sender through the connector (TeamsInfo.getMember: email, UPN, aadObjectId)', async () => {
    const res = await cloud.send(strictBot.url, personalMessage(cloud.context, alice, 'whoami'));
    expect(res.status).toBe(200);
    const lookup = cloud.connector.accepted('getConversationMember').at(-1)!;
    expect(lookup.memberId).toBe(alice.id);
    expect(cloud.connector.accepted('replyToActivity').at(-1)!.body).toMatchObject({
      text: `you are ${alice.email} (${alice.userPrincipalName}, ${alice.aadObjectId})`,
    });
  });

  it('delivers installationUpdate and conversationUpdate (membersAdded) to the bot', async () => {
    const bob = person('Bob Jones');
    cloud.connector.addMember(member(bob, cloud.app.tenantId));
    expect((await cloud.send(strictBot.url, installationUpdate(cloud.context, alice, 'add'))).status).toBe(200);
    const added = membersAdded(cloud.context, alice, [{ id: bob.id, name: bob.name }], { channel: channel() });
    expect((await cloud.send(strictBot.url, added)).status).toBe(200);
    const texts = cloud.connector.activities().map((a) => a.text);
    expect(texts).toContain('installed');
    expect(texts).toContain(`welcome ${bob.email}`);
  });
});

describe('inbound: forged tokens', () => {
  it.each(FORGERIES)('answers %s with 401 and runs no turn, reaching the connector not at all', async (forgery) => {
    const turns = strictBot.bot.turns;
    const calls = cloud.connector.calls.length;
    const res = await cloud.send(strictBot.url, personalMessage(cloud.context, alice, 'ping'), { forgery });
    expect(res.status).toBe(401);
    expect(strictBot.bot.turns).toBe(turns);
    expect(cloud.connector.calls.length).toBe(calls);
  });

  it('shows which forgeries botbuilder alone answers 500 (jsonwebtoken errors it rethrows as they are)', async () => {
    const statuses: Partial<Record<Forgery, number>> = {};
    const calls = cloud.connector.calls.length;
    for (const forgery of FORGERIES) {
      const res = await cloud.send(bareBot.url, personalMessage(cloud.context, alice, 'ping'), { forgery });
      statuses[forgery] = res.status;
    }
    expect(Object.entries(statuses).filter(([, s]) => s === 500).map(([f]) => f)).toEqual([
      'wrong-key-known-kid', // JsonWebTokenError: invalid signature
      'not-yet-valid', // NotBeforeError: jwt not active
      'bad-signature', // JsonWebTokenError: invalid signature
      'alg-none', // JsonWebTokenError: jwt signature is required
    ]);
    expect(Object.values(statuses).every((s) => s === 401 || s === 500)).toBe(true);
    expect(bareBot.bot.turns).toBe(0);
    expect(cloud.connector.calls.length).toBe(calls);
  });

  it('answers 500, not 401, when the channel signing keys cannot be fetched, and runs no turn', async () => {
    const broken = strict(cloud, { ToBotFromChannelOpenIdMetadataUrl: `${cloud.issuer.url}/v1/no-such-metadata` });
    const res = await cloud.send(broken.url, personalMessage(cloud.context, alice, 'ping'));
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('Bot Framework signing keys are unavailable');
    expect(broken.bot.turns).toBe(0);
  });

  it('teamsAuthErrorStatus: token faults are 401, unavailable keys 500', () => {
    const named = (name: string): Error => Object.assign(new Error(name), { name });
    expect(teamsAuthErrorStatus(new AuthenticationError('Unauthorized. Invalid AppId', 401))).toBe(401);
    expect(teamsAuthErrorStatus(named('JsonWebTokenError'))).toBe(401);
    expect(teamsAuthErrorStatus(named('NotBeforeError'))).toBe(401);
    expect(teamsAuthErrorStatus(named('TokenExpiredError'))).toBe(401);
    expect(teamsAuthErrorStatus(new AuthenticationError('Failed to load openID config: 404', 500))).toBe(500);
    expect(teamsAuthErrorStatus(named('FetchError'))).toBe(500);
    expect(teamsAuthErrorStatus('boom')).toBe(500);
  });
});

describe('outbound: proactive messages and the connector', () => {
  it('posts proactively to a stored conversation reference (continueConversationAsync)', async () => {
    // The reference the bot stored from a message of Alice's.
    expect((await cloud.send(strictBot.url, personalMessage(cloud.context, alice, 'ping'))).status).toBe(200);
    const reference = strictBot.bot.references.at(-1)!;
    await strictBot.adapter.continueConversationAsync(cloud.app.appId, reference, async (ctx) => {
      await ctx.sendActivity('your stack is ready');
    });
    const sent = cloud.connector.accepted().at(-1)!;
    expect(sent).toMatchObject({
      conversationId: reference.conversation.id,
      appId: cloud.app.appId,
      body: { text: 'your stack is ready' },
    });
    // botbuilder replies to its continuation event's fresh random id, not to the stored activity: Teams posts it as a
    // new message of the conversation (the conversation id alone, `;messageid=` included, picks a channel thread).
    expect(sent.operation).toBe('replyToActivity');
    expect(sent.activityId).not.toBe(reference.activityId);
  });

  it('opens a 1:1 chat (createConversationAsync) and posts in it', async () => {
    const { context } = cloud;
    let created = '';
    await strictBot.adapter.createConversationAsync(
      cloud.app.appId,
      'msteams',
      context.serviceUrl,
      CONNECTOR_AUDIENCE,
      {
        isGroup: false,
        bot: { id: `28:${cloud.app.appId}`, name: cloud.botName },
        members: [{ id: alice.id, name: alice.name }],
        tenantId: cloud.app.tenantId,
        channelData: { tenant: { id: cloud.app.tenantId } },
        activity: undefined as never, // required by the type, optional on the wire
      },
      async (ctx) => {
        created = ctx.activity.conversation.id;
        await ctx.sendActivity('hello in private');
      },
    );
    expect(cloud.connector.accepted('createConversation').at(-1)!.body).toMatchObject({ members: [{ id: alice.id }] });
    expect(created).toMatch(/^a:1/);
    // The turn's activity is the created conversation, so the send is a reply to it.
    expect(cloud.connector.activities(created).map((a) => a.text)).toEqual(['hello in private']);
  });

  it('is retried by botbuilder on 429 with Retry-After, up to three times', async () => {
    const activity = personalMessage(cloud.context, alice, 'ping');
    cloud.connector.failNext(activity.conversation.id, { status: 429, retryAfter: 0 }, 3);
    const res = await cloud.send(strictBot.url, activity);
    expect(res.status).toBe(200);
    const tries = cloud.connector.calls.filter((c) => c.conversationId === activity.conversation.id);
    expect(tries.map((c) => c.status)).toEqual([429, 429, 429, 201]);
  });

  it('gives up on the fourth 429, and on a 429 without Retry-After at once: the turn fails (500)', async () => {
    for (const [failure, count, expected] of [
      [{ status: 429, retryAfter: 0 }, 4, [429, 429, 429, 429]],
      [{ status: 429 }, 1, [429]],
    ] as const) {
      const activity = personalMessage(cloud.context, alice, 'ping');
      cloud.connector.failNext(activity.conversation.id, failure, count);
      const res = await cloud.send(strictBot.url, activity);
      expect(res.status).toBe(500);
      expect(cloud.connector.calls.filter((c) => c.conversationId === activity.conversation.id).map((c) => c.status)).toEqual(
        expected,
      );
    }
  });

  it('is retried by botbuilder once after about a second on a 5xx', async () => {
    const activity = personalMessage(cloud.context, alice, 'ping');
    cloud.connector.failNext(activity.conversation.id, { status: 502 });
    const res = await cloud.send(strictBot.url, activity);
    expect(res.status).toBe(200);
    const tries = cloud.connector.calls.filter((c) => c.conversationId === activity.conversation.id);
    expect(tries.map((c) => c.status)).toEqual([502, 201]);
    expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(500);
  });

  it('surfaces 403 BotNotInConversationRoster and 404 as errors with statusCode and code, not retried', async () => {
    expect((await cloud.send(strictBot.url, personalMessage(cloud.context, alice, 'ping'))).status).toBe(200);
    const reference = strictBot.bot.references.at(-1)!;
    const conversationId = reference.conversation.id;
    for (const [failure, code] of [
      [{ status: 403 }, 'BotNotInConversationRoster'],
      [{ status: 404 }, 'ConversationNotFound'],
    ] as const) {
      const before = cloud.connector.calls.length;
      cloud.connector.failNext(conversationId, failure);
      const err = await strictBot.adapter
        .continueConversationAsync(cloud.app.appId, reference, async (ctx) => {
          await ctx.sendActivity('anyone there?');
        })
        .then(
          () => undefined,
          (e: unknown) => e as { statusCode?: number; code?: string },
        );
      expect(err).toMatchObject({ statusCode: failure.status, code });
      expect(cloud.connector.calls.length - before).toBe(1);
    }
  });

  it('refuses connector calls without a bearer token it issued', async () => {
    const url = `${cloud.context.serviceUrl}v3/conversations/a:1x/activities`;
    const body = JSON.stringify({ type: 'message', text: 'sneaky' });
    const headers = { 'content-type': 'application/json' };
    expect((await fetch(url, { method: 'POST', headers, body })).status).toBe(401);
    const forged = { ...headers, authorization: 'Bearer eyFake.not-issued' };
    expect((await fetch(url, { method: 'POST', headers: forged, body })).status).toBe(401);
    expect(cloud.connector.activities().map((a) => a.text)).not.toContain('sneaky');
  });
});

describe('outbound: the bot app credentials', () => {
  it('gets no token with a wrong app password, so nothing reaches the connector', async () => {
    const other = await TeamsCloud.start();
    try {
      const bot = strict(other, { MicrosoftAppPassword: 'not-the-password' });
      const res = await other.send(bot.url, personalMessage(other.context, alice, 'ping'));
      expect(res.status).toBe(500);
      expect(other.tokens.tokenRequests().map((r) => [r.status, r.form?.client_secret])).toEqual([[401, '<wrong>']]);
      expect(other.connector.calls).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('gets no token when instance discovery fails: MSAL will not trust the login URL without it', async () => {
    const other = await TeamsCloud.start();
    try {
      other.tokens.discovery = false;
      const bot = strict(other);
      const res = await other.send(bot.url, personalMessage(other.context, alice, 'ping'));
      expect(res.status).toBe(500);
      expect(other.tokens.requests.map((r) => `${r.path} ${r.status}`)).toEqual(['/common/discovery/instance 0']);
      expect(other.connector.calls).toEqual([]);
    } finally {
      await other.close();
    }
  });
});

describe('TLS for the identity fakes', () => {
  it('is trusted through the per-run test CA, with verification on', async () => {
    expect(process.env.NODE_TLS_REJECT_UNAUTHORIZED).not.toBe('0');
    // The bundle keeps whatever NODE_EXTRA_CA_CERTS the run inherited, the test CA last.
    const bundle = readFileSync(process.env.NODE_EXTRA_CA_CERTS!, 'utf8').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)!;
    const ca = new X509Certificate(bundle.at(-1)!);
    const leaf = new X509Certificate(serverTls().cert);
    expect(leaf.checkIssued(ca) && leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkHost(DISCOVERY_HOST)).toBe(DISCOVERY_HOST);
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');

    // Public roots alone do not accept the fakes' certificate.
    const publicOnly = await new Promise<string>((resolve) => {
      https
        .get(`${cloud.tokens.url}/common/discovery/instance`, { ca: [...rootCertificates] }, () => resolve('accepted'))
        .on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    // SELF_SIGNED_CERT_IN_CHAIN: node's TLS server sends the chain up to the test CA, which nothing public signed.
    expect(publicOnly).toMatch(/^(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/);
  });

  it('routes only login.microsoftonline.com to the local token endpoint', async () => {
    const res = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
      https
        .get(`https://${DISCOVERY_HOST}/common/discovery/instance?api-version=1.1&authorization_endpoint=x`, (r) => {
          let body = '';
          r.on('data', (c: Buffer) => (body += c.toString()));
          r.on('end', () => resolve({ status: r.statusCode, body }));
        })
        .on('error', reject);
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ metadata: [] });
  });
});
