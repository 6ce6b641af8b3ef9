// The sandbox account's Service Catalog state in Redis under `<prefix>:sandbox:`, shared by every process on that Redis and
// kept across restarts: products as JSON in one hash, indexes of records, tokens and names beside it, each write one script.
import type { Redis } from 'ioredis';
import { Store } from '../adapters/redis/store.js';
import { nameKey, type Commit, type CommitResult, type SandboxAccount, type SandboxProvisioned } from './account.js';

/** Seeded products are written this many to a round trip. */
const SEED_BATCH = 1000;

/**
 * Writes a product if its revision is the one it was read at, with its record, its token and (for a provision) its name,
 * all or nothing. A token already used answers its record; a name held by a product not yet terminated at `now` refuses.
 * KEYS: products, records, tokens, names. ARGV: product id, rev, product JSON, record id, token, name or '', now.
 */
const COMMIT = `
local seen = redis.call('HGET', KEYS[3], ARGV[5])
if seen then return {'token', seen} end
local rev = tonumber(ARGV[2])
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  if cjson.decode(current).rev ~= rev - 1 then return {'stale'} end
elseif rev ~= 1 then
  return {'stale'}
end
if ARGV[6] ~= '' then
  local holder = redis.call('HGET', KEYS[4], ARGV[6])
  if holder and holder ~= ARGV[1] then
    local other = redis.call('HGET', KEYS[1], holder)
    if other then
      local ends = cjson.decode(other).terminatesAt
      if type(ends) ~= 'number' or ends > tonumber(ARGV[7]) then return {'name'} end
    end
  end
  redis.call('HSET', KEYS[4], ARGV[6], ARGV[1])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[4], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[5], ARGV[4])
return {'ok'}
`;

/** The product an index (records or names) points at. KEYS: the index, products. ARGV: the index's field. */
const THROUGH = `
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return false end
return redis.call('HGET', KEYS[2], id)
`;

export class RedisSandboxAccount implements SandboxAccount {
  private readonly store: Store;

  /** `prefix` is scicomp's own (SCICOMP_PREFIX); the account lives under `<prefix>:sandbox:`. */
  constructor(redis: Redis, prefix: string) {
    this.store = new Store(redis, `${prefix}:sandbox`);
  }

  private get keys() {
    const k = (name: string) => this.store.key(name);
    return { products: k('products'), records: k('records'), tokens: k('tokens'), names: k('names'), seeded: k('seeded') };
  }

  private static parse(raw: string | null | undefined): SandboxProvisioned | undefined {
    return raw ? (JSON.parse(raw) as SandboxProvisioned) : undefined;
  }

  async product(id: string): Promise<SandboxProvisioned | undefined> {
    return RedisSandboxAccount.parse(await this.store.redis.hget(this.keys.products, id));
  }

  async productByName(name: string): Promise<SandboxProvisioned | undefined> {
    return RedisSandboxAccount.parse(await this.store.script<string | null>(THROUGH, [this.keys.names, this.keys.products], [nameKey(name)]));
  }

  async products(): Promise<SandboxProvisioned[]> {
    const all = Object.values(await this.store.redis.hgetall(this.keys.products)).map((raw) => JSON.parse(raw) as SandboxProvisioned);
    const byText = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
    return all.sort((a, b) => a.createdAt - b.createdAt || byText(a.name, b.name) || byText(a.id, b.id));
  }

  async productOfRecord(recordId: string): Promise<SandboxProvisioned | undefined> {
    return RedisSandboxAccount.parse(await this.store.script<string | null>(THROUGH, [this.keys.records, this.keys.products], [recordId]));
  }

  async tokenRecord(token: string): Promise<string | undefined> {
    return (await this.store.redis.hget(this.keys.tokens, token)) ?? undefined;
  }

  async commit(pp: SandboxProvisioned, c: Commit): Promise<CommitResult> {
    const k = this.keys;
    const [outcome, recordId] = await this.store.script<[string, string?]>(
      COMMIT,
      [k.products, k.records, k.tokens, k.names],
      [pp.id, pp.rev, JSON.stringify(pp), c.recordId, c.token, c.claimName ? nameKey(pp.name) : '', c.claimName?.now ?? 0],
    );
    if (outcome === 'ok') return { ok: true };
    if (outcome === 'token') return { ok: false, reason: 'token', recordId: recordId! };
    return { ok: false, reason: outcome === 'name' ? 'name' : 'stale' };
  }

  async seed(count: number, make: (i: number) => SandboxProvisioned): Promise<void> {
    const k = this.keys;
    const done = Number((await this.store.redis.get(k.seeded)) ?? 0);
    // Two processes starting together write the same products (ids fixed by their place): the first write stays.
    for (let from = done; from < count; from += SEED_BATCH) {
      const batch = this.store.redis.multi();
      for (let i = from; i < Math.min(count, from + SEED_BATCH); i++) {
        const pp = make(i);
        batch.hsetnx(k.products, pp.id, JSON.stringify(pp)).hsetnx(k.names, nameKey(pp.name), pp.id);
        for (const r of pp.records) batch.hsetnx(k.records, r.id, pp.id);
      }
      await batch.exec();
    }
    if (count > done) await this.store.redis.set(k.seeded, String(count));
  }
}
