// A whole scicomp serving Slack and Teams at once, over HTTP, against the offline Bot Framework (TeamsCloud): Teams
// activities carry real JWTs checked by botbuilder, the bot's calls get real MSAL tokens and land in the recording connector.
import { vi } from 'vitest';
import { parsePolicy, type Policy } from '../../../src/core/policy.js';
import type { CatalogPort, Clock } from '../../../src/core/ports.js';
import { eventually, Harness, type HarnessOptions } from '../harness.js';
import { policyText } from '../policy.js';
import { adaptiveCardAction, channel, channelMention, member, person, personalMessage, type TeamsActivity, type TeamsChannel, type TeamsPerson } from './activities.js';
import type { Forgery } from './channel-issuer.js';
import { TeamsCloud } from './cloud.js';
import { teamsEnv } from './env.js';

export { teamsEnv };

/** The test policy with the Teams approvals channel beside Slack's. */
export function teamsPolicy(venue: TeamsChannel, o: { expiryHours?: number } = {}): Policy {
  const text = policyText(o.expiryHours ?? 72).replace(
    / {2}# teams:.*\n {2}# {3}team: .*\n {2}# {3}channel: .*\n/,
    `  teams:\n    team: "${venue.teamId}"\n    channel: "${venue.channelId}"\n`,
  );
  if (!text.includes(venue.channelId)) throw new Error('the test policy has no Teams venue');
  return parsePolicy(text, 'test-catalog.yaml');
}

export interface TeamsScicompOptions {
  catalog: CatalogPort;
  env?: Record<string, string>;
  clock?: Clock;
  extra?: HarnessOptions['extra'];
  policy?: (venue: TeamsChannel) => Policy;
}

export class TeamsScicomp {
  private constructor(
    readonly h: Harness,
    readonly cloud: TeamsCloud,
    readonly venue: TeamsChannel,
  ) {}

  static async start(o: TeamsScicompOptions): Promise<TeamsScicomp> {
    // botbuilder console.errors every request it refuses.
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const cloud = await TeamsCloud.start();
    const venue = channel('approvals');
    const h = await Harness.start({ catalog: o.catalog, policy: (o.policy ?? teamsPolicy)(venue), env: { ...teamsEnv(cloud), ...o.env }, clock: o.clock, extra: o.extra });
    return new TeamsScicomp(h, cloud, venue);
  }

  get url(): string {
    return `${this.h.url}/api/messages`;
  }

  /** A Teams user the connector knows (TeamsInfo.getMember finds them by id, object id or UPN). */
  person(name: string): TeamsPerson {
    const p = person(name);
    this.cloud.connector.addMember(member(p, this.cloud.app.tenantId));
    return p;
  }

  send(activity: TeamsActivity, o: { forgery?: Forgery; authorization?: string } = {}): Promise<Response> {
    return this.cloud.send(this.url, activity, o);
  }

  /** `text` in the person's 1:1 chat with the bot (the same chat every time). */
  async say(p: TeamsPerson, text: string): Promise<TeamsActivity> {
    const activity = personalMessage(this.cloud.context, p, text, { conversationId: this.chatOf(p) });
    const res = await this.send(activity);
    if (res.status !== 200) throw new Error(`Teams message answered ${res.status}: ${await res.text()}`);
    return activity;
  }

  /** `text` @mentioning the bot in a channel. */
  async mention(p: TeamsPerson, text: string, ch: TeamsChannel = this.venue): Promise<TeamsActivity> {
    const activity = channelMention(this.cloud.context, p, text, ch);
    const res = await this.send(activity);
    if (res.status !== 200) throw new Error(`Teams mention answered ${res.status}: ${await res.text()}`);
    return activity;
  }

  /** A click on an Action.Execute of a card the bot posted (its conversation and activity id); the invoke response. */
  async click(p: TeamsPerson, card: PostedCard, verb: string, data: Record<string, unknown>): Promise<{ res: Response; body: InvokeAnswer }> {
    const conversation = { id: card.conversationId, conversationType: card.conversationId.startsWith('19:') ? 'channel' : 'personal', tenantId: this.cloud.app.tenantId, isGroup: card.conversationId.startsWith('19:'), name: '' };
    const activity = adaptiveCardAction(this.cloud.context, p, { verb, data }, { conversation, replyToId: card.activityId, ...(card.conversationId.startsWith('19:') ? { channel: this.venue } : {}) });
    const res = await this.send(activity);
    const body = (await res.json().catch(() => ({}))) as InvokeAnswer;
    return { res, body };
  }

  private readonly chats = new Map<string, string>();

  /** The person's 1:1 conversation id, the same for every message, as in Teams. */
  chatOf(p: TeamsPerson): string {
    let id = this.chats.get(p.aadObjectId);
    if (!id) {
      id = `a:1${p.aadObjectId.replace(/-/g, '')}`;
      this.chats.set(p.aadObjectId, id);
    }
    return id;
  }

  /** Every card the bot posted into or updated in a conversation (a channel's threads included), oldest first. */
  cards(conversationId: string): PostedCard[] {
    return this.cloud.connector
      .accepted()
      .filter((c) => ['sendToConversation', 'replyToActivity', 'updateActivity'].includes(c.operation) && c.conversationId !== undefined && (c.conversationId === conversationId || c.conversationId.startsWith(`${conversationId};`)))
      .map((c) => ({
        conversationId: c.conversationId!,
        activityId: c.operation === 'updateActivity' ? c.activityId! : (c.response as { id: string }).id,
        updated: c.operation === 'updateActivity',
        text: JSON.stringify(c.body),
        body: c.body ?? {},
      }));
  }

  /** Waits for a card in the conversation whose text matches. */
  card(conversationId: string, match: RegExp | string, what = String(match), timeoutMs?: number): Promise<PostedCard> {
    const test = (t: string) => (typeof match === 'string' ? t.includes(match) : match.test(t));
    return eventually(() => this.cards(conversationId).filter((c) => test(c.text)).at(-1), what, timeoutMs);
  }

  /** Waits for a card in the person's 1:1 chat. */
  inChat(p: TeamsPerson, match: RegExp | string, what?: string, timeoutMs?: number): Promise<PostedCard> {
    return this.card(this.chatOf(p), match, what ?? `${p.name}'s chat: ${String(match)}`, timeoutMs);
  }

  /** The interactions waiting in the inbox, and those the workers took. */
  async queued(): Promise<number> {
    const redis = this.h.app.redis;
    const inbox = await redis.xlen(this.h.app.inbox.key);
    return inbox;
  }

  async close(): Promise<void> {
    await this.h.close();
    await this.cloud.close();
    vi.restoreAllMocks();
  }
}

export interface PostedCard {
  conversationId: string;
  activityId: string;
  updated: boolean;
  text: string;
  body: Record<string, unknown>;
}

export interface InvokeAnswer {
  statusCode?: number;
  type?: string;
  value?: unknown;
}

/** The Action.Execute buttons of a posted card: verb and data. */
export function buttons(card: PostedCard): { title: string; verb: string; data: Record<string, unknown> }[] {
  const out: { title: string; verb: string; data: Record<string, unknown> }[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.type === 'Action.Execute') out.push({ title: String(o.title), verb: String(o.verb), data: (o.data ?? {}) as Record<string, unknown> });
      Object.values(o).forEach(walk);
    }
  };
  walk(card.body);
  return out;
}

/** The button of a card by its title (or verb). */
export function button(card: PostedCard, titleOrVerb: string): { verb: string; data: Record<string, unknown> } {
  const b = buttons(card).find((x) => x.title === titleOrVerb || x.verb === titleOrVerb);
  if (!b) throw new Error(`no button ${titleOrVerb} on the card: ${buttons(card).map((x) => x.title).join(', ')}`);
  return b;
}
