// Approval requests in Redis: a hash per request (its document, state and decision), a sorted set of the pending ones
// and one per person of their open ones. Lua steps file a request under its requester's limit and decide it exactly once.
import type { Clock } from '../../core/ports.js';
import type { ApprovalsRepository, Decision, DecisionFields, Filing, RequestState, StoredRequest, Transition } from '../../core/repositories/approvals.js';
import type { Sealed } from '../../core/sealed.js';
import type { Store } from './store.js';

export const requestKey = (store: Pick<Store, 'key'>, id: string) => store.key('request', id);
export const pendingKey = (store: Pick<Store, 'key'>) => store.key('requests', 'pending');
/** One person's requests waiting for IT, by email (a person is their email, whichever platform they use), scored by expiry. */
export const openKey = (store: Pick<Store, 'key'>, email: string) => store.key('requests', 'open', email.toLowerCase());
export const begunKey = (store: Pick<Store, 'key'>, action: string, ppId: string) => store.key('begun', action, ppId);

// Compare-and-set on the request's state, in one step on the Redis server: two approvers clicking at once on two
// replicas reach here together, and exactly one of them moves the request on.
// KEYS: request, all pending [, the requester's open ones]. ARGV: from, to, id, then field/value pairs.
const TRANSITION = `
local s = redis.call('HGET', KEYS[1], 'state')
if not s then return {'missing'} end
if s ~= ARGV[1] then
  return {s, unpack(redis.call('HMGET', KEYS[1], 'decidedBy', 'decidedAt', 'denyReason', 'decisionId', 'doneBy', 'doneAt'))}
end
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[1], 'state', ARGV[2])
if ARGV[1] == 'pending' then
  redis.call('ZREM', KEYS[2], ARGV[3])
  if KEYS[3] then redis.call('ZREM', KEYS[3], ARGV[3]) end
end
return {'ok'}
`;

// Files a request, in one step with counting its requester's open ones: two requests at once cannot both slip under the
// limit. KEYS: request, all pending, the requester's open ones (scored by expiry). ARGV: doc, now, expiresAt, id, limit
// (0: none), ttl, requester, createdAt.
const OPEN = `
if redis.call('HEXISTS', KEYS[1], 'doc') == 1 then return {'exists'} end
local limit = tonumber(ARGV[5])
if limit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[2])
  if redis.call('ZCARD', KEYS[3]) >= limit then return {'full', unpack(redis.call('ZRANGE', KEYS[3], 0, -1))} end
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
end
redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'state', 'pending', 'requester', ARGV[7])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('ZADD', KEYS[2], ARGV[8], ARGV[4])
return {'ok'}
`;

// Sets a flag on a request, only while it is kept: a flag alone would be a hash without a document. KEYS: request. ARGV: flag.
const MARK_IF_KEPT = `if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], '1') end return 0`;

const FIELDS = ['decidedBy', 'decidedAt', 'denyReason', 'decisionId', 'doneBy', 'doneAt'] as const;
const NUMERIC = new Set<string>(['decidedAt', 'doneAt']);

/** A decision from the hash's strings; empty ones are absent. */
function decisionOf(state: string, values: (string | null | undefined)[]): Decision {
  const d: Record<string, string | number> = { state };
  FIELDS.forEach((f, i) => {
    const v = values[i];
    if (v) d[f] = NUMERIC.has(f) ? Number(v) : v;
  });
  return d as unknown as Decision;
}

export class RedisApprovals implements ApprovalsRepository {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async file(request: StoredRequest & { payload: Sealed }, o: { limit: number; keepMs: number }): Promise<Filing> {
    const s = this.store;
    const email = request.requester.email.toLowerCase();
    const [outcome, ...open] = await s.script<string[]>(
      OPEN,
      [requestKey(s, request.id), pendingKey(s), openKey(s, email)],
      [JSON.stringify(request), this.clock.now(), request.expiresAt, request.id, o.limit, o.keepMs, email, request.createdAt],
    );
    if (outcome === 'full') return { outcome, open };
    return { outcome: outcome === 'exists' ? 'exists' : 'filed' };
  }

  async load(id: string): Promise<{ request: StoredRequest; decision: Decision } | undefined> {
    const h = await this.store.redis.hgetall(requestKey(this.store, id));
    if (!h.doc) return undefined;
    return { request: JSON.parse(h.doc) as StoredRequest, decision: decisionOf(h.state!, FIELDS.map((f) => h[f])) };
  }

  async transition(id: string, from: RequestState, to: RequestState, fields: DecisionFields): Promise<Transition> {
    const s = this.store;
    const args = Object.entries(fields).flatMap(([k, v]) => (v === undefined ? [] : [k, String(v)]));
    // Read before the step: the requester of a request never changes once filed.
    const requester = from === 'pending' ? await s.redis.hget(requestKey(s, id), 'requester') : null;
    const keys = [requestKey(s, id), pendingKey(s), ...(requester ? [openKey(s, requester)] : [])];
    const [state, ...values] = await s.script<(string | null)[]>(TRANSITION, keys, [from, to, id, ...args]);
    if (state === 'ok') return { ok: true };
    if (state === 'missing') return { ok: false, decision: undefined };
    return { ok: false, decision: decisionOf(state!, values) };
  }

  async expiryAudited(id: string): Promise<boolean> {
    return (await this.store.redis.hget(requestKey(this.store, id), 'expiryAudited')) !== null;
  }

  async markExpiryAudited(id: string): Promise<void> {
    await this.store.script(MARK_IF_KEPT, [requestKey(this.store, id)], ['expiryAudited']);
  }

  async pending(limit: number): Promise<{ ids: string[]; total: number; oldestAt?: number }> {
    const key = pendingKey(this.store);
    const r = this.store.redis;
    const [ids, total, oldest] = await Promise.all([
      limit > 0 ? r.zrange(key, '0', String(limit - 1)) : Promise.resolve([]),
      r.zcard(key),
      r.zrange(key, '0', '0', 'WITHSCORES'),
    ]);
    return { ids, total, ...(oldest[1] !== undefined ? { oldestAt: Number(oldest[1]) } : {}) };
  }

  async openCount(email: string): Promise<number> {
    return this.store.redis.zcount(openKey(this.store, email), `(${this.clock.now()}`, '+inf');
  }

  async markBegun(action: string, ppId: string, ttlMs: number): Promise<void> {
    await this.store.redis.set(begunKey(this.store, action, ppId), '1', 'PX', ttlMs);
  }

  async begun(action: string, ppId: string): Promise<boolean> {
    return (await this.store.redis.exists(begunKey(this.store, action, ppId))) === 1;
  }
}
