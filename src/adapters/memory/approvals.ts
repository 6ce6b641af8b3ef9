// Approval requests in memory, with the semantics of the Redis ones (adapters/redis/approvals.ts): each step runs
// without yielding, so filing under the limit and deciding are atomic, and TTLs follow the injected clock.
import type { Clock } from '../../core/ports.js';
import type { ApprovalsRepository, Decision, DecisionFields, Filing, RequestState, StoredRequest, Transition } from '../../core/repositories/approvals.js';
import type { Sealed } from '../../core/sealed.js';
import { ExpiringMap } from './expiring-map.js';

interface Kept {
  request: StoredRequest;
  decision: Decision;
  /** Lower-cased; absent when the request is not counted against its requester. */
  requester: string;
  expiryAudited?: true;
}

const copy = <T>(v: T): T => structuredClone(v);

export class MemoryApprovals implements ApprovalsRepository {
  readonly requests: ExpiringMap<Kept>;
  /** Pending request ids and when each was filed. */
  private readonly pendingSince = new Map<string, number>();
  /** Each person's open requests (by lower-cased email) and when each expires. */
  private readonly open = new Map<string, Map<string, number>>();
  readonly marks: ExpiringMap<true>;

  constructor(private readonly clock: Clock) {
    this.requests = new ExpiringMap(clock);
    this.marks = new ExpiringMap(clock);
  }

  async file(request: StoredRequest & { payload: Sealed }, o: { limit: number; keepMs: number }): Promise<Filing> {
    if (this.requests.has(request.id)) return { outcome: 'exists' };
    const email = request.requester.email.toLowerCase();
    if (o.limit > 0) {
      const mine = this.openOf(email);
      if (mine.size >= o.limit) return { outcome: 'full', open: [...mine.entries()].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0])).map(([id]) => id) };
      mine.set(request.id, request.expiresAt);
      this.open.set(email, mine);
    }
    this.requests.set(request.id, { request: copy(request), decision: { state: 'pending' }, requester: email }, o.keepMs);
    this.pendingSince.set(request.id, request.createdAt);
    return { outcome: 'filed' };
  }

  /** A person's open requests, those past their expiry dropped. */
  private openOf(email: string): Map<string, number> {
    const now = this.clock.now();
    const mine = this.open.get(email) ?? new Map<string, number>();
    for (const [id, expiresAt] of mine) if (expiresAt <= now) mine.delete(id);
    return mine;
  }

  async load(id: string): Promise<{ request: StoredRequest; decision: Decision } | undefined> {
    const kept = this.requests.get(id);
    return kept && copy({ request: kept.request, decision: kept.decision });
  }

  async transition(id: string, from: RequestState, to: RequestState, fields: DecisionFields): Promise<Transition> {
    const kept = this.requests.get(id);
    if (!kept) return { ok: false, decision: undefined };
    if (kept.decision.state !== from) return { ok: false, decision: copy(kept.decision) };
    const set = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as DecisionFields;
    kept.decision = { ...kept.decision, ...set, state: to };
    if (from === 'pending') {
      this.pendingSince.delete(id);
      this.open.get(kept.requester)?.delete(id);
    }
    return { ok: true };
  }

  async expiryAudited(id: string): Promise<boolean> {
    return this.requests.get(id)?.expiryAudited === true;
  }

  async markExpiryAudited(id: string): Promise<void> {
    const kept = this.requests.get(id);
    if (kept) kept.expiryAudited = true;
  }

  async pending(limit: number): Promise<{ ids: string[]; total: number; oldestAt?: number }> {
    const all = [...this.pendingSince.entries()].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
    return { ids: all.slice(0, Math.max(0, limit)).map(([id]) => id), total: all.length, ...(all[0] ? { oldestAt: all[0][1] } : {}) };
  }

  async openCount(email: string): Promise<number> {
    return this.openOf(email.toLowerCase()).size;
  }

  async markBegun(action: string, ppId: string, ttlMs: number): Promise<void> {
    this.marks.set(`${action}:${ppId}`, true, ttlMs);
  }

  async begun(action: string, ppId: string): Promise<boolean> {
    return this.marks.has(`${action}:${ppId}`);
  }
}
