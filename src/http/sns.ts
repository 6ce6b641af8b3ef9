// POST /sns: every message's signature is verified (SNS SignatureVersion 1 and 2, certificates only from SNS hosts) before
// anything else; subscriptions are confirmed only for our own topics; notifications are queued by MessageId and acked fast.
// Hand-written rather than sns-validator: it fetches certificates only with https.get into a module-wide cache, so tests
// cannot supply theirs, and it re-reads the PEM for every message.
import { createPublicKey, createVerify, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { z } from 'zod';

export const MAX_SNS_BYTES = 256 * 1024;

const common = {
  MessageId: z.string().min(1).max(100),
  TopicArn: z.string().regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/),
  Message: z.string(),
  Timestamp: z.string().min(1),
  SignatureVersion: z.enum(['1', '2']),
  Signature: z.string().min(1),
  SigningCertURL: z.string().url(),
};

export const snsMessage = z.discriminatedUnion('Type', [
  z.object({ Type: z.literal('Notification'), ...common, Subject: z.string().optional(), UnsubscribeURL: z.string().optional() }),
  z.object({ Type: z.literal('SubscriptionConfirmation'), ...common, SubscribeURL: z.string().url(), Token: z.string().min(1) }),
  z.object({ Type: z.literal('UnsubscribeConfirmation'), ...common, SubscribeURL: z.string().url(), Token: z.string().min(1) }),
]);

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
  if (!parsed.success) throw new SnsRejected(400, `not an SNS message: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

const SNS_CERT_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;

export class SnsVerifier {
  private readonly certs = new Map<string, Promise<KeyObject>>();

  constructor(
    private readonly opts: { fetchCert?: (url: string) => Promise<string>; certHost?: RegExp } = {},
  ) {}

  private async fetchCert(url: string): Promise<string> {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (res.status !== 200) throw new SnsRejected(403, `signing certificate answered ${res.status}`);
    return res.text();
  }

  /** The certificate's public key, fetched and parsed once per URL. */
  private cert(url: string): Promise<KeyObject> {
    let cert = this.certs.get(url);
    if (!cert) {
      cert = (this.opts.fetchCert ?? ((u: string) => this.fetchCert(u)))(url).then((pem) => createPublicKey(pem));
      // A failed fetch is not cached: the next message tries again.
      cert.catch(() => this.certs.delete(url));
      this.certs.set(url, cert);
    }
    return cert;
  }

  async verify(m: SnsMessage): Promise<void> {
    const url = new URL(m.SigningCertURL);
    if (url.protocol !== 'https:' || !(this.opts.certHost ?? SNS_CERT_HOST).test(url.hostname) || !url.pathname.endsWith('.pem')) {
      throw new SnsRejected(403, `signing certificate not from SNS: ${url.hostname}`);
    }
    let key: KeyObject;
    try {
      key = await this.cert(m.SigningCertURL);
    } catch (err) {
      throw err instanceof SnsRejected ? err : new SnsRejected(403, 'signing certificate could not be fetched');
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
}

/** A topic, once ours, stays ours (topics are only ever added): a positive answer is kept a while, saving a Redis call. */
const KNOWN_TOPIC_MS = 60_000;
const OK_BODY = '{"ok":true}';

/** What an oversized body may still send after its 413 before the connection is cut: a sender gets its answer, not a reset. */
const DRAIN_MAX = 4 * MAX_SNS_BYTES;

/** The body as text, or an SnsRejected(413) as soon as it passes the limit (by its Content-Length or by what arrives). */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => {
      // Read on and drop the rest, up to a point: then the connection is cut.
      let dropped = 0;
      req.removeAllListeners('data');
      req.on('data', (chunk: Buffer) => {
        dropped += chunk.length;
        if (dropped > DRAIN_MAX) req.destroy();
      });
      req.resume();
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
  // After a 413 the rest of the body is not wanted: the sender should not send another request on this connection.
  const close = status === 413 ? { connection: 'close' } : {};
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...close }).end(body);
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
      await deps.verifier.verify(m);
      if (!(await isKnown(m.TopicArn))) {
        deps.log.warn({ topicArn: m.TopicArn, type: m.Type, messageId: m.MessageId }, 'SNS message from a topic scicomp does not own; ignored');
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
      deps.log.warn({ status, reason: (err as Error).message }, 'SNS message refused');
      answer(res, status, JSON.stringify({ error: status === 500 ? 'internal error' : (err as Error).message }));
    }
  };
}
