// A local recording Bot Connector (the serviceUrl Teams gives a bot): it checks every bearer token and can fail on demand.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { listen, sendJson, type Listening } from './http.js';
import type { IssuedToken, TokenEndpoint } from './token-endpoint.js';

/** The audience Bot Connector tokens are issued for (botbuilder's ToChannelFromBotOAuthScope + /.default). */
export const CONNECTOR_SCOPE = 'https://api.botframework.com/.default';

export type ConnectorOperation =
  | 'sendToConversation'
  | 'replyToActivity'
  | 'updateActivity'
  | 'deleteActivity'
  | 'createConversation'
  | 'getConversationMember'
  | 'getConversationMembers'
  | 'getConversationPagedMembers'
  | 'fetchTeamDetails'
  | 'fetchChannelList'
  | 'unknown';

export interface ConnectorCall {
  operation: ConnectorOperation;
  method: string;
  path: string;
  conversationId?: string;
  activityId?: string;
  memberId?: string;
  teamId?: string;
  body?: Record<string, unknown>;
  /** The app the bearer token was issued to; undefined when the token was missing or not one we issued. */
  appId?: string;
  authorization?: string;
  status: number;
  /** What the connector answered (the posted activity's id). */
  response?: unknown;
  at: number;
}

/** A member as Teams returns it from GET /v3/conversations/{id}/members/{memberId}. */
export interface TeamsMember {
  id: string;
  name: string;
  aadObjectId: string;
  email?: string;
  userPrincipalName?: string;
  givenName?: string;
  surname?: string;
  tenantId?: string;
  userRole?: 'user' | 'guest' | 'anonymous';
}

export type ConnectorFailure =
  | { status: 429; retryAfter?: number }
  /** `code` such as BotNotInConversationRoster or ConversationBlockedByUser. */
  | { status: 403; code?: string; message?: string }
  | { status: 404; code?: string; message?: string }
  | { status: 500 | 502 | 503 | 504; code?: string; message?: string };

interface Route {
  operation: ConnectorOperation;
  conversationId?: string;
  activityId?: string;
  memberId?: string;
  teamId?: string;
}

const dec = decodeURIComponent;

function route(method: string, path: string): Route {
  let m = /^\/v3\/conversations\/([^/]+)\/activities\/([^/]+)$/.exec(path);
  if (m) {
    const ids = { conversationId: dec(m[1]!), activityId: dec(m[2]!) };
    if (method === 'POST') return { operation: 'replyToActivity', ...ids };
    if (method === 'PUT') return { operation: 'updateActivity', ...ids };
    if (method === 'DELETE') return { operation: 'deleteActivity', ...ids };
  }
  m = /^\/v3\/conversations\/([^/]+)\/activities$/.exec(path);
  if (m && method === 'POST') return { operation: 'sendToConversation', conversationId: dec(m[1]!) };
  if (path === '/v3/conversations' && method === 'POST') return { operation: 'createConversation' };
  m = /^\/v3\/conversations\/([^/]+)\/members\/([^/]+)$/.exec(path);
  if (m && method === 'GET') return { operation: 'getConversationMember', conversationId: dec(m[1]!), memberId: dec(m[2]!) };
  m = /^\/v3\/conversations\/([^/]+)\/members$/.exec(path);
  if (m && method === 'GET') return { operation: 'getConversationMembers', conversationId: dec(m[1]!) };
  m = /^\/v3\/conversations\/([^/]+)\/pagedmembers$/.exec(path);
  if (m && method === 'GET') return { operation: 'getConversationPagedMembers', conversationId: dec(m[1]!) };
  m = /^\/v3\/teams\/([^/]+)\/conversations$/.exec(path);
  if (m && method === 'GET') return { operation: 'fetchChannelList', teamId: dec(m[1]!) };
  m = /^\/v3\/teams\/([^/]+)$/.exec(path);
  if (m && method === 'GET') return { operation: 'fetchTeamDetails', teamId: dec(m[1]!) };
  return { operation: 'unknown' };
}

const FAILURE_TEXT: Record<number, { code: string; message: string }> = {
  403: { code: 'BotNotInConversationRoster', message: 'The bot is not part of the conversation roster.' },
  404: { code: 'ConversationNotFound', message: 'Conversation not found.' },
  429: { code: 'Throttled', message: 'Too many requests.' },
};

export class BotConnector {
  /** Every call that reached the connector, accepted or not, in arrival order. */
  readonly calls: ConnectorCall[] = [];
  /** Members by id and by aadObjectId, served to TeamsInfo.getMember/getMembers in every conversation. */
  readonly members = new Map<string, TeamsMember>();
  /** Teams served by fetchTeamDetails/fetchChannelList. */
  readonly teams = new Map<string, { name: string; aadGroupId: string; channels: { id: string; name?: string }[] }>();
  private readonly failures = new Map<string, ConnectorFailure[]>();
  private readonly oneToOne = new Map<string, string>();
  private seq = 0;
  private http?: Listening;

  constructor(
    private readonly tokens: TokenEndpoint,
    private readonly scope = CONNECTOR_SCOPE,
  ) {}

  async start(): Promise<this> {
    this.http = await listen((req, res, raw) => {
      const path = (req.url ?? '/').split('?')[0]!;
      const method = req.method ?? 'GET';
      const r = route(method, path);
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined;
      const token = this.authenticate(req);
      const call: ConnectorCall = {
        ...r,
        method,
        path,
        ...(body ? { body } : {}),
        ...(token ? { appId: token.appId } : {}),
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        status: 0,
        at: Date.now(),
      };
      this.calls.push(call);
      const answer = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
        call.status = status;
        call.response = payload;
        sendJson(res, status, payload, headers);
      };
      if (!token) return answer(401, { message: 'Authorization has been denied for this request.' });
      // Creating a 1:1 chat fails by the member it is with.
      const created = r.operation === 'createConversation' ? ((body?.members as { id?: string }[] | undefined) ?? [])[0]?.id : undefined;
      const failure = this.takeFailure(r.conversationId ?? r.teamId ?? created);
      if (failure) {
        const text = FAILURE_TEXT[failure.status] ?? { code: 'ServiceError', message: 'Unknown error.' };
        const headers: Record<string, string> =
          failure.status === 429 && failure.retryAfter !== undefined ? { 'retry-after': String(failure.retryAfter) } : {};
        const code = 'code' in failure && failure.code ? failure.code : text.code;
        const message = 'message' in failure && failure.message ? failure.message : text.message;
        return answer(failure.status, { error: { code, message } }, headers);
      }
      return this.serve(r, body, answer);
    }, false);
    return this;
  }

  private serve(r: Route, body: Record<string, unknown> | undefined, answer: (s: number, p: unknown) => void): void {
    const id = (): string => `1:${(++this.seq).toString().padStart(4, '0')}${randomBytes(3).toString('hex')}`;
    switch (r.operation) {
      case 'sendToConversation':
      case 'replyToActivity':
        return answer(201, { id: id() });
      case 'updateActivity':
        return answer(200, { id: r.activityId });
      case 'deleteActivity':
        return answer(200, {});
      case 'createConversation': {
        const member = ((body?.members as { id?: string }[] | undefined) ?? [])[0]?.id ?? '';
        // Teams answers the same 1:1 conversation for the same bot and user.
        const conversationId = this.oneToOne.get(member) ?? `a:1${randomBytes(12).toString('base64url')}`;
        if (member) this.oneToOne.set(member, conversationId);
        const activityId = body?.activity ? id() : undefined;
        return answer(201, { id: conversationId, ...(activityId ? { activityId } : {}) });
      }
      case 'getConversationMember': {
        const member = this.members.get(r.memberId!) ?? this.members.get(r.memberId!.toLowerCase());
        return member
          ? answer(200, member)
          : answer(404, { error: { code: 'MemberNotFoundInConversation', message: 'Member not found.' } });
      }
      case 'getConversationMembers':
        return answer(200, this.memberList());
      case 'getConversationPagedMembers':
        return answer(200, { members: this.memberList() });
      case 'fetchTeamDetails': {
        const team = this.teams.get(r.teamId!);
        return team
          ? answer(200, { id: r.teamId, name: team.name, aadGroupId: team.aadGroupId })
          : answer(404, { error: { code: 'NotFound', message: 'Team not found.' } });
      }
      case 'fetchChannelList': {
        const team = this.teams.get(r.teamId!);
        return team
          ? answer(200, { conversations: team.channels })
          : answer(404, { error: { code: 'NotFound', message: 'Team not found.' } });
      }
      default:
        return answer(404, { error: { code: 'NotFound', message: 'No such Bot Connector operation in the fake.' } });
    }
  }

  private memberList(): TeamsMember[] {
    return [...new Set(this.members.values())];
  }

  private authenticate(req: IncomingMessage): IssuedToken | undefined {
    return this.tokens.verify(req.headers.authorization, this.scope);
  }

  private takeFailure(key: string | undefined): ConnectorFailure | undefined {
    if (!key) return undefined;
    return this.failures.get(key)?.shift();
  }

  /** The bot's serviceUrl (with the trailing slash Teams sends). */
  get serviceUrl(): string {
    if (!this.http) throw new Error('BotConnector not started');
    return `${this.http.url}/`;
  }

  /** A member TeamsInfo.getMember finds by id or by aadObjectId. */
  addMember(member: TeamsMember): void {
    this.members.set(member.id, member);
    this.members.set(member.aadObjectId, member);
    // Teams finds a member by their UPN too.
    if (member.userPrincipalName) this.members.set(member.userPrincipalName.toLowerCase(), member);
  }

  /** The next `count` calls on `conversationId` (or team id, or the member a 1:1 chat is created with) fail this way. */
  failNext(conversationId: string, failure: ConnectorFailure, count = 1): void {
    const list = this.failures.get(conversationId) ?? [];
    for (let i = 0; i < count; i++) list.push(failure);
    this.failures.set(conversationId, list);
  }

  /** Calls of one operation that the connector accepted (2xx). */
  accepted(operation?: ConnectorOperation): ConnectorCall[] {
    return this.calls.filter((c) => (!operation || c.operation === operation) && c.status >= 200 && c.status < 300);
  }

  /** Activities the bot posted (sent, replied or updated) and the connector accepted, in order. */
  activities(conversationId?: string): Record<string, unknown>[] {
    return this.calls
      .filter((c) => ['sendToConversation', 'replyToActivity', 'updateActivity'].includes(c.operation))
      .filter((c) => c.status >= 200 && c.status < 300 && (!conversationId || c.conversationId === conversationId))
      .map((c) => c.body ?? {});
  }

  async close(): Promise<void> {
    await this.http?.close();
  }
}
