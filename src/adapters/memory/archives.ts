// Archives in memory: each person's terminated buckets, by lower-cased email.
import type { ArchivedBucket, ArchivesRepository } from '../../core/repositories/archives.js';

export class MemoryArchives implements ArchivesRepository {
  private readonly archives = new Map<string, Map<string, ArchivedBucket>>();

  async add(email: string, bucket: string, entry: ArchivedBucket): Promise<void> {
    const key = email.toLowerCase();
    const archive = this.archives.get(key) ?? new Map<string, ArchivedBucket>();
    archive.set(bucket, structuredClone(entry));
    this.archives.set(key, archive);
  }

  async get(email: string, bucket: string): Promise<ArchivedBucket | undefined> {
    const entry = this.archives.get(email.toLowerCase())?.get(bucket);
    return entry && structuredClone(entry);
  }

  async remove(email: string, bucket: string): Promise<void> {
    this.archives.get(email.toLowerCase())?.delete(bucket);
  }
}
