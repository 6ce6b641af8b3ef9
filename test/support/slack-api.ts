// A local stand-in for the Slack Web API and response URLs that records every call, for tests and the benchmark.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlackCall {
  method: string;
  body: Record<string, unknown>;
  at: number;
  /** What the recorder answered (e.g. the `ts` of a posted message). */
  response?: Record<string, unknown>;
}

/**
 * How a call fails: its HTTP status, Retry-After (seconds), Slack error code, redirect target. `afterPosting`: the call
 * takes effect (a message is posted) and only its answer is lost, as when Slack times out after doing the work.
 */
export type Failure = { status: number; retryAfter?: number; error?: string; location?: string; afterPosting?: boolean };

/** A message as the recorder keeps it, to answer conversations.history and conversations.replies. */
interface StoredMessage {
  type: 'message';
  ts: string;
  text?: string;
  thread_ts?: string;
  bot_id: string;
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
}

function parseBody(raw: string, type: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  if (type?.includes('application/json')) return JSON.parse(raw) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    out[k] = /^[[{]/.test(v) ? JSON.parse(v) : v;
  }
  return out;
}

async function read(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export class SlackApi {
  readonly calls: SlackCall[] = [];
  /** Calls answered with a failure (by failNext or failSometimes): method and HTTP status. */
  readonly failed: { method: string; status: number }[] = [];
  private server?: Server;
  private failures = new Map<string, Failure[]>();
  private flaky = new Map<string, { odds: number; failures: Failure[]; random: () => number }>();
  private slow = new Map<string, number>();
  /** Calls that have taken effect and are not yet answered (see answerSlowly). */
  inFlight = 0;
  private seq = 0;
  /** The last ts given, in µs: each posted message gets a later one, from the wall clock, as Slack's are. */
  private lastTs = 0;
  /** Posted messages per channel, oldest first. */
  readonly messages = new Map<string, StoredMessage[]>();
  /** Profiles served by users.info; unknown users get <id>@synapse.org. users.list and users.lookupByEmail serve only these. */
  users: Record<string, { name: string; email?: string; displayName?: string; realName?: string; deleted?: boolean }> = {};
  unknownUsers = new Set<string>();
  /** Members served by usergroups.users.list. */
  groups: Record<string, string[]> = {};
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void (async () => {
      const raw = await read(req);
      const path = (req.url ?? '').split('?')[0]!;
      const method = path.startsWith('/api/') ? path.slice(5) : path.startsWith('/response/') ? 'response_url' : path;
      const body = parseBody(raw, req.headers['content-type']);
      if (method === 'response_url') body.responseId = path.slice('/response/'.length);
      const failure = this.failures.get(method)?.shift() ?? this.chance(method);
      if (failure) {
        this.failed.push({ method, status: failure.status });
        if (failure.afterPosting) this.calls.push({ method, body, at: Date.now(), response: this.answer(method, body) as Record<string, unknown> });
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (failure.retryAfter !== undefined) headers['retry-after'] = String(failure.retryAfter);
        if (failure.location !== undefined) headers.location = failure.location;
        res.writeHead(failure.status, headers).end(JSON.stringify({ ok: false, error: failure.error ?? 'ratelimited' }));
        return;
      }
      const response = this.answer(method, body) as Record<string, unknown>;
      this.calls.push({ method, body, at: Date.now(), response });
      const slowMs = this.slow.get(method);
      if (slowMs) {
        this.inFlight++;
        await new Promise((r) => setTimeout(r, slowMs));
        this.inFlight--;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(response));
    })());
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    return this;
  }

  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  responseUrl(id: string): string {
    return `${this.url}/response/${id}`;
  }

  /** A failure drawn for this call of `method`, when it is set to fail at random. */
  private chance(method: string): Failure | undefined {
    const f = this.flaky.get(method);
    if (!f || f.random() >= f.odds) return undefined;
    return f.failures[Math.floor(f.random() * f.failures.length)];
  }

  /** A new message ts ("seconds.micros"), later than any given before. */
  private nextTs(): string {
    this.lastTs = Math.max(this.lastTs + 1, Date.now() * 1000);
    return `${Math.floor(this.lastTs / 1e6)}.${String(this.lastTs % 1e6).padStart(6, '0')}`;
  }

  /**
   * conversations.history (top-level messages) or conversations.replies (a thread: its parent and replies), as Slack
   * answers them: within `oldest`/`latest` (exclusive unless `inclusive`), history newest first and replies oldest first,
   * `limit` a page with the next page's cursor, metadata only with `include_all_metadata`.
   */
  private history(body: Record<string, unknown>, thread?: string): Record<string, unknown> {
    const inclusive = body.inclusive === true || body.inclusive === 'true' || body.inclusive === '1';
    const oldest = body.oldest !== undefined ? Number(body.oldest) : -Infinity;
    const latest = body.latest !== undefined ? Number(body.latest) : Infinity;
    const within = (ts: number) => (inclusive ? ts >= oldest && ts <= latest : ts > oldest && ts < latest);
    const all = (this.messages.get(String(body.channel)) ?? []).filter((m) => within(Number(m.ts)));
    const picked = thread ? all.filter((m) => m.ts === thread || m.thread_ts === thread) : all.filter((m) => !m.thread_ts || m.thread_ts === m.ts).reverse();
    const start = Number(body.cursor ?? 0);
    const end = start + Number(body.limit ?? 100);
    const metadata = body.include_all_metadata === true || body.include_all_metadata === 'true' || body.include_all_metadata === '1';
    const page = picked.slice(start, end).map((m) => (metadata ? { ...m } : { ...m, metadata: undefined }));
    const more = end < picked.length;
    return { ok: true, messages: page, has_more: more, pin_count: 0, response_metadata: { next_cursor: more ? String(end) : '' } };
  }

  private answer(method: string, body: Record<string, unknown>): unknown {
    ++this.seq;
    switch (method) {
      case 'conversations.open':
        return { ok: true, channel: { id: `D${String(body.users)}` } };
      case 'users.info': {
        const id = String(body.user);
        if (this.unknownUsers.has(id)) return { ok: false, error: 'user_not_found' };
        const u = this.users[id] ?? { name: id.toLowerCase(), email: `${id.toLowerCase()}@synapse.org` };
        return { ok: true, user: this.member(id, u) };
      }
      case 'users.lookupByEmail': {
        const email = String(body.email).toLowerCase();
        const found = Object.entries(this.users).find(([, u]) => u.email?.toLowerCase() === email);
        return found ? { ok: true, user: this.member(...found) } : { ok: false, error: 'users_not_found' };
      }
      case 'users.list': {
        // Paged like Slack: `limit` per page, the next page's cursor in response_metadata.
        const all = Object.entries(this.users);
        const start = Number(body.cursor ?? 0);
        const end = start + Number(body.limit ?? 1000);
        return { ok: true, members: all.slice(start, end).map(([id, u]) => this.member(id, u)), response_metadata: { next_cursor: end < all.length ? String(end) : '' } };
      }
      case 'chat.postMessage': {
        const ts = this.nextTs();
        const channel = String(body.channel);
        const meta = body.metadata as StoredMessage['metadata'] | undefined;
        const message: StoredMessage = { type: 'message', ts, bot_id: 'BSCICOMP', ...(typeof body.text === 'string' ? { text: body.text } : {}), ...(body.thread_ts ? { thread_ts: String(body.thread_ts) } : {}), ...(meta ? { metadata: meta } : {}) };
        this.messages.set(channel, [...(this.messages.get(channel) ?? []), message]);
        return { ok: true, channel, ts, message: { ts } };
      }
      case 'chat.update': {
        const message = this.messages.get(String(body.channel))?.find((m) => m.ts === body.ts);
        if (message && typeof body.text === 'string') message.text = body.text;
        return { ok: true, channel: body.channel, ts: body.ts };
      }
      case 'conversations.history':
        return this.history(body);
      case 'conversations.replies':
        return this.history(body, String(body.ts));
      case 'chat.getPermalink':
        return { ok: true, permalink: `https://example.slack.com/archives/${String(body.channel)}/p${String(body.message_ts).replace('.', '')}` };
      case 'views.open':
      case 'views.update':
        return { ok: true, view: { id: body.view_id ?? `V${this.seq}`, hash: `h${this.seq}` } };
      case 'response_url':
        return { ok: true };
      case 'usergroups.users.list':
        return { ok: true, users: this.groups[String(body.usergroup)] ?? [] };
      default:
        return { ok: true };
    }
  }

  /** A user object as users.info, users.list and users.lookupByEmail return it. */
  private member(id: string, u: SlackApi['users'][string]) {
    const real = u.realName ?? u.name;
    return { id, name: u.name, deleted: u.deleted ?? false, real_name: real, profile: { email: u.email, real_name: real, display_name: u.displayName ?? '' } };
  }

  /** From now on, each call of `method` fails with these odds, one of `failures` drawn (`random` makes a run repeatable). */
  failSometimes(method: string, odds: number, failures: Failure[], random: () => number = Math.random): void {
    this.flaky.set(method, { odds, failures, random });
  }

  /**
   * From now on, each call of `method` takes effect (and is recorded) at once but is answered only `ms` later, so a caller
   * that dies in between has done the work without hearing so. 0 answers at once again.
   */
  answerSlowly(method: string, ms: number): void {
    this.slow.set(method, ms);
  }

  /** The next `count` calls of `method` fail this way (429 with Retry-After seconds, a 5xx, or a 302 to `location`). */
  failNext(method: string, failure: Failure, count = 1): void {
    const list = this.failures.get(method) ?? [];
    for (let i = 0; i < count; i++) list.push(failure);
    this.failures.set(method, list);
  }

  of(method: string): SlackCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** What was posted to the response URL named `id` (see responseUrl), each as the JSON of its call. */
  replies(id: string): string[] {
    return this.of('response_url').filter((c) => c.body.responseId === id).map((c) => JSON.stringify(c.body));
  }

  /** What was posted or updated in the DM with `userId`, each as the JSON of its call, in the order they were taken. */
  dms(userId: string): string[] {
    return this.calls.filter((c) => (c.method === 'chat.postMessage' || c.method === 'chat.update') && c.body.channel === `D${userId}`).map((c) => JSON.stringify(c.body));
  }

  /** Every text a user would read in calls of `method`, blocks included. */
  texts(method?: string): string[] {
    return this.calls.filter((c) => !method || c.method === method).map((c) => JSON.stringify(c.body));
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
