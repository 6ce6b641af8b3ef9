// AWS mutations (provision, update, terminate) from just before their call until their owner has heard how they ended.
import type { Sealed } from '../sealed.js';

/** One journaled mutation: what to call again (sealed: it may hold NoEcho values) and how far it got. */
export interface PendingMutation {
  id: string;
  sealed: Sealed;
  /** When it was first begun (ms since epoch); a retry keeps the first time. */
  startedAt: number;
  /** Set once Service Catalog has answered with its record. */
  recordId?: string;
  provisionedProductId?: string;
}

export interface MutationsRepository {
  /** Journals a mutation before its AWS call; a second begin of the same id (a retried job) keeps the first. */
  begin(id: string, sealed: Sealed, at: number): Promise<void>;
  /** The AWS call answered with this record. */
  recorded(id: string, recordId: string, provisionedProductId?: string): Promise<void>;
  /** The owner has heard how it ended, or it never reached AWS: nothing is left to reconcile. */
  settle(id: string): Promise<void>;
  pending(): Promise<PendingMutation[]>;
}
