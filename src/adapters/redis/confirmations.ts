// Confirmations in Redis: the sealed confirmation, its claim (which click uses it) and what that click started, each
// a key expiring with the confirmation.
import type { Confirmation, ConfirmationStart, ConfirmationsRepository } from '../../core/repositories/confirmations.js';
import type { Sealed } from '../../core/sealed.js';
import type { Store } from './store.js';

export const confirmationKey = (store: Pick<Store, 'key'>, id: string) => store.key('confirm', id);
const claimKey = (store: Pick<Store, 'key'>, id: string) => `${confirmationKey(store, id)}:claim`;
const startedKey = (store: Pick<Store, 'key'>, id: string) => `${confirmationKey(store, id)}:started`;

// Claims for a claimant, or finds it already theirs, in one step. KEYS: claim. ARGV: claimant, ttl.
const CLAIM = `
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0
`;

export class RedisConfirmations implements ConfirmationsRepository {
  constructor(private readonly store: Store) {}

  async save(id: string, confirmation: Sealed, ttlMs: number): Promise<void> {
    await this.store.setJson(confirmationKey(this.store, id), confirmation, ttlMs);
  }

  async get(id: string): Promise<Confirmation | Sealed | undefined> {
    return this.store.getJson<Confirmation | Sealed>(confirmationKey(this.store, id));
  }

  async claim(id: string, claimant: string, ttlMs: number): Promise<boolean> {
    return (await this.store.script<number>(CLAIM, [claimKey(this.store, id)], [claimant, ttlMs])) === 1;
  }

  async release(id: string): Promise<void> {
    await this.store.del(claimKey(this.store, id));
  }

  async start(id: string, started: ConfirmationStart, ttlMs: number): Promise<void> {
    await this.store.setJson(startedKey(this.store, id), started, ttlMs);
  }

  async started(id: string): Promise<ConfirmationStart | undefined> {
    return this.store.getJson<ConfirmationStart>(startedKey(this.store, id));
  }

  async remove(id: string): Promise<void> {
    await this.store.del(confirmationKey(this.store, id), startedKey(this.store, id));
  }
}
