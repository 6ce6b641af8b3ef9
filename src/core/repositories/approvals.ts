// Approval requests as kept: filed under a per-person limit, decided exactly once, listed while pending, and the marks of
// carrying them out.
import type { LaunchPlan } from '../launch.js';
import type { UpdatePlan } from '../lifecycle.js';
import type { Field } from '../message.js';
import type { Address, Platform } from '../ports.js';
import type { Sealed } from '../sealed.js';

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

/** Who asked: the person (their email) and where to reach them. */
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
  /** The approvals channels it was posted in, one per platform; absent for one filed when there was only one. */
  venues?: Address[];
}

/** A request as kept: its payload sealed (a launch or update plan may hold NoEcho values), or in clear if filed before sealing. */
export type StoredRequest = Omit<ApprovalRequest, 'payload'> & { payload: RequestPayload | Sealed };

/** What a decision (or carrying one out) records beside the state. */
export interface DecisionFields {
  /** The decider's platform handle, `platform:userId`. */
  decidedBy?: string;
  decidedAt?: number;
  denyReason?: string;
  /** The interaction that decided: the same one retried carries on instead of being told it was already decided. */
  decisionId?: string;
  doneBy?: string;
  doneAt?: number;
}

export interface Decision extends DecisionFields {
  state: RequestState;
}

export type Filing = { outcome: 'filed' } | { outcome: 'exists' } | { outcome: 'full'; open: string[] };

export type Transition = { ok: true } | { ok: false; decision: Decision | undefined };

export interface ApprovalsRepository {
  /**
   * Files a request as pending, unless one with its id exists (`exists`: a retry), or its requester (by email, whatever
   * the case) already has `limit` open (`full`, with their ids). Atomic: two requests at once cannot both slip under the
   * limit. With `limit` 0 there is none, and the request is not counted against its requester. A request is open until
   * it leaves pending or its expiresAt passes; it is kept `keepMs`.
   */
  file(request: StoredRequest & { payload: Sealed }, o: { limit: number; keepMs: number }): Promise<Filing>;
  load(id: string): Promise<{ request: StoredRequest; decision: Decision } | undefined>;
  /**
   * Moves a request from `from` to `to`, recording `fields`, only while it is still `from`: two approvers clicking at
   * once on two replicas reach here together, and exactly one moves it on. Otherwise the decision that stands
   * (undefined: no such request). Leaving pending takes it off the pending list and its requester's open ones.
   */
  transition(id: string, from: RequestState, to: RequestState, fields: DecisionFields): Promise<Transition>;
  /** Whether its expiry is in the audit trail: a retried expiry does not write it twice. */
  expiryAudited(id: string): Promise<boolean>;
  markExpiryAudited(id: string): Promise<void>;
  /** The first `limit` pending requests, oldest first; how many are pending; when the oldest was filed. */
  pending(limit: number): Promise<{ ids: string[]; total: number; oldestAt?: number }>;
  /** How many requests this person has open (pending and not past expiry), counted under the limit. */
  openCount(email: string): Promise<number>;
  /**
   * Marks that carrying out `action` began on a provisioned product, for `ttlMs`: a retry of that very action carries on
   * instead of refusing a product its first attempt set changing.
   */
  markBegun(action: string, provisionedProductId: string, ttlMs: number): Promise<void>;
  begun(action: string, provisionedProductId: string): Promise<boolean>;
}
