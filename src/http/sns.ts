// POST /sns: every message's fields are checked for the shapes SNS gives them, its age against the replay window, and its
// signature (SNS SignatureVersion 1 and 2, certificates only from their canonical SNS URL) before anything else;
// subscriptions are confirmed only for our own topics; notifications are queued by MessageId and acked fast.
// Hand-written rather than sns-validator: it fetches certificates only with https.get into a module-wide cache, so tests
// cannot supply theirs, and it re-reads the PEM for every message.
import { createPublicKey, createVerify, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { z } from 'zod';
import { UpstreamError } from '../core/errors.js';
import { lingerThenClose } from './linger.js';
import { SANDBOX_CERT_HOST, SNS_CERT_URL, SnsCertificates, type CertificateOptions } from './sns-certs.js';

export const MAX_SNS_BYTES = 256 * 1024;
/** How old a message may be (SNS_MAX_AGE_MS): SNS stops retrying an HTTPS delivery within an hour. */
export const DEFAULT_SNS_MAX_AGE_MS = 3600_000;
/** How far ahead of our clock a message's Timestamp may be: clocks differ a little, never by this much. */
const MAX_AHEAD_MS = 5 * 60_000;

/** No line breaks or other control characters: each signed field is one line of the string SNS signs. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what it refuses
const oneLine = /^[^\x00-\x1f\x7f]*$/;

// Each field as SNS shapes it: a value that could carry a line break would let a signed string be read as other fields.
const common = {
  MessageId: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a UUID'),
  TopicArn: z.string().regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, 'must be an SNS topic ARN'),
  Message: z.string(),
  Timestamp: z.string().datetime({ error: 'must be an ISO-8601 UTC time, like 2026-11-23T10:03:13.001Z' }),
  SignatureVersion: z.enum(['1', '2'], { error: 'must be "1" or "2"' }),
  Signature: z.string().regex(/^[A-Za-z0-9+/]{1,2048}={0,2}$/, 'must be base64'),
  SigningCertURL: z.string().max(300, 'is too long'),
};
const token = z.string().regex(/^[0-9a-f]{32,2048}$/i, 'must be a hex string');
// eslint-disable-next-line no-control-regex -- control characters are exactly what it refuses
const subscribeUrl = z.string().url('must be a URL').regex(/^https:\/\/[^\s\x00-\x1f\x7f]+$/, 'must be an https URL on one line');

export const snsMessage = z.discriminatedUnion('Type', [
  z.object({ Type: z.literal('Notification'), ...common, Subject: z.string().max(256).regex(oneLine, 'must be one line').optional(), UnsubscribeURL: z.string().optional() }),
  z.object({ Type: z.literal('SubscriptionConfirmation'), ...common, SubscribeURL: subscribeUrl, Token: token }),
  z.object({ Type: z.literal('UnsubscribeConfirmation'), ...common, SubscribeURL: subscribeUrl, Token: token }),
], { error: (issue) => (issue.code === 'invalid_union' ? 'must be Notification, SubscriptionConfirmation or UnsubscribeConfirmation' : undefined) });

export type SnsMessage = z.output<typeof snsMessage>;

export class SnsRejected extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The canonical string SNS signs: each field as "Name\nvalue\n", in this order, Subject only when present. */
export function stringToSign(m: SnsMessage): string {
  const keys =
    m.Type === 'Notification'
      ? (['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] as const)
      : (['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'] as const);
  let out = '';
  for (const k of keys) {
    const v = (m as Record<string, string | undefined>)[k];
    if (v === undefined) continue;
    out += `${k}\n${String(v)}\n`;
  }
  return out;
}

export function parseSnsMessage(body: string): SnsMessage {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new SnsRejected(400, 'not JSON');
  }
  const parsed = snsMessage.safeParse(json);
  if (!parsed.success) throw new SnsRejected(400, `not an SNS message: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

export interface VerifierOptions extends CertificateOptions {
  /** Certificates (PEM) known without a fetch, by URL: the sandbox account's, in sandbox mode only. */
  trusted?: ReadonlyMap<string, string>;
}

/** Checks signatures against SNS's certificates, fetched from their canonical URL (see SnsCertificates). */
export class SnsVerifier {
  private readonly certs: SnsCertificates;
  private readonly trusted: Map<string, KeyObject>;

  constructor(opts: VerifierOptions = {}) {
    this.certs = new SnsCertificates(opts);
    this.trusted = new Map([...(opts.trusted ?? [])].map(([url, pem]) => [url, createPublicKey(pem)]));
  }

  /** Certificate URLs remembered, good and failed. */
  get cachedCertificates(): number {
    return this.certs.cached;
  }

  async verify(m: SnsMessage): Promise<void> {
    if (!SNS_CERT_URL.test(m.SigningCertURL)) {
      throw new SnsRejected(403, 'signing certificate URL is not of the form https://sns.<region>.amazonaws.com/SimpleNotificationService-<id>.pem');
    }
    let key: KeyObject | undefined = this.trusted.get(m.SigningCertURL);
    if (!key && new URL(m.SigningCertURL).host === SANDBOX_CERT_HOST) {
      throw new SnsRejected(403, 'signed by the sandbox account, which only a scicomp in sandbox mode on its Redis trusts');
    }
    try {
      key ??= await this.certs.key(m.SigningCertURL);
    } catch (err) {
      // A fault that may heal is a 503, which SNS retries; SNS takes a 4xx as final.
      const retryable = err instanceof UpstreamError ? err.retryable : true;
      throw new SnsRejected(retryable ? 503 : 403, err instanceof UpstreamError ? err.message : 'signing certificate could not be fetched');
    }
    const verifier = createVerify(m.SignatureVersion === '1' ? 'RSA-SHA1' : 'RSA-SHA256');
    verifier.update(stringToSign(m), 'utf8');
    let ok = false;
    try {
      ok = verifier.verify(key, m.Signature, 'base64');
    } catch {
      ok = false;
    }
    if (!ok) throw new SnsRejected(403, 'signature does not verify');
  }
}

export interface SnsHandlerDeps {
  verifier: SnsVerifier;
  /** Topics the bot owns or the configuration allows. */
  isKnownTopic: (topicArn: string) => Promise<boolean>;
  enqueue: (m: SnsMessage) => Promise<void>;
  log: Logger;
  /** How old a message may be (SNS_MAX_AGE_MS); DEFAULT_SNS_MAX_AGE_MS if unset. */
  maxAgeMs?: number;
  now?: () => number;
}

/** Refuses a message older than the replay window, or from further ahead than clocks differ: both before any fetch. */
export function checkAge(m: SnsMessage, now: number, maxAgeMs: number): void {
  const at = Date.parse(m.Timestamp);
  if (!Number.isFinite(at)) throw new SnsRejected(400, 'not an SNS message: Timestamp: is not a time');
  if (now - at > maxAgeMs) throw new SnsRejected(400, `message is older than the replay window (${Math.round(maxAgeMs / 1000)} s, SNS_MAX_AGE_MS)`);
  if (at - now > MAX_AHEAD_MS) throw new SnsRejected(400, 'message Timestamp is more than 5 minutes ahead of our clock');
}

/** A refusal is logged once a minute per reason, with how many went unlogged: a flood of forgeries is a line, not a line each. */
const REFUSAL_LOG_MS = 60_000;

function refusalLog(log: Logger): (reason: string, fields: Record<string, unknown>, msg: string) => void {
  const seen = new Map<string, { until: number; unlogged: number }>();
  return (reason, fields, msg) => {
    const now = Date.now();
    const last = seen.get(reason);
    if (last && last.until > now) {
      last.unlogged++;
      return;
    }
    if (seen.size >= 1000) seen.clear();
    seen.set(reason, { until: now + REFUSAL_LOG_MS, unlogged: 0 });
    log.warn({ ...fields, reason, ...(last?.unlogged ? { unlogged: last.unlogged } : {}) }, msg);
  };
}

/** A topic, once ours, stays ours (topics are only ever added): a positive answer is kept a while, saving a Redis call. */
const KNOWN_TOPIC_MS = 60_000;
const OK_BODY = '{"ok":true}';

/** The body as text, or an SnsRejected(413) as soon as it passes the limit (by its Content-Length or by what arrives). */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => {
      // Not read on: once the 413 is sent, what is left is dropped for a while, then the connection cut (lingerThenClose).
      req.removeAllListeners('data');
      req.pause();
      reject(new SnsRejected(413, 'message too large'));
    };
    if (Number(req.headers['content-length'] ?? 0) > limit) return tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return tooLarge();
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, size).toString('utf8')));
    req.on('error', reject);
  });
}

function answer(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent || res.destroyed) return;
  // After a 413 the rest of the body is not wanted: dropped for a while, then the connection is cut.
  if (status === 413) lingerThenClose(res.req, res);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
}

/** Whether a request is for POST /sns, as express routed it: any case, with or without a trailing slash or a query. */
export function isSnsRequest(method: string | undefined, url: string | undefined): boolean {
  if (method !== 'POST' || !url) return false;
  const path = url.split('?', 1)[0]!.toLowerCase();
  return path === '/sns' || path === '/sns/';
}

/**
 * POST /sns on node's own request and response: SNS bursts thousands of notifications, and this path is most of what
 * a web process spends on each (express's router and body parser cost more than verifying the signature).
 */
export function snsHandler(deps: SnsHandlerDeps) {
  const refused = refusalLog(deps.log);
  const maxAgeMs = deps.maxAgeMs ?? DEFAULT_SNS_MAX_AGE_MS;
  const known = new Map<string, number>();
  const isKnown = async (arn: string): Promise<boolean> => {
    const now = Date.now();
    if ((known.get(arn) ?? 0) > now) return true;
    const yes = await deps.isKnownTopic(arn);
    if (yes) {
      if (known.size >= 100_000) known.clear();
      known.set(arn, now + KNOWN_TOPIC_MS);
    }
    return yes;
  };
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const m = parseSnsMessage(await readBody(req, MAX_SNS_BYTES));
      checkAge(m, (deps.now ?? Date.now)(), maxAgeMs);
      await deps.verifier.verify(m);
      if (!(await isKnown(m.TopicArn))) {
        refused('unknown topic', { topicArn: m.TopicArn, type: m.Type, messageId: m.MessageId }, 'SNS message from a topic scicomp does not own; ignored');
        answer(res, 403, JSON.stringify({ error: 'unknown topic' }));
        return;
      }
      if (m.Type === 'UnsubscribeConfirmation') {
        deps.log.info({ topicArn: m.TopicArn }, 'SNS unsubscribed us from a topic');
      } else {
        await deps.enqueue(m);
      }
      answer(res, 200, OK_BODY);
    } catch (err) {
      const status = err instanceof SnsRejected ? err.status : 500;
      refused(`${status} ${(err as Error).message}`, { status }, 'SNS message refused');
      answer(res, status, JSON.stringify({ error: status === 500 ? 'internal error' : (err as Error).message }));
    }
  };
}
