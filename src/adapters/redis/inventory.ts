// The inventory in Redis, shared by every replica: products by id, owner and name, replaced by snapshots in one step.
import { createHash } from 'node:crypto';
import type { Inventory, ReplaceOutcome } from '../../core/inventory.js';
import { ownerOf } from '../../core/ownership.js';
import type { ProvisionedProduct } from '../../core/ports.js';
import type { Store } from './store.js';

// Keys under <base> (ARGV[1]): products (id → JSON), owner-of and name-of (id → the index entries it is under),
// owner:<email> and name:<lowercase name> (sets of ids), touched (id → seq of the bot's last write to it), seq,
// lease (the mark of the snapshot under way) and synced (mark and time of the last snapshot applied).
// Index keys are derived in the scripts, as BullMQ's are: one Redis, not a cluster.
const INDEX = `
local base = ARGV[1]
local function unindex(id)
  local owner = redis.call('HGET', base .. ':owner-of', id)
  if owner and owner ~= '' then redis.call('SREM', base .. ':owner:' .. owner, id) end
  local name = redis.call('HGET', base .. ':name-of', id)
  if name then redis.call('SREM', base .. ':name:' .. name, id) end
end
local function put(id, owner, name, json)
  unindex(id)
  redis.call('HSET', base .. ':products', id, json)
  redis.call('HSET', base .. ':owner-of', id, owner)
  redis.call('HSET', base .. ':name-of', id, name)
  if owner ~= '' then redis.call('SADD', base .. ':owner:' .. owner, id) end
  redis.call('SADD', base .. ':name:' .. name, id)
end
local function drop(id)
  unindex(id)
  redis.call('HDEL', base .. ':products', id)
  redis.call('HDEL', base .. ':owner-of', id)
  redis.call('HDEL', base .. ':name-of', id)
end
local function touch(id)
  redis.call('HSET', base .. ':touched', id, redis.call('INCR', base .. ':seq'))
end
`;

/** ARGV: base, id, owner, name, json. */
const UPSERT = `${INDEX}
put(ARGV[2], ARGV[3], ARGV[4], ARGV[5])
touch(ARGV[2])
return 1`;

/** ARGV: base, id. */
const REMOVE = `${INDEX}
drop(ARGV[2])
touch(ARGV[2])
return 1`;

/** ARGV: base, owner:<email> or name:<name>. Members and their records in one step, so a snapshot never splits them. */
const MEMBERS = `
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', ARGV[1] .. ':' .. ARGV[2])) do
  out[#out + 1] = redis.call('HGET', ARGV[1] .. ':products', id)
end
return out`;

/** ARGV: base, leaseMs. */
const BEGIN = `
local base = ARGV[1]
if redis.call('EXISTS', base .. ':lease') == 1 then return false end
local mark = redis.call('INCR', base .. ':seq')
redis.call('SET', base .. ':lease', mark, 'PX', ARGV[2])
return mark`;

/** ARGV: base, mark, leaseMs. */
const HOLD = `
if redis.call('GET', ARGV[1] .. ':lease') ~= ARGV[2] then return 0 end
redis.call('PEXPIRE', ARGV[1] .. ':lease', ARGV[3])
return 1`;

/** ARGV: base, mark. */
const ABANDON = `
if redis.call('GET', ARGV[1] .. ':lease') == ARGV[2] then redis.call('DEL', ARGV[1] .. ':lease') end
return 1`;

/**
 * ARGV: base, mark, at, n, then id, owner, name, json for each of n products to write, then the ids to drop: the
 * difference between a snapshot and what was stored, applied in one step, so readers see the inventory before or after,
 * never half of it. Ids the bot wrote after `mark` keep the bot's newer view.
 */
const APPLY = `${INDEX}
local mark = tonumber(ARGV[2])
local lease = redis.call('GET', base .. ':lease')
if lease == ARGV[2] then redis.call('DEL', base .. ':lease') end
local applied = tonumber(redis.call('HGET', base .. ':synced', 'mark') or '0')
if applied > mark then return {0, 0, 0, 0, 0, redis.call('HLEN', base .. ':products')} end
local function newer(id)
  return tonumber(redis.call('HGET', base .. ':touched', id) or '0') > mark
end
local added, updated, removed, kept = 0, 0, 0, 0
local last = 4 + 4 * tonumber(ARGV[4])
for i = 5, last, 4 do
  local id = ARGV[i]
  if newer(id) then
    kept = kept + 1
  else
    if redis.call('HEXISTS', base .. ':products', id) == 1 then updated = updated + 1 else added = added + 1 end
    put(id, ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
  end
end
for i = last + 1, #ARGV do
  local id = ARGV[i]
  if newer(id) then kept = kept + 1 elseif redis.call('HEXISTS', base .. ':products', id) == 1 then drop(id); removed = removed + 1 end
end
local touched = redis.call('HGETALL', base .. ':touched')
for i = 1, #touched, 2 do
  if tonumber(touched[i + 1]) <= mark then redis.call('HDEL', base .. ':touched', touched[i]) end
end
redis.call('HSET', base .. ':synced', 'mark', mark, 'at', ARGV[3])
return {1, added, updated, removed, kept, redis.call('HLEN', base .. ':products')}`;

const SHAS = new Map<string, string>();

function entry(p: ProvisionedProduct): [string, string, string, string] {
  return [p.id, ownerOf(p) ?? '', p.name.toLowerCase(), JSON.stringify(p)];
}

function parsed(rows: (string | null)[]): ProvisionedProduct[] {
  return rows.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as ProvisionedProduct);
}

export class RedisInventory implements Inventory {
  private readonly base: string;

  constructor(private readonly store: Store) {
    this.base = store.key('inventory');
  }

  async byId(id: string): Promise<ProvisionedProduct | undefined> {
    const raw = await this.store.redis.hget(`${this.base}:products`, id);
    return raw === null ? undefined : (JSON.parse(raw) as ProvisionedProduct);
  }

  async byOwner(email: string): Promise<ProvisionedProduct[]> {
    return parsed(await this.store.script<(string | null)[]>(MEMBERS, [], [this.base, `owner:${email.toLowerCase()}`]));
  }

  async byName(name: string): Promise<ProvisionedProduct[]> {
    return parsed(await this.store.script<(string | null)[]>(MEMBERS, [], [this.base, `name:${name.toLowerCase()}`]));
  }

  async upsert(p: ProvisionedProduct): Promise<void> {
    const [, owner, name, json] = entry(p);
    await this.store.script(UPSERT, [], [this.base, p.id, owner, name, json]);
  }

  async remove(id: string): Promise<void> {
    await this.store.script(REMOVE, [], [this.base, id]);
  }

  async beginSnapshot(leaseMs: number): Promise<number | undefined> {
    const mark = await this.store.script<number | null>(BEGIN, [], [this.base, leaseMs]);
    return mark === null ? undefined : Number(mark);
  }

  async holdSnapshot(mark: number, leaseMs: number): Promise<boolean> {
    return (await this.store.script<number>(HOLD, [], [this.base, mark, leaseMs])) === 1;
  }

  async abandonSnapshot(mark: number): Promise<void> {
    await this.store.script(ABANDON, [], [this.base, mark]);
  }

  /**
   * Only the difference goes to Redis: what the snapshot changed since the stored copy was read (after `mark`, so an id
   * the script does not skip as newer has not changed since). A steady account costs Redis next to nothing.
   */
  async replaceAll(snapshot: ProvisionedProduct[], mark: number, at: number): Promise<ReplaceOutcome> {
    const stored = await this.store.redis.hgetall(`${this.base}:products`);
    const writes: string[] = [];
    const seen = new Set<string>();
    for (const p of snapshot) {
      seen.add(p.id);
      const e = entry(p);
      if (stored[p.id] !== e[3]) writes.push(...e);
    }
    const drops = Object.keys(stored).filter((id) => !seen.has(id));
    const [applied, added, updated, removed, kept, total] = await this.run<number[]>(APPLY, [this.base, String(mark), String(at), String(writes.length / 4), ...writes, ...drops]);
    return { applied: applied === 1, added: added!, updated: updated!, removed: removed!, kept: kept!, total: total! };
  }

  /** A script whose arguments may number in the tens of thousands: passed as one array, never spread onto the stack. */
  private async run<T>(lua: string, args: string[]): Promise<T> {
    let sha = SHAS.get(lua);
    if (!sha) SHAS.set(lua, (sha = createHash('sha1').update(lua).digest('hex')));
    try {
      return (await this.store.redis.evalsha(sha, 0, args)) as T;
    } catch (err) {
      if (!/NOSCRIPT/.test((err as Error).message)) throw err;
      return (await this.store.redis.eval(lua, 0, args)) as T;
    }
  }

  async syncedAt(): Promise<number | undefined> {
    const at = await this.store.redis.hget(`${this.base}:synced`, 'at');
    return at === null ? undefined : Number(at);
  }
}
