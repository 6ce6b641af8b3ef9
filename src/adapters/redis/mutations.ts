// Journaled AWS mutations in Redis: one hash, a field per mutation, removed once its owner has heard the outcome.
import type { MutationsRepository, PendingMutation } from '../../core/repositories/mutations.js';
import type { Sealed } from '../../core/sealed.js';
import type { Store } from './store.js';

// Sets the record on a journaled mutation, unless it was settled meanwhile. KEYS: hash. ARGV: id, recordId, ppId.
const RECORDED = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local m = cjson.decode(raw)
m.recordId = ARGV[2]
if ARGV[3] ~= '' then m.provisionedProductId = ARGV[3] end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(m))
return 1
`;

export class RedisMutations implements MutationsRepository {
  private readonly key: string;

  constructor(private readonly store: Store) {
    this.key = store.key('mutations');
  }

  async begin(id: string, sealed: Sealed, at: number): Promise<void> {
    await this.store.redis.hsetnx(this.key, id, JSON.stringify({ id, sealed, startedAt: at } satisfies PendingMutation));
  }

  async recorded(id: string, recordId: string, provisionedProductId?: string): Promise<void> {
    await this.store.script(RECORDED, [this.key], [id, recordId, provisionedProductId ?? '']);
  }

  async settle(id: string): Promise<void> {
    await this.store.redis.hdel(this.key, id);
  }

  async pending(): Promise<PendingMutation[]> {
    return Object.values(await this.store.redis.hgetall(this.key)).map((v) => JSON.parse(v) as PendingMutation);
  }
}
