// Confirmations a person is asked for before a destructive change (update, terminate): kept briefly, used by one click.
import type { UpdatePlan } from '../lifecycle.js';
import type { ProductKind } from '../ports.js';
import type { Sealed } from '../sealed.js';

export interface Confirmation {
  id: string;
  action: 'update' | 'terminate';
  /** The asker's platform handle. */
  requester: string;
  /** The asker: only they may confirm. */
  email: string;
  provisionedProductId: string;
  name: string;
  productId?: string;
  productName: string;
  versionId?: string;
  kind: ProductKind;
  parameters?: Record<string, string>;
  parameterKeys?: string[];
  /** NoEcho parameter keys: their values are masked in the audit trail. */
  secretKeys?: string[];
}

/** What a confirming click settled on just before its AWS call (an update's plan without its changes, or a termination). */
export type ConfirmationStart = Omit<UpdatePlan, 'parameters'> | { terminate: true };

export interface ConfirmationsRepository {
  /** Keeps a confirmation, sealed (an update's parameters may hold NoEcho values), for `ttlMs`. */
  save(id: string, confirmation: Sealed, ttlMs: number): Promise<void>;
  /** The confirmation as saved (in clear if saved before sealing existed); undefined once expired or used. */
  get(id: string): Promise<Confirmation | Sealed | undefined>;
  /**
   * Claims the confirmation for one click, for `ttlMs`: true for the first claimant and again for the same one (its job
   * retried), false for any other. The claim outlives `remove`, so a click that read the confirmation just before it
   * was used cannot claim it after.
   */
  claim(id: string, claimant: string, ttlMs: number): Promise<boolean>;
  /** Gives the claim back: the click was refused and changed nothing, so the confirmation may be clicked again. */
  release(id: string): Promise<void>;
  /** Records what the claiming click settled on, for `ttlMs`: a retry carries it on without re-checking the product. */
  start(id: string, started: ConfirmationStart, ttlMs: number): Promise<void>;
  started(id: string): Promise<ConfirmationStart | undefined>;
  /** Forgets the confirmation and what it started (not its claim): it has been used. */
  remove(id: string): Promise<void>;
}
