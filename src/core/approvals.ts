// Approval requests: posted as threads in every approvals venue, decided exactly once by an approver, carried out by the bot.
import type { Actor, CoreDeps, Ctx } from './context.js';
import { isApprover as approves } from './directory.js';
import { NotAuthorizedError, NotFoundError, UserInputError } from './errors.js';
import { newRequestId } from './ids.js';
import type { Field, Form, Message } from './message.js';
import type { Address, Platform } from './ports.js';
import type { ApprovalRequest, Decision, DecisionFields, RequestPayload, RequestState, Requester, Transition } from './repositories/approvals.js';
import { openJson, sealJson } from './sealed.js';

export type { ApprovalRequest, Decision, OffboardPayload, RequestKind, RequestPayload, RequestState, Requester, RestorePayload, TransferPayload } from './repositories/approvals.js';

/** How long a request is kept once filed: long after its decision, for the audit trail's links and late clicks. */
const REQUEST_KEEP_MS = 90 * 24 * 3600_000;

/**
 * The outbox key of one of a request's messages in one venue (`parent`, `decided`, `task`, …). Slack's keep the names
 * they had when Slack was the only venue, so requests filed before still find their messages.
 */
export function venueKey(id: string, what: string, platform: Platform): string {
  return platform === 'slack' ? `request:${id}:${what}` : `request:${id}:${what}:${platform}`;
}

/** The outbox key of a request's parent message (summary and buttons) in the venue on this platform. */
export const parentKey = (id: string, platform: Platform) => venueKey(id, 'parent', platform);

/**
 * Where a new request is posted: every approvals venue the policy names, one per platform. The console (one person
 * trying scicomp on their machine) shows requests there alone, as it always did.
 */
function venuesFor(platform: Platform, deps: CoreDeps): Address[] {
  const venues = deps.policy().approvalVenues();
  if (platform !== 'console') return venues;
  const channel = venues[0]?.kind === 'channel' ? venues[0].channel : 'approvals';
  return [{ platform, kind: 'channel', channel }];
}

/** The venues a request was posted in; one filed before there were several was posted on its requester's platform only. */
export function venuesOf(request: Pick<ApprovalRequest, 'venues' | 'requester'>, deps: CoreDeps): Address[] {
  if (request.venues) return request.venues;
  const all = venuesFor(request.requester.platform, deps);
  const own = all.filter((v) => v.platform === request.requester.platform);
  return own.length ? own : all;
}

/** The venue a person on this platform sees the request in: theirs if it has one, else the first. */
function venueFor(request: Pick<ApprovalRequest, 'venues' | 'requester'>, platform: Platform, deps: CoreDeps): Address | undefined {
  const venues = venuesOf(request, deps);
  return venues.find((v) => v.platform === platform) ?? venues[0];
}

/** The link to show a person on this platform for a request: its parent message in their venue. */
export function parentFor(request: Pick<ApprovalRequest, 'id' | 'venues' | 'requester'>, platform: Platform, deps: CoreDeps): string | undefined {
  const venue = venueFor(request, platform, deps);
  return venue && parentKey(request.id, venue.platform);
}

/**
 * Sends one message into every venue of a request, keyed there by `what`: as a new message, in place of the venue's
 * `replaces` message, or in the thread of its `threadOf` one (`parent`, `task`, …).
 */
export async function sendToVenues(
  request: Pick<ApprovalRequest, 'id' | 'venues' | 'requester'>,
  what: string,
  message: Message,
  deps: CoreDeps,
  o: { replaces?: string; threadOf?: string } = {},
): Promise<void> {
  for (const to of venuesOf(request, deps)) {
    const key = (w: string) => venueKey(request.id, w, to.platform);
    await deps.outbox.send({
      key: key(what),
      to,
      message,
      ...(o.replaces ? { replaces: key(o.replaces) } : {}),
      ...(o.threadOf ? { threadOf: key(o.threadOf) } : {}),
    });
  }
}

function dm(r: Requester | { platform: Platform; userId: string }): Address {
  return { platform: r.platform, kind: 'user', userId: r.userId };
}

export function when(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export async function loadRequest(deps: Pick<CoreDeps, 'approvals' | 'sealer'>, id: string): Promise<{ request: ApprovalRequest; decision: Decision } | undefined> {
  const found = await deps.approvals.load(id);
  if (!found) return undefined;
  return { request: { ...found.request, payload: (await openJson<RequestPayload>(deps.sealer, found.request.payload))! }, decision: found.decision };
}

/** Moves a request from one state to another atomically; returns the decision that stands when it was already moved. */
export function transition(deps: Pick<CoreDeps, 'approvals'>, id: string, from: RequestState, to: RequestState, fields: DecisionFields): Promise<Transition> {
  return deps.approvals.transition(id, from, to, fields);
}

/**
 * Who clicked: enough to check approver membership before the full profile is looked up. Their email, when known, is
 * who they are: it decides whether a request is their own whichever platform they click from.
 */
export type Clicker = Pick<Actor, 'platform' | 'userId'> & Partial<Pick<Actor, 'email'>>;

/** The same person: the same email, or (with no email to hand) the same handle on the same platform. */
function samePerson(a: { platform: Platform; userId: string; email?: string }, b: Clicker): boolean {
  if (a.email && b.email && a.email.toLowerCase() === b.email.toLowerCase()) return true;
  return a.platform === b.platform && a.userId === b.userId;
}

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

/**
 * Files a request: the parent message with buttons in every approvals venue, a pending note to the requester (with the
 * link to it in their platform's venue), and its expiry.
 */
export async function openRequest(
  input: Omit<ApprovalRequest, 'id' | 'createdAt' | 'expiresAt'>,
  ctx: Ctx,
  deps: CoreDeps,
  scheduleExpiry: (id: string, atMs: number) => Promise<void>,
): Promise<Message> {
  // The id derives from the interaction, so a retried job files the same request once.
  const id = ctx.requestId.replace(/[^a-zA-Z0-9_-]/g, '_');
  const now = deps.clock.now();
  const venues = venuesFor(input.requester.platform, deps);
  if (venues.length === 0) throw new UserInputError('IT approvals have no channel to be asked in: the catalog policy names none. Ask an admin to set one.');
  const request: ApprovalRequest = { ...input, id, createdAt: now, expiresAt: now + deps.policy().doc.approvals.expiryHours * 3600_000, venues };
  // Offboarding is IT's own work, not a person's ask: it is not counted against the approver who files it.
  const limit = input.payload.kind === 'offboard' ? 0 : deps.policy().doc.approvals.maxOpenPerUser;
  // The payload is sealed: a launch or update plan may hold NoEcho values, which are kept only encrypted with the bot's data key.
  const filing = await deps.approvals.file({ ...request, payload: await sealJson(deps.sealer, request.payload) }, { limit, keepMs: REQUEST_KEEP_MS });
  if (filing.outcome === 'full') throw await tooManyOpen(filing.open, deps);
  // A retry finds what its first attempt filed, and finishes its (keyed) sends.
  const filed = (await loadRequest(deps, id))!.request;
  await sendToVenues(filed, 'parent', parentMessage(filed), deps);
  await scheduleExpiry(id, filed.expiresAt);
  await deps.audit.append({ actor: `${ctx.actor.platform}:${ctx.actor.userId}`, action: `request.${filed.payload.kind}`, target: id, outcome: 'pending', requestId: id, parameters: Object.fromEntries(filed.fields.map((f) => [f.label, f.value])) });
  const pending: Message = {
    text: `${filed.title}: waiting for IT approval.`,
    tone: 'info',
    title: 'Sent to IT for approval',
    body: [`${filed.title}. Why: ${filed.why}.`, `I'll tell you here when it is decided; it expires ${when(filed.expiresAt)} if nobody does.`],
  };
  await deps.outbox.send({ key: `request:${id}:pending`, to: dm(filed.requester), message: pending, linkTo: parentFor(filed, filed.requester.platform, deps) });
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
  // `platform:userId`, where a user id may hold colons itself (Teams: `29:1a2b…`).
  const at = label.indexOf(':');
  const [platform, userId] = [label.slice(0, at) as Platform, label.slice(at + 1)];
  if (at < 0 || !userId) return label;
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
  if (samePerson(request.requester, who)) throw new NotAuthorizedError('You cannot decide your own request; another approver must.');
  if (request.payload.kind === 'transfer' && samePerson({ ...request.payload.transfer.to, platform: request.requester.platform }, who)) {
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
  const fields: DecisionFields = { decidedBy: who, decidedAt: now, decisionId: ctx.requestId, ...(reason ? { denyReason: reason } : {}) };
  const moved = await transition(deps, id, 'pending', verdict, fields);
  // Already decided, unless by this very interaction, retried after it won: that carries on where it stopped.
  if (!moved.ok && moved.decision?.decisionId !== ctx.requestId) return alreadyDecided(id, moved.decision, deps);
  const { request } = found;
  const decision: Decision = moved.ok ? { state: verdict, ...fields } : moved.decision!;
  const footer = decidedFooter(decision, ctx.actor.name);
  await deps.audit.append({ actor: who, action: `decision.${verdict}`, target: id, parameters: reason ? { reason } : undefined, outcome: verdict, requestId: id });
  // Every venue shows the decision, whichever it was made in.
  await sendToVenues(request, 'decided', parentMessage(request, footer, false), deps, { replaces: 'parent' });
  await sendToVenues(request, 'thread:decision', { text: footer, tone: verdict === 'approved' ? 'success' : 'warning' }, deps, { threadOf: 'parent' });
  await deps.outbox.send({
    key: `request:${id}:requester:decision`,
    to: dm(request.requester),
    linkTo: parentFor(request, request.requester.platform, deps),
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
  const moved = await transition(deps, id, 'pending', 'expired', { decidedAt: deps.clock.now() });
  // Only expiry sets 'expired': a retry after a partial failure finds it and finishes the (keyed) sends and the audit entry.
  if (!moved.ok && moved.decision?.state !== 'expired') return false;
  const found = await loadRequest(deps, id);
  if (!found) return false;
  const footer = decidedFooter({ state: 'expired', decidedAt: found.decision.decidedAt ?? deps.clock.now() }, '');
  if (!(await deps.approvals.expiryAudited(id))) {
    await deps.audit.append({ actor: 'scicomp', action: 'request.expired', target: id, outcome: 'expired', requestId: id });
    await deps.approvals.markExpiryAudited(id);
  }
  await sendToVenues(found.request, 'decided', parentMessage(found.request, footer, false), deps, { replaces: 'parent' });
  await sendToVenues(found.request, 'thread:expired', { text: footer, tone: 'info' }, deps, { threadOf: 'parent' });
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
  const { ids, total } = await deps.approvals.pending(PENDING_SHOWN);
  if (ids.length === 0) return { text: 'No requests are waiting for a decision.', tone: 'info' };
  const fields: Field[] = [];
  for (const id of ids) {
    const found = await loadRequest(deps, id);
    if (!found) continue;
    const parent = parentFor(found.request, ctx.actor.platform, deps);
    const link = parent && (await deps.outbox.permalink(parent));
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
