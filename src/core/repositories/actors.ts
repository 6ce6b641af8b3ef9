// The actor cache: which person a platform handle belongs to, remembered for a while so commands skip a profile look-up.
import type { Handle, Person } from '../context.js';

export interface ActorRepository {
  /** The person this handle was resolved to, unless that has expired. */
  get(handle: Handle): Promise<Person | undefined>;
  /** Remembers the person behind a handle for `ttlMs`. */
  save(handle: Handle, person: Person, ttlMs: number): Promise<void>;
}
