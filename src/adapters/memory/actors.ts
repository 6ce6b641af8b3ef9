// The actor cache in one process's memory, for core scenarios and the console.
import type { Handle, Person } from '../../core/context.js';
import type { Clock } from '../../core/ports.js';
import type { ActorRepository } from '../../core/repositories/actors.js';
import { ExpiringMap } from './expiring-map.js';

export class MemoryActors implements ActorRepository {
  private readonly people: ExpiringMap<Person>;

  constructor(clock: Clock) {
    this.people = new ExpiringMap(clock);
  }

  async get(h: Handle): Promise<Person | undefined> {
    // A copy, as Redis hands out: changing what it returned changes nothing stored.
    const person = this.people.get(`${h.platform}:${h.userId}`);
    return person && structuredClone(person);
  }

  async save(h: Handle, person: Person, ttlMs: number): Promise<void> {
    this.people.set(`${h.platform}:${h.userId}`, person, ttlMs);
  }
}
