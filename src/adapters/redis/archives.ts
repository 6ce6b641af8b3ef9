// Archives in Redis: a hash per person (by lower-cased email) of their terminated buckets.
import type { ArchivedBucket, ArchivesRepository } from '../../core/repositories/archives.js';
import type { Store } from './store.js';

export const archiveKey = (store: Pick<Store, 'key'>, email: string) => store.key('archive', email.toLowerCase());
/** Where an archive was kept before emails were lower-cased: still read, so a bucket archived then stays restorable. */
const asGivenKey = (store: Pick<Store, 'key'>, email: string) => store.key('archive', email);

export class RedisArchives implements ArchivesRepository {
  constructor(private readonly store: Store) {}

  async add(email: string, bucket: string, entry: ArchivedBucket): Promise<void> {
    await this.store.redis.hset(archiveKey(this.store, email), bucket, JSON.stringify(entry));
  }

  async get(email: string, bucket: string): Promise<ArchivedBucket | undefined> {
    const r = this.store.redis;
    const raw = (await r.hget(archiveKey(this.store, email), bucket)) ?? (email !== email.toLowerCase() ? await r.hget(asGivenKey(this.store, email), bucket) : null);
    return raw === null ? undefined : (JSON.parse(raw) as ArchivedBucket);
  }

  async remove(email: string, bucket: string): Promise<void> {
    const batch = this.store.redis.multi().hdel(archiveKey(this.store, email), bucket);
    if (email !== email.toLowerCase()) batch.hdel(asGivenKey(this.store, email), bucket);
    await batch.exec();
  }
}
