// The actor cache in Redis, shared by every replica: one JSON person per platform handle, expiring with Redis' own TTL.
import type { Handle, Person } from '../../core/context.js';
import type { ActorRepository } from '../../core/repositories/actors.js';
import type { Store } from './store.js';

export class RedisActors implements ActorRepository {
  constructor(private readonly store: Store) {}

  // `person:`, not the older `actor:` key: entries from before held no handles, and expire on their own.
  private key(h: Handle): string {
    return this.store.key('person', h.platform, h.userId);
  }

  get(handle: Handle): Promise<Person | undefined> {
    return this.store.getJson<Person>(this.key(handle));
  }

  save(handle: Handle, person: Person, ttlMs: number): Promise<void> {
    return this.store.setJson(this.key(handle), person, ttlMs);
  }
}
