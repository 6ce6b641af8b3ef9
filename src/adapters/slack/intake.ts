// What POST /slack/events refuses at once: before its body is read (no signature, an old timestamp, too large), and
// once verified, a payload of a shape scicomp does not take (instead of a 500, or Bolt's 404 after 3 s).
import type { RequestHandler } from 'express';
import { lingerThenClose } from '../../http/linger.js';

/**
 * Slack's largest payloads are view submissions: at most 100 blocks, text inputs of up to 3000 characters, 3000 of
 * private metadata; URL-encoded, well under 1 MB. Bolt's own default (4 MB) is buffered before any signature check.
 */
export const SLACK_BODY_LIMIT = 1024 * 1024;

/** Bolt refuses a request signed longer ago than this; so does the check before the body is read. */
const MAX_AGE_S = 5 * 60;

/** Why a request cannot be genuine, told by its headers alone, or undefined. */
export function refusedByHeaders(headers: Record<string, string | string[] | undefined>, nowS = Date.now() / 1000): { status: number; why: string } | undefined {
  const signature = headers['x-slack-signature'];
  const timestamp = Number(headers['x-slack-request-timestamp']);
  if (typeof signature !== 'string' || !signature.startsWith('v0=')) return { status: 401, why: 'no Slack signature' };
  if (!Number.isFinite(timestamp) || Math.abs(nowS - timestamp) > MAX_AGE_S) return { status: 401, why: 'Slack request timestamp missing or too old' };
  if (Number(headers['content-length'] ?? 0) > SLACK_BODY_LIMIT) return { status: 413, why: 'body too large' };
  return undefined;
}

/**
 * Mounted on POST /slack/events ahead of Bolt: a request no signature can make genuine is answered without reading its
 * body; what it still sends is dropped for a while, then the connection is cut.
 */
export function refuseBeforeReading(onRefused: (status: number, why: string) => void): RequestHandler {
  return (req, res, next) => {
    const refused = refusedByHeaders(req.headers);
    if (!refused) return next();
    onRefused(refused.status, refused.why);
    lingerThenClose(req, res);
    res.status(refused.status).json({ error: refused.why });
  };
}

/** The payloads scicomp listens for. */
const TAKEN = new Set(['block_actions', 'view_submission', 'block_suggestion']);

/** Why a verified payload is not one scicomp takes, or undefined. */
export function malformedPayload(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return 'not a Slack payload';
  const b = body as { command?: unknown; type?: unknown; actions?: unknown; view?: unknown; action_id?: unknown };
  if (typeof b.command === 'string') return undefined;
  if (typeof b.type !== 'string' || !TAKEN.has(b.type)) return `a payload of type ${typeof b.type === 'string' ? JSON.stringify(b.type.slice(0, 40)) : 'none'} is not one scicomp takes`;
  if (b.type === 'block_actions') {
    const first = Array.isArray(b.actions) ? (b.actions[0] as { action_id?: unknown } | undefined) : undefined;
    if (typeof first?.action_id !== 'string') return 'block_actions with no action';
  }
  if (b.type === 'view_submission' && (typeof b.view !== 'object' || b.view === null)) return 'view_submission with no view';
  if (b.type === 'block_suggestion' && typeof b.action_id !== 'string') return 'block_suggestion with no action_id';
  return undefined;
}

/** A verified payload scicomp does not take: answered 400 by the receiver's error handler. */
export class MalformedPayloadError extends Error {
  override readonly name = 'MalformedPayloadError';
}
