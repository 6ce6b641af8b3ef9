// The audit trail: an append-only Redis stream of every command, decision and AWS mutation, capped by length.
import type { AuditEntry, AuditLog, StoredAuditEntry } from '../../core/context.js';
import type { Clock } from '../../core/ports.js';
import type { Store } from './store.js';

const SECRET_KEY = /secret|token|password|webhook|credential/i;

export type { StoredAuditEntry };

export function redact(parameters: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!parameters) return undefined;
  return Object.fromEntries(Object.entries(parameters).map(([k, v]) => [k, SECRET_KEY.test(k) ? '[redacted]' : v]));
}

export class RedisAudit implements AuditLog {
  readonly key: string;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    /** Approximate trimming (~) keeps at least this many entries: the cap never cuts below it. */
    private readonly maxLength = 100_000,
  ) {
    this.key = store.key('audit');
  }

  async append(entry: AuditEntry): Promise<void> {
    const record = { ...entry, parameters: redact(entry.parameters), time: new Date(this.clock.now()).toISOString() };
    await this.store.redis.xadd(this.key, 'MAXLEN', '~', String(this.maxLength), '*', 'entry', JSON.stringify(record));
  }

  /** Newest first. */
  async recent(count: number, filter: (e: StoredAuditEntry) => boolean = () => true): Promise<StoredAuditEntry[]> {
    const out: StoredAuditEntry[] = [];
    let end = '+';
    while (out.length < count) {
      const batch = await this.store.redis.xrevrange(this.key, end, '-', 'COUNT', 500);
      if (batch.length === 0) break;
      for (const [id, fields] of batch) {
        const e = { id, ...(JSON.parse(fields[1] ?? '{}') as Omit<StoredAuditEntry, 'id'>) };
        if (filter(e)) out.push(e);
        if (out.length >= count) break;
      }
      end = `(${batch[batch.length - 1]![0]}`;
    }
    return out;
  }

  /** When the oldest entry still kept was written (ms), or undefined for an empty trail: earlier ones were trimmed. */
  async oldestMs(): Promise<number | undefined> {
    const [first] = await this.store.redis.xrange(this.key, '-', '+', 'COUNT', 1);
    return first ? Number(first[0].split('-')[0]) : undefined;
  }

  async *since(fromMs: number): AsyncGenerator<StoredAuditEntry> {
    let start = `${fromMs}-0`;
    for (;;) {
      const batch = await this.store.redis.xrange(this.key, start, '+', 'COUNT', 1000);
      if (batch.length === 0) return;
      for (const [id, fields] of batch) yield { id, ...(JSON.parse(fields[1] ?? '{}') as Omit<StoredAuditEntry, 'id'>) };
      start = `(${batch[batch.length - 1]![0]}`;
    }
  }
}
