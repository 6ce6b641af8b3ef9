// Approval requests: posted as threads in the approvals channel, decided exactly once by an approver, carried out by the bot.
import type { Actor, CoreDeps, Ctx } from './context.js';
import { isApprover as approves } from './directory.js';
import { NotAuthorizedError, NotFoundError, UserInputError } from './errors.js';
import { newRequestId } from './ids.js';
import type { LaunchPlan } from './launch.js';
import type { UpdatePlan } from './lifecycle.js';
import type { Field, Form, Message } from './message.js';
import type { Address, Platform } from './ports.js';
import { openJson, sealJson, type Sealed } from './sealed.js';

export type RequestKind = 'launch' | 'update' | 'transfer' | 'restore' | 'offboard';
export type RequestState = 'pending' | 'approved' | 'denied' | 'expired' | 'done';

export interface TransferPayload {
  provisionedProductId: string;
  name: string;
  productName: string;
  from: { userId: string; email: string; name: string };
  to: { userId: string; email: string; name: string; principal: string };
}

export interface RestorePayload {
  bucket: string;
  productName: string;
  terminatedAt: number;
}

export interface OffboardPayload {
  user: { userId: string; email: string; name: string };
}

export type RequestPayload =
  | { kind: 'launch'; plan: LaunchPlan }
  | { kind: 'update'; update: UpdatePlan }
  | { kind: 'transfer'; transfer: TransferPayload }
  | { kind: 'restore'; restore: RestorePayload }
  | { kind: 'offboard'; offboard: OffboardPayload };

export interface Requester {
  platform: Platform;
  userId: string;
  email: string;
  name: string;
}

export interface ApprovalRequest {
  id: string;
  requester: Requester;
  title: string;
  why: string;
  fields: Field[];
  impact: string;
  payload: RequestPayload;
  createdAt: number;
  expiresAt: number;
}

export interface Decision {
  state: RequestState;
  decidedBy?: string;
  decidedAt?: number;
  denyReason?: string;
}

// Compare-and-set on the request's state, in one step on the Redis server: two approvers clicking at once on two
// replicas reach here together, and exactly one of them moves the request on.
const TRANSITION = `
local s = redis.call('HGET', KEYS[1], 'state')
if not s then return {'missing'} end
if s ~= ARGV[1] then
  return {s, redis.call('HGET', KEYS[1], 'decidedBy') or '', redis.call('HGET', KEYS[1], 'decidedAt') or ''}
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
// (0: none), ttl, requester.
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
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
return {'ok'}
`;

const REQUEST_TTL_MS = 90 * 24 * 3600_000;

function requestKey(deps: Pick<CoreDeps, 'store'>, id: string): string {
  return deps.store.key('request', id);
}

export function pendingKey(deps: Pick<CoreDeps, 'store'>): string {
  return deps.store.key('requests', 'pending');
}

/** One person's requests waiting for IT, by email (a person is their email, whichever platform they use). */
function openKey(deps: Pick<CoreDeps, 'store'>, email: string): string {
  return deps.store.key('requests', 'open', email.toLowerCase());
}

export const parentKey = (id: string) => `request:${id}:parent`;

function approvalsChannel(deps: CoreDeps, platform: Platform): Address {
  const venues = deps.policy().approvalVenues();
  // The venue of the platform in use, else the first one (the console draws any channel).
  return { ...(venues.find((v) => v.platform === platform) ?? venues[0]!), platform };
}

function dm(r: Requester | { platform: Platform; userId: string }): Address {
  return { platform: r.platform, kind: 'user', userId: r.userId };
}

export function when(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export async function loadRequest(deps: Pick<CoreDeps, 'store' | 'sealer'>, id: string): Promise<{ request: ApprovalRequest; decision: Decision } | undefined> {
  const h = await deps.store.redis.hgetall(requestKey(deps, id));
  if (!h.doc) return undefined;
  const doc = JSON.parse(h.doc) as Omit<ApprovalRequest, 'payload'> & { payload: RequestPayload | Sealed };
  return {
    request: { ...doc, payload: (await openJson(deps.sealer, doc.payload))! },
    decision: {
      state: h.state as RequestState,
      decidedBy: h.decidedBy || undefined,
      decidedAt: h.decidedAt ? Number(h.decidedAt) : undefined,
      denyReason: h.denyReason || undefined,
    },
  };
}

/** Moves a request from one state to another atomically; returns the state that won when it was already decided. */
export async function transition(
  deps: Pick<CoreDeps, 'store'>,
  id: string,
  from: RequestState,
  to: RequestState,
  fields: Record<string, string>,
): Promise<{ ok: true } | { ok: false; decision: Decision | undefined }> {
  const args = Object.entries(fields).flat();
  const requester = from === 'pending' ? await deps.store.redis.hget(requestKey(deps, id), 'requester') : null;
  const keys = [requestKey(deps, id), pendingKey(deps), ...(requester ? [openKey(deps, requester)] : [])];
  const res = await deps.store.script<string[]>(TRANSITION, keys, [from, to, id, ...args]);
  if (res[0] === 'ok') return { ok: true };
  if (res[0] === 'missing') return { ok: false, decision: undefined };
  return { ok: false, decision: { state: res[0] as RequestState, decidedBy: res[1] || undefined, decidedAt: res[2] ? Number(res[2]) : undefined } };
}

/** Who clicked: enough to check approver membership before the full profile is looked up. */
export type Clicker = Pick<Actor, 'platform' | 'userId'>;

export async function isApprover(actor: Clicker, deps: CoreDeps): Promise<boolean> {
  return approves(actor, deps);
}

export async function requireApprover(actor: Clicker, deps: CoreDeps, what: string): Promise<void> {
  if (!(await isApprover(actor, deps))) throw new NotAuthorizedError(`Only members of the IT approver group can ${what}.`);
}

function parentMessage(r: ApprovalRequest, footer?: string, withButtons = true): Message {
  return {
    text: `${r.title} (requested by ${r.requester.name})`,
    title: r.title,
    tone: withButtons ? 'warning' : 'info',
    body: [`Why: ${r.why}`],
    fields: [{ label: 'Requested by', value: `${r.requester.name} (${r.requester.email})` }, ...r.fields, { label: 'Estimated impact', value: r.impact }],
    context: [footer ?? `Request ${r.id} · expires ${when(r.expiresAt)} · discuss in the thread`],
    actions: withButtons
      ? [
          { id: 'approve', label: 'Approve', value: r.id, style: 'primary' },
          { id: 'deny', label: 'Deny', value: r.id, style: 'danger' },
        ]
      : undefined,
  };
}

/** Files a request: the parent message with buttons in the approvals channel, a pending note to the requester, and its expiry. */
export async function openRequest(
  input: Omit<ApprovalRequest, 'id' | 'createdAt' | 'expiresAt'>,
  ctx: Ctx,
  deps: CoreDeps,
  scheduleExpiry: (id: string, atMs: number) => Promise<void>,
): Promise<Message> {
  // The id derives from the interaction, so a retried job files the same request once.
  const id = ctx.requestId.replace(/[^a-zA-Z0-9_-]/g, '_');
  const now = deps.clock.now();
  const request: ApprovalRequest = { ...input, id, createdAt: now, expiresAt: now + deps.policy().doc.approvals.expiryHours * 3600_000 };
  const email = input.requester.email;
  // Offboarding is IT's own work, not a person's ask: it is not counted against the approver who files it.
  const limit = input.payload.kind === 'offboard' ? 0 : deps.policy().doc.approvals.maxOpenPerUser;
  const [outcome, ...open] = await deps.store.script<string[]>(
    OPEN,
    [requestKey(deps, id), pendingKey(deps), openKey(deps, email)],
    // The payload is sealed: a launch or update plan may hold NoEcho values, which Redis keeps only encrypted with the bot's data key.
    [JSON.stringify({ ...request, payload: await sealJson(deps.sealer, request.payload) }), now, request.expiresAt, id, limit, REQUEST_TTL_MS, email],
  );
  if (outcome === 'full') throw await tooManyOpen(open, deps);
  const filed = (await loadRequest(deps, id))!.request;
  await deps.outbox.send({ key: parentKey(id), to: approvalsChannel(deps, ctx.actor.platform), message: parentMessage(filed) });
  await scheduleExpiry(id, filed.expiresAt);
  await deps.audit.append({ actor: `${ctx.actor.platform}:${ctx.actor.userId}`, action: `request.${filed.payload.kind}`, target: id, outcome: 'pending', requestId: id, parameters: Object.fromEntries(filed.fields.map((f) => [f.label, f.value])) });
  const pending: Message = {
    text: `${filed.title}: waiting for IT approval.`,
    tone: 'info',
    title: 'Sent to IT for approval',
    body: [`${filed.title}. Why: ${filed.why}.`, `I'll tell you here when it is decided; it expires ${when(filed.expiresAt)} if nobody does.`],
  };
  await deps.outbox.send({ key: `request:${id}:pending`, to: dm(filed.requester), message: pending, linkTo: parentKey(id) });
  return { text: `Request ${id} filed: ${filed.title}. IT will decide in the approvals channel; I've sent you the link.`, tone: 'info' };
}

/** The refusal of one request too many, naming those still waiting. */
async function tooManyOpen(ids: string[], deps: CoreDeps): Promise<UserInputError> {
  const open = await Promise.all(ids.map((id) => loadRequest(deps, id)));
  const list = open.flatMap((o) => (o ? [`${o.request.title} (request ${o.request.id}, expires ${when(o.request.expiresAt)})`] : []));
  return new UserInputError(
    `You have ${ids.length} requests waiting for IT, the most one person may have open: ${list.join('; ')}. Wait for a decision on one of them, or ask IT in the approvals channel.`,
  );
}

function decidedFooter(d: Decision, deciderName: string): string {
  const at = d.decidedAt ? when(d.decidedAt) : 'an unknown time';
  switch (d.state) {
    case 'approved':
    case 'done':
      return `Approved by ${deciderName} at ${at}`;
    case 'denied':
      return `Denied by ${deciderName} at ${at}${d.denyReason ? `: ${d.denyReason}` : ''}`;
    case 'expired':
      return `Expired at ${at} without a decision`;
    default:
      return 'Pending';
  }
}

/** A late or second click learns who decided and when, politely. */
async function alreadyDecided(id: string, d: Decision | undefined, deps: CoreDeps): Promise<Message> {
  if (!d) throw new NotFoundError(`There is no request ${id}.`);
  const who = d.decidedBy ? (await nameOf(d.decidedBy, deps)) : 'nobody';
  const footer = decidedFooter(d, who);
  return { text: `Request ${id} was already decided: ${footer.charAt(0).toLowerCase()}${footer.slice(1)}. Nothing more to do.`, tone: 'info' };
}

async function nameOf(label: string, deps: CoreDeps): Promise<string> {
  const [platform, userId] = label.split(':') as [Platform, string];
  if (!userId) return label;
  try {
    return (await deps.people.actor(platform, userId)).name;
  } catch {
    return userId;
  }
}

export interface Carrier {
  carryOut(id: string): Promise<void>;
}

/** The request, when this person may decide it; otherwise the refusal every decision path gives (approve, deny, its form). */
export async function mayDecide(id: string, who: Clicker, deps: CoreDeps): Promise<{ request: ApprovalRequest; decision: Decision }> {
  const found = await loadRequest(deps, id);
  if (!found) throw new NotFoundError(`There is no request ${id}.`);
  await requireApprover(who, deps, 'decide requests');
  const { request } = found;
  if (request.requester.userId === who.userId && request.requester.platform === who.platform) {
    throw new NotAuthorizedError('You cannot decide your own request; another approver must.');
  }
  if (request.payload.kind === 'transfer' && request.payload.transfer.to.userId === who.userId && request.requester.platform === who.platform) {
    throw new NotAuthorizedError('You cannot decide a transfer to yourself; another approver must.');
  }
  return found;
}

/**
 * A request still pending past its expiry (its expiry job is late: workers down or backlogged) is expired here, before
 * anyone can decide it, and the decision is refused.
 */
async function refuseIfExpired(found: { request: ApprovalRequest; decision: Decision }, deps: CoreDeps): Promise<void> {
  const { request, decision } = found;
  if (decision.state !== 'pending' || deps.clock.now() < request.expiresAt) return;
  await expire(request.id, deps);
  throw new UserInputError(
    `This request expired at ${when(request.expiresAt)}, before it was decided: nothing was approved or denied. ${request.requester.name} has been told to ask again if it is still needed.`,
  );
}

/** Before the deny form opens: a refusal is thrown, a request already decided answers who decided it, otherwise undefined. */
export async function denyCheck(id: string, who: Clicker, deps: CoreDeps): Promise<Message | undefined> {
  const found = await mayDecide(id, who, deps);
  await refuseIfExpired(found, deps);
  return found.decision.state === 'pending' ? undefined : alreadyDecided(id, found.decision, deps);
}

/** Approve or deny. Approval then hands the action to a job (`carry-out`) that performs it idempotently. */
export async function decide(
  id: string,
  verdict: 'approved' | 'denied',
  reason: string | undefined,
  ctx: Ctx,
  deps: CoreDeps,
  carrier: Carrier,
): Promise<Message> {
  const who = `${ctx.actor.platform}:${ctx.actor.userId}`;
  const found = await mayDecide(id, ctx.actor, deps);
  await refuseIfExpired(found, deps);
  const now = deps.clock.now();
  const fields: Record<string, string> = { decidedBy: who, decidedAt: String(now), decisionId: ctx.requestId };
  if (reason) fields.denyReason = reason;
  const moved = await transition(deps, id, 'pending', verdict, fields);
  if (!moved.ok) {
    // The same interaction retried after it won: carry on where it stopped.
    const again = await deps.store.redis.hget(requestKey(deps, id), 'decisionId');
    if (again !== ctx.requestId) return alreadyDecided(id, moved.decision, deps);
  }
  const { request } = found;
  const decision: Decision = { state: verdict, decidedBy: who, decidedAt: now, denyReason: reason };
  const footer = decidedFooter(decision, ctx.actor.name);
  await deps.audit.append({ actor: who, action: `decision.${verdict}`, target: id, parameters: reason ? { reason } : undefined, outcome: verdict, requestId: id });
  await deps.outbox.send({ key: `request:${id}:decided`, replaces: parentKey(id), to: approvalsChannel(deps, request.requester.platform), message: parentMessage(request, footer, false) });
  await deps.outbox.send({ key: `request:${id}:thread:decision`, threadOf: parentKey(id), to: approvalsChannel(deps, request.requester.platform), message: { text: footer, tone: verdict === 'approved' ? 'success' : 'warning' } });
  await deps.outbox.send({
    key: `request:${id}:requester:decision`,
    to: dm(request.requester),
    linkTo: parentKey(id),
    message:
      verdict === 'approved'
        ? { text: `Approved: ${request.title}. ${footer}.`, tone: 'success', body: ['I am carrying it out now and will report here.'] }
        : { text: `Denied: ${request.title}. ${footer}.`, tone: 'warning', body: reason ? [`Reason: ${reason}`] : undefined },
  });
  if (verdict === 'approved') await carrier.carryOut(id);
  return { text: `${verdict === 'approved' ? 'Approved' : 'Denied'} request ${id}.`, tone: 'success' };
}

/** An undecided request past its expiry: buttons go, the requester is told. Replaying a click afterwards changes nothing. */
export async function expire(id: string, deps: CoreDeps): Promise<boolean> {
  const moved = await transition(deps, id, 'pending', 'expired', { decidedAt: String(deps.clock.now()) });
  // Only expiry sets 'expired': a retry after a partial failure finds it and finishes the (keyed) sends and the audit entry.
  if (!moved.ok && moved.decision?.state !== 'expired') return false;
  const found = await loadRequest(deps, id);
  if (!found) return false;
  const footer = decidedFooter({ state: 'expired', decidedAt: found.decision.decidedAt ?? deps.clock.now() }, '');
  const to = approvalsChannel(deps, found.request.requester.platform);
  if (!(await deps.store.redis.hget(requestKey(deps, id), 'expiryAudited'))) {
    await deps.audit.append({ actor: 'scicomp', action: 'request.expired', target: id, outcome: 'expired', requestId: id });
    await deps.store.redis.hset(requestKey(deps, id), 'expiryAudited', '1');
  }
  await deps.outbox.send({ key: `request:${id}:decided`, replaces: parentKey(id), to, message: parentMessage(found.request, footer, false) });
  await deps.outbox.send({ key: `request:${id}:thread:expired`, threadOf: parentKey(id), to, message: { text: footer, tone: 'info' } });
  await deps.outbox.send({
    key: `request:${id}:requester:expired`,
    to: dm(found.request.requester),
    message: { text: `Your request expired without a decision: ${found.request.title}. Ask again if you still need it.`, tone: 'warning' },
  });
  return true;
}

export function denyForm(id: string): Form {
  return {
    id: 'deny',
    title: 'Deny request',
    submitLabel: 'Deny',
    intro: 'The reason goes to the requester.',
    inputs: [{ key: 'reason', label: 'Reason', kind: 'text' }],
    state: id,
  };
}

const PENDING_SHOWN = 50;

export async function pendingRequests(ctx: Ctx, deps: CoreDeps): Promise<Message> {
  await requireApprover(ctx.actor, deps, 'list pending requests');
  const [ids, total] = await Promise.all([deps.store.redis.zrange(pendingKey(deps), '0', String(PENDING_SHOWN - 1)), deps.store.redis.zcard(pendingKey(deps))]);
  if (ids.length === 0) return { text: 'No requests are waiting for a decision.', tone: 'info' };
  const fields: Field[] = [];
  for (const id of ids) {
    const found = await loadRequest(deps, id);
    if (!found) continue;
    const link = await deps.outbox.permalink(parentKey(id));
    fields.push({ label: found.request.title, value: `${found.request.requester.name} · since ${when(found.request.createdAt)} · expires ${when(found.request.expiresAt)}${link ? ` · ${link}` : ''}` });
  }
  const more = total - ids.length;
  return {
    text: `${total} request${total === 1 ? '' : 's'} waiting for a decision.`,
    title: 'Pending requests',
    fields,
    context: more > 0 ? [`…and ${more} more, oldest first; decide these to see the rest.`] : undefined,
  };
}

export { newRequestId };
