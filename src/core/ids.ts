// Stable ids: request ids from platform triggers, and AWS idempotency tokens derived from them.
import { createHash, randomBytes } from 'node:crypto';

/** A request id that is the same every time the same platform trigger is seen (a retried delivery). */
export function requestIdFrom(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 24);
}

export function newRequestId(): string {
  return randomBytes(18).toString('base64url');
}

/** Service Catalog tokens allow [a-zA-Z0-9_-]{1,128}; base64url ids already fit. */
export function awsToken(purpose: string, requestId: string): string {
  return `${purpose}-${requestId}`.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 128);
}

export function shortSuffix(requestId: string): string {
  return createHash('sha256').update(requestId).digest('hex').slice(0, 6);
}
