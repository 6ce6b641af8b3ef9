// The sandbox account's Service Catalog state behind one interface: in memory for one process, or in Redis (redis-account.ts).
// Nothing here ever "finishes" a record: what a record did is derived from its start, its duration and the clock.
import type { RecordOutput, RecordStatus } from '../core/ports.js';

export type Operation = 'provision' | 'update' | 'terminate';

export interface SandboxRecord {
  id: string;
  type: string;
  operation: Operation | 'action' | 'properties';
  provisionedProductId: string;
  startedAt: number;
  durationMs: number;
  /** Set at creation: the record will end FAILED with this error. */
  fails?: string;
  outputs: RecordOutput[];
  actionName?: string;
}

export interface SandboxProvisioned {
  id: string;
  name: string;
  productId: string;
  versionId: string;
  pathId: string;
  parameters: Record<string, string>;
  tags: Record<string, string>;
  createdAt: number;
  owner?: string;
  generation: number;
  /** Every record of this product, oldest first. */
  records: SandboxRecord[];
  /** When its terminate record succeeds; from then on the product is gone. */
  terminatesAt?: number;
  /** Bumped by every change: a write based on an older revision is refused and redone. */
  rev: number;
}

/** What one atomic write claimed: its idempotency token, and for a provision the product's name. */
export interface Commit {
  /** `<operation>:<ProvisionToken>`: the same token returns the record it made the first time. */
  token: string;
  recordId: string;
  /** A provision claims its name (any case) unless a product of that name is still there at `now`. */
  claimName?: { now: number };
}

export type CommitResult = { ok: true } | { ok: false; reason: 'token'; recordId: string } | { ok: false; reason: 'name' } | { ok: false; reason: 'stale' };

export interface SandboxAccount {
  product(id: string): Promise<SandboxProvisioned | undefined>;
  /** The latest product given that name (any case), terminated or not. */
  productByName(name: string): Promise<SandboxProvisioned | undefined>;
  /** Every product ever provisioned, terminated ones included, oldest first. */
  products(): Promise<SandboxProvisioned[]>;
  /** The product a record belongs to. */
  productOfRecord(recordId: string): Promise<SandboxProvisioned | undefined>;
  /** The record an idempotency token made, if it was used. */
  tokenRecord(token: string): Promise<string | undefined>;
  /** Writes the product if nobody changed it since `rev - 1` (a new one has rev 1), with what it claims, all or nothing. */
  commit(pp: SandboxProvisioned, c: Commit): Promise<CommitResult>;
  /** Adds products made as if long ago (ids fixed by `i`), once: an account already seeded keeps what it has. */
  seed(count: number, make: (i: number) => SandboxProvisioned): Promise<void>;
}

export const nameKey = (name: string) => name.toLowerCase();

export function recordStatus(r: SandboxRecord, now: number): RecordStatus {
  const elapsed = now - r.startedAt;
  if (elapsed >= r.durationMs) return r.fails ? 'FAILED' : 'SUCCEEDED';
  return elapsed >= r.durationMs * 0.1 ? 'IN_PROGRESS' : 'CREATED';
}

export function isTerminated(pp: SandboxProvisioned, now: number): boolean {
  return pp.terminatesAt !== undefined && now >= pp.terminatesAt;
}

/** The records that have succeeded by `now`, in the order they ended. */
function succeeded(pp: SandboxProvisioned, now: number): SandboxRecord[] {
  return pp.records
    .map((r, i) => ({ r, i }))
    .filter(({ r }) => recordStatus(r, now) === 'SUCCEEDED')
    .sort((a, b) => a.r.startedAt + a.r.durationMs - (b.r.startedAt + b.r.durationMs) || a.i - b.i)
    .map(({ r }) => r);
}

export function lastSucceeded(pp: SandboxProvisioned, now: number): SandboxRecord | undefined {
  return succeeded(pp, now).at(-1);
}

export function instanceStateOf(pp: SandboxProvisioned, now: number): 'running' | 'stopped' {
  const action = succeeded(pp, now).filter((r) => r.operation === 'action').at(-1);
  return action?.actionName === 'AWS-StopEC2Instance' ? 'stopped' : 'running';
}

/** One process's account: Maps, each write whole within one turn of the event loop. */
export class MemorySandboxAccount implements SandboxAccount {
  private readonly byId = new Map<string, SandboxProvisioned>();
  private readonly byName = new Map<string, string>();
  private readonly byRecord = new Map<string, string>();
  private readonly tokens = new Map<string, string>();
  private seeded = 0;

  async product(id: string): Promise<SandboxProvisioned | undefined> {
    return this.byId.get(id);
  }

  async productByName(name: string): Promise<SandboxProvisioned | undefined> {
    const id = this.byName.get(nameKey(name));
    return id === undefined ? undefined : this.byId.get(id);
  }

  async products(): Promise<SandboxProvisioned[]> {
    return [...this.byId.values()];
  }

  async productOfRecord(recordId: string): Promise<SandboxProvisioned | undefined> {
    const id = this.byRecord.get(recordId);
    return id === undefined ? undefined : this.byId.get(id);
  }

  async tokenRecord(token: string): Promise<string | undefined> {
    return this.tokens.get(token);
  }

  async commit(pp: SandboxProvisioned, c: Commit): Promise<CommitResult> {
    const seen = this.tokens.get(c.token);
    if (seen) return { ok: false, reason: 'token', recordId: seen };
    if ((this.byId.get(pp.id)?.rev ?? 0) !== pp.rev - 1) return { ok: false, reason: 'stale' };
    if (c.claimName) {
      const holder = this.byId.get(this.byName.get(nameKey(pp.name)) ?? '');
      if (holder && holder.id !== pp.id && !isTerminated(holder, c.claimName.now)) return { ok: false, reason: 'name' };
      this.byName.set(nameKey(pp.name), pp.id);
    }
    this.byId.set(pp.id, pp);
    this.byRecord.set(c.recordId, pp.id);
    this.tokens.set(c.token, c.recordId);
    return { ok: true };
  }

  async seed(count: number, make: (i: number) => SandboxProvisioned): Promise<void> {
    for (let i = this.seeded; i < count; i++) this.add(make(i));
    this.seeded = Math.max(this.seeded, count);
  }

  private add(pp: SandboxProvisioned): void {
    this.byId.set(pp.id, pp);
    this.byName.set(nameKey(pp.name), pp.id);
    for (const r of pp.records) this.byRecord.set(r.id, pp.id);
  }
}
