// Each person's archive: the buckets they terminated, which IT may restore within the archive's 30 days.
export interface ArchivedBucket {
  /** When its termination settled (ms since epoch). */
  terminatedAt: number;
  productName: string;
  provisionedProductId?: string;
}

export interface ArchivesRepository {
  /** Records a terminated bucket in its owner's archive; emails compare without case. A bucket archived again replaces it. */
  add(email: string, bucket: string, entry: ArchivedBucket): Promise<void>;
  get(email: string, bucket: string): Promise<ArchivedBucket | undefined>;
  /** Restored: it is live again and no longer in the archive. */
  remove(email: string, bucket: string): Promise<void>;
}
