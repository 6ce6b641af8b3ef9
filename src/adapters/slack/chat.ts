// ChatPort over the Slack Web API: posts, updates, DMs, modals and profiles, with Slack's errors mapped to retry decisions.
import { WebClient, ErrorCode, type WebAPICallError, type WebAPICallResult, type WebClientOptions } from '@slack/web-api';
import type { Store } from '../redis/store.js';
import type { ChatCallOutcome, Metrics } from '../../metrics.js';
import { UpstreamError, UserInputError } from '../../core/errors.js';
import type { Form, Message } from '../../core/message.js';
import type { Address, ChatPort, ChatProfile, FormPlace, PostedMessage, SecretsPort } from '../../core/ports.js';
import { pooledFetch } from '../../http/fetch.js';
import { longOptionLists, renderForm, renderMessage } from './render.js';

interface MessageRef {
  channel: string;
  ts: string;
}

/** A private reply: the response URL of a command or click, and whether it replaces the message clicked. */
export interface ReplyRef {
  url: string;
  replace?: boolean;
}

/**
 * Where a form answering an interaction can appear (RunPayload.formRef): a modal already open (a view id), or the
 * click's trigger, good for 3 s after the click, with the button that asked, to offer again once the trigger is gone.
 */
export interface SlackFormRef {
  view?: string;
  trigger?: string;
  /** When the click reached us (ms since epoch). */
  at?: number;
  reopen?: { id: string; value: string };
}

export const formRef = (ref: SlackFormRef): string => JSON.stringify(ref);

/** A formRef as written; a bare view id from a process of the previous release reads as one. */
export function readFormRef(ref: string | undefined): SlackFormRef {
  if (!ref) return {};
  if (!ref.startsWith('{')) return { view: ref };
  try {
    return JSON.parse(ref) as SlackFormRef;
  } catch {
    return {};
  }
}

/** Slack's trigger ids last 3 s; past this much of it, a modal is not attempted. */
const TRIGGER_LIFETIME_MS = 2500;
/** Slack's answers to a trigger that can no longer open a modal. */
const STALE_TRIGGER = new Set(['expired_trigger_id', 'invalid_trigger_id', 'exchanged_trigger_id']);

/** The click's answer when its modal cannot open: the same button again, whose fresh click opens it at once. */
export function formFallback(form: Form, reopen: SlackFormRef['reopen']): Message {
  return reopen
    ? { text: `${form.title}: Slack could not open the form in time. Click below to open it.`, tone: 'info', actions: [{ id: reopen.id, label: form.title, value: reopen.value, style: 'primary' }] }
    : { text: `${form.title}: Slack could not open the form in time. Please try again.`, tone: 'info' };
}

const DM_TTL_MS = 30 * 24 * 3600_000;
/** Approver group membership is re-read every few minutes: a removed approver loses the right quickly. */
const GROUP_TTL_MS = 5 * 60_000;

export function toUpstream(err: unknown): UpstreamError {
  const e = err as WebAPICallError & { retryAfter?: number; statusCode?: number; data?: { error?: string } };
  switch (e.code) {
    case ErrorCode.RateLimitedError:
      return new UpstreamError('Slack rate limited the call', true, (e.retryAfter ?? 1) * 1000, { cause: err });
    case ErrorCode.HTTPError:
      return new UpstreamError(`Slack answered HTTP ${e.statusCode ?? '?'}`, (e.statusCode ?? 500) >= 500, undefined, { cause: err });
    case ErrorCode.RequestError:
      return new UpstreamError('Slack could not be reached', true, undefined, { cause: err });
    case ErrorCode.PlatformError: {
      const code = e.data?.error ?? 'unknown_error';
      return new UpstreamError(`Slack refused the call: ${code}`, ['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout'].includes(code), undefined, { cause: err });
    }
    default:
      return new UpstreamError(`Slack call failed: ${(err as Error).message}`, true, undefined, { cause: err });
  }
}

/** Where Slack's response URLs live; SLACK_API_URL's origin too, for a proxy or a local stand-in. */
const RESPONSE_URL_ORIGIN = 'https://hooks.slack.com';

/** A response URL the bot may post to: Slack's own, or one on the configured Slack API's origin. */
export function responseUrlAllowed(url: string, apiUrl?: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.username || u.password) return false;
  if (u.origin === RESPONSE_URL_ORIGIN) return true;
  if (!apiUrl) return false;
  try {
    return u.origin === new URL(apiUrl).origin;
  } catch {
    return false;
  }
}

/** The clicker alone: their click's response URL without replacing the message clicked (an approval's parent), else their DM. */
function privately(place: FormPlace): Address {
  if (place.reply.kind !== 'reply') return { platform: 'slack', kind: 'user', userId: place.userId };
  const ref = JSON.parse(place.reply.ref) as ReplyRef;
  return { ...place.reply, ref: JSON.stringify({ ...ref, replace: false } satisfies ReplyRef) };
}

/** The workspace's people are re-read this often when someone is named by @handle: a new colleague is found soon. */
const PEOPLE_TTL_MS = 60_000;
/** A workspace member as `@handle` resolution needs them: id, handle and display name, lower-cased. */
type Member = [id: string, name: string, displayName: string];


type ChatMetrics = Pick<Metrics, 'chatCall'>;

function outcomeOf(err: unknown): ChatCallOutcome {
  const e = err as WebAPICallError & { data?: { error?: string } };
  return e.code === ErrorCode.RateLimitedError || e.data?.error === 'ratelimited' ? 'rate_limited' : 'error';
}

/** Every Web API method goes through apiCall (the method helpers are bound to it): counted there, by method. */
class MeteredWebClient extends WebClient {
  constructor(
    token: string,
    options: WebClientOptions,
    private readonly metrics?: ChatMetrics,
  ) {
    super(token, options);
  }

  override async apiCall(method: string, options?: Record<string, unknown>): Promise<WebAPICallResult> {
    try {
      const res = await super.apiCall(method, options);
      this.metrics?.chatCall('slack', method, 'ok');
      return res;
    } catch (err) {
      this.metrics?.chatCall('slack', method, outcomeOf(err));
      throw err;
    }
  }
}

const OPTION_LIST_TTL_MS = 24 * 3600_000;
/** The message metadata event type carrying an outbox id (`event_payload.key`), for findPosted. */
export const OUTBOX_EVENT_TYPE = 'scicomp_outbox';
/** How far Slack's clock may be behind Redis's when a message's ts is compared with when its attempt began. */
const CLOCK_SKEW_MS = 10_000;
const HISTORY_LIMIT = 50;
const HISTORY_PAGES = 4;
export const optionListKey = (store: Store, id: string) => store.key('slack', 'options', id);

export class SlackChat implements ChatPort {
  readonly platform = 'slack' as const;
  private client?: WebClient;
  private clientToken?: string;
  private readonly apiFetch = pooledFetch();

  constructor(
    private readonly opts: { secrets: SecretsPort; store: Store; apiUrl?: string; fetch?: typeof fetch; metrics?: ChatMetrics },
  ) {}

  /** Closes the Web API client's connection pool. */
  async close(): Promise<void> {
    await this.apiFetch.close();
  }

  /** A client for the current bot token; a rotated token gets a new client. */
  private async web(): Promise<WebClient> {
    const token = await this.opts.secrets.get('slackBotToken');
    if (!token) throw new UpstreamError('no Slack bot token configured', false);
    if (!this.client || token !== this.clientToken) {
      const apiUrl = this.opts.apiUrl ? this.opts.apiUrl.replace(/\/?$/, '/') : undefined;
      // The outbox owns retries and Retry-After; the client must surface them, not sleep on them. A call gives up well
      // within the outbox's hold on its message (deliver-message's lease), so no two attempts post at once.
      this.client = new MeteredWebClient(token, { slackApiUrl: apiUrl, rejectRateLimitedCalls: true, retryConfig: { retries: 0 }, timeout: 30_000, fetch: this.apiFetch }, this.opts.metrics);
      this.clientToken = token;
    }
    return this.client;
  }

  private async call<T>(fn: (web: WebClient) => Promise<T>): Promise<T> {
    const web = await this.web();
    try {
      return await fn(web);
    } catch (err) {
      throw toUpstream(err);
    }
  }

  async dmChannel(userId: string): Promise<string> {
    const key = this.opts.store.key('slack', 'dm', userId);
    const known = await this.opts.store.redis.get(key);
    if (known) return known;
    const res = await this.call((w) => w.conversations.open({ users: userId }));
    const channel = res.channel?.id;
    if (!channel) throw new UpstreamError('Slack opened no DM channel', true);
    await this.opts.store.redis.set(key, channel, 'PX', DM_TTL_MS);
    return channel;
  }

  /** The channel and thread a message to `to` goes to. */
  private async where(to: Exclude<Address, { kind: 'reply' }>, threadRef?: string): Promise<{ channel: string; thread?: string }> {
    const parent = threadRef ? (JSON.parse(threadRef) as MessageRef) : undefined;
    const channel = parent?.channel ?? (to.kind === 'user' ? await this.dmChannel(to.userId) : to.channel);
    return { channel, thread: parent?.ts ?? (to.kind === 'channel' ? to.thread : undefined) };
  }

  async post(to: Address, msg: Message, opts: { thread?: string; key?: string } = {}): Promise<PostedMessage> {
    const rendered = renderMessage(msg);
    if (to.kind === 'reply') {
      const ref = JSON.parse(to.ref) as ReplyRef;
      await this.respond(ref, { response_type: 'ephemeral', replace_original: ref.replace ?? false, ...rendered });
      return { ref: to.ref };
    }
    const { channel, thread } = await this.where(to, opts.thread);
    const metadata = opts.key ? { metadata: { event_type: OUTBOX_EVENT_TYPE, event_payload: { key: opts.key } } } : {};
    const res = await this.call((w) => w.chat.postMessage({ channel, ...rendered, ...(thread ? { thread_ts: thread } : {}), ...metadata, unfurl_links: false }));
    return { ref: JSON.stringify({ channel, ts: res.ts! } satisfies MessageRef) };
  }

  /**
   * The message posted with this outbox key since `sinceMs`: its conversation's history (its thread's replies, for a
   * reply in a thread) read from a little before then, newest first, a few short pages at most. The outbox sends one
   * message of a conversation at a time, so little of what the bot posted since can be in the way. A response URL has
   * no history: undefined.
   */
  async findPosted(to: Address, key: string, sinceMs: number, opts: { thread?: string } = {}): Promise<PostedMessage | undefined> {
    if (to.kind === 'reply') return undefined;
    const { channel, thread } = await this.where(to, opts.thread);
    const oldest = (Math.max(0, sinceMs - CLOCK_SKEW_MS) / 1000).toFixed(6);
    let cursor: string | undefined;
    for (let page = 0; page < HISTORY_PAGES; page++) {
      const args = { channel, oldest, limit: HISTORY_LIMIT, include_all_metadata: true, ...(cursor ? { cursor } : {}) };
      const res = await this.call((w) => (thread ? w.conversations.replies({ ...args, ts: thread }) : w.conversations.history(args)));
      const hit = res.messages?.find((m) => m.metadata?.event_type === OUTBOX_EVENT_TYPE && (m.metadata.event_payload as { key?: unknown } | undefined)?.key === key);
      if (hit?.ts) return { ref: JSON.stringify({ channel, ts: hit.ts } satisfies MessageRef) };
      cursor = res.response_metadata?.next_cursor || undefined;
      if (!res.has_more || !cursor) return undefined;
    }
    return undefined;
  }

  async permalink(ref: string): Promise<string | undefined> {
    const parsed = JSON.parse(ref) as MessageRef | ReplyRef;
    if ('url' in parsed) return undefined;
    return this.call((w) => w.chat.getPermalink({ channel: parsed.channel, message_ts: parsed.ts })).then((r) => r.permalink, () => undefined);
  }

  async update(ref: string, msg: Message): Promise<void> {
    const parsed = JSON.parse(ref) as MessageRef | ReplyRef;
    if ('url' in parsed) {
      await this.respond(parsed, { replace_original: true, ...renderMessage(msg) });
      return;
    }
    await this.call((w) => w.chat.update({ channel: parsed.channel, ts: parsed.ts, ...renderMessage(msg) }));
  }

  /**
   * Into the modal already open (the launch form), else a new modal on the click's trigger while it is fresh; else the
   * button that asked for it, posted again for a fresh click (a trigger cannot outlive its 3 s).
   */
  async showForm(place: FormPlace, form: Form): Promise<void> {
    const ref = readFormRef(place.ref);
    await this.stashOptionLists(form);
    if (ref.view) {
      await this.call((w) => w.views.update({ view_id: ref.view!, view: renderForm(form) as never }));
      return;
    }
    if (ref.trigger && ref.at !== undefined && Date.now() - ref.at < TRIGGER_LIFETIME_MS) {
      try {
        await this.call((w) => w.views.open({ trigger_id: ref.trigger!, view: renderForm(form) as never }));
        return;
      } catch (err) {
        const code = ((err as UpstreamError).cause as { data?: { error?: string } } | undefined)?.data?.error;
        if (!code || !STALE_TRIGGER.has(code)) throw err;
      }
    }
    await this.post(privately(place), formFallback(form, ref.reopen));
  }

  /** Lists too long for a static select are read by the options endpoint, which must answer Slack without AWS calls. */
  private async stashOptionLists(form: Form): Promise<void> {
    const lists = longOptionLists(form);
    if (lists.size === 0) return;
    const multi = this.opts.store.redis.multi();
    for (const [id, options] of lists) multi.set(optionListKey(this.opts.store, id), JSON.stringify(options), 'PX', OPTION_LIST_TTL_MS);
    await multi.exec();
  }

  async profile(userId: string): Promise<ChatProfile> {
    const res = await this.call((w) => w.users.info({ user: userId }));
    const u = res.user;
    return {
      email: u?.profile?.email || undefined,
      name: u?.profile?.real_name || u?.real_name || u?.name || userId,
      username: u?.name || userId,
    };
  }

  /**
   * The Slack user a command names: `<@U…>` (a mention), a user id, an email (users.lookupByEmail) or `@handle`, matched
   * exactly and case-insensitively against each member's username and display name. No one, or more than one: the person
   * is told which.
   */
  async findUser(text: string): Promise<string> {
    const t = text.trim();
    const mention = /^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$/.exec(t) ?? /^([UW][A-Z0-9]{2,})$/.exec(t);
    if (mention) return mention[1]!;
    const hint = "Pick them from Slack's @ suggestions, or give their email address.";
    if (/^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(t)) {
      const res = await this.call((w) => w.users.lookupByEmail({ email: t })).catch((err: UpstreamError) => {
        const code = (err.cause as { data?: { error?: string } } | undefined)?.data?.error;
        if (code === 'users_not_found' || code === 'user_not_found') return undefined;
        throw err;
      });
      const u = res?.user;
      if (!u?.id || u.deleted || u.is_bot) throw new UserInputError(`No one in this Slack workspace has the email address ${t}.`, hint);
      return u.id;
    }
    const handle = /^@([^\s@<>]+)$/.exec(t)?.[1]?.toLowerCase();
    if (!handle) throw new UserInputError(`"${t}" is not a user: name them as @someone or by their email address.`, hint);
    const matches = new Set((await this.members()).filter(([, name, display]) => name === handle || display === handle).map(([id]) => id));
    if (matches.size > 1) throw new UserInputError(`${matches.size} people in this Slack workspace go by @${handle}, so I can't tell which one you mean.`, hint);
    const [id] = matches;
    if (id) return id;
    // `@U123…` written by hand, when no one goes by that name.
    const typedId = /^@([UW][A-Z0-9]{2,})$/.exec(t);
    if (typedId) return typedId[1]!;
    throw new UserInputError(`No one in this Slack workspace goes by @${handle}.`, hint);
  }

  /** The workspace's active people (users.list, every page), cached briefly and shared by every replica. */
  private async members(): Promise<Member[]> {
    const key = this.opts.store.key('slack', 'members');
    const cached = await this.opts.store.getJson<Member[]>(key);
    if (cached) return cached;
    const members: Member[] = [];
    let cursor: string | undefined;
    do {
      const res = await this.call((w) => w.users.list({ limit: 200, ...(cursor ? { cursor } : {}) }));
      for (const u of res.members ?? []) {
        if (!u.id || u.deleted || u.is_bot || u.id === 'USLACKBOT') continue;
        members.push([u.id, (u.name ?? '').toLowerCase(), (u.profile?.display_name ?? '').toLowerCase()]);
      }
      cursor = res.response_metadata?.next_cursor || undefined;
    } while (cursor);
    await this.opts.store.setJson(key, members, PEOPLE_TTL_MS);
    return members;
  }

  async groupMembers(groupId: string): Promise<string[]> {
    const key = this.opts.store.key('slack', 'group', groupId);
    const cached = await this.opts.store.getJson<string[]>(key);
    if (cached) return cached;
    const res = await this.call((w) => w.usergroups.users.list({ usergroup: groupId }));
    const users = res.users ?? [];
    await this.opts.store.setJson(key, users, GROUP_TTL_MS);
    return users;
  }

  /** Response URLs answer with a plain "ok" or an error status; 429 carries Retry-After like the Web API. */
  private async respond(ref: ReplyRef, body: Record<string, unknown>): Promise<void> {
    // The URL came in a request; posting anywhere else, or following a redirect, would carry a message (and its blocks) off Slack.
    if (!responseUrlAllowed(ref.url, this.opts.apiUrl)) throw new UpstreamError(`refused a response URL outside ${RESPONSE_URL_ORIGIN}`, false);
    let res: Response;
    try {
      res = await (this.opts.fetch ?? fetch)(ref.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), redirect: 'manual' });
    } catch (err) {
      this.opts.metrics?.chatCall('slack', 'response_url', 'error');
      throw new UpstreamError('Slack response URL could not be reached', true, undefined, { cause: err });
    }
    if ((res.status >= 300 && res.status < 400) || res.type === 'opaqueredirect') throw new UpstreamError(`Slack response URL answered ${res.status} (a redirect, not followed)`, false);
    this.opts.metrics?.chatCall('slack', 'response_url', res.ok ? 'ok' : res.status === 429 ? 'rate_limited' : 'error');
    if (res.status === 429) throw new UpstreamError('Slack rate limited the reply', true, Number(res.headers.get('retry-after') ?? '1') * 1000);
    if (res.status >= 500) throw new UpstreamError(`Slack response URL answered ${res.status}`, true);
    // 404 means the response URL expired (30 min, 5 uses): nothing a retry can fix.
    if (!res.ok) throw new UpstreamError(`Slack response URL answered ${res.status}`, false);
  }
}
