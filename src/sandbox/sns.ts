// The sandbox account's SNS: signs with a certificate of its own (one per Redis, made once) and delivers to HTTP(S) endpoints
// on this machine as SNS would: subscription confirmations, and the alarms and budget alerts a tester publishes
// (POST /sandbox/publish, or `sandbox alarm …` in the console).
import { createHash, createSign, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ALARM_KINDS, alarmName } from '../core/alarm-names.js';
import { budgetName } from '../core/alerts.js';
import { isUserFacing, NotFoundError, UserInputError } from '../core/errors.js';
import type { AlarmKind, Clock } from '../core/ports.js';
import { stringToSign, type SnsMessage } from '../http/sns.js';
import { SANDBOX_CERT_HOST } from '../http/sns-certs.js';
import { isTerminated, type SandboxAccount } from './account.js';
import { selfSignedCertificate } from './certificate.js';
import { alarmNotification, budgetNotification } from './notifications.js';
import type { RedisSandboxAlarms, RedisSandboxBudgets, RedisSandboxTopics } from './redis-alerts.js';

export interface SnsSigner {
  /** Where the certificate says it is: a canonical SNS URL on a host no AWS region has, so nothing fetches it. */
  certUrl: string;
  cert: string;
  key: string;
}

/**
 * The sandbox SNS's key and certificate, the same in every process on this Redis: made by the first to ask (SET NX) and
 * read by the others. A sandbox key signs only the sandbox's own fake notifications, which only sandbox mode trusts.
 */
export async function loadSigner(redis: Redis, prefix: string): Promise<SnsSigner> {
  const key = `${prefix}:sandbox:sns-signer`;
  let raw = await redis.get(key);
  if (!raw) {
    await redis.set(key, JSON.stringify(selfSignedCertificate('sns.amazonaws.com', 3650)), 'NX');
    raw = (await redis.get(key))!;
  }
  const made = JSON.parse(raw) as { key: string; cert: string };
  const id = createHash('sha256').update(made.cert).digest('hex').slice(0, 32);
  return { ...made, certUrl: `https://${SANDBOX_CERT_HOST}/SimpleNotificationService-${id}.pem` };
}

export type Unsigned = Omit<SnsMessage, 'Signature' | 'SignatureVersion' | 'SigningCertURL'>;

/** Signs as SNS does with SignatureVersion 2: RSA-SHA256 over the canonical string of the message's fields. */
export function signMessage(m: Unsigned, signer: SnsSigner): SnsMessage {
  const draft = { ...m, SignatureVersion: '2', SigningCertURL: signer.certUrl, Signature: '' } as SnsMessage;
  const s = createSign('RSA-SHA256');
  s.update(stringToSign(draft), 'utf8');
  return { ...draft, Signature: s.sign(signer.key, 'base64') };
}

/** Addresses of this machine: the only ones POST /sandbox/publish answers, and the only endpoints the sandbox SNS reaches. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.replace(/^\[|\]$/g, '').toLowerCase();
  return a === '::1' || a === 'localhost' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

export const publishRequest = z
  .object({
    topicArn: z.string().regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, 'must be an SNS topic ARN').optional(),
    email: z.string().email('must be an email address').optional(),
    kind: z.enum(['alarm', 'budget'], { error: 'must be "alarm" or "budget"' }),
    product: z.string().min(1).max(255).optional(),
    alarm: z.enum(ALARM_KINDS as [AlarmKind, ...AlarmKind[]], { error: `must be one of ${ALARM_KINDS.join(', ')}` }).default('cpu-idle'),
    state: z.enum(['ALARM', 'OK'], { error: 'must be "ALARM" or "OK"' }).default('ALARM'),
  })
  .strict();

export type PublishRequest = z.input<typeof publishRequest>;

export interface Published {
  messageId: string;
  topicArn: string;
  subject: string;
  /** What the bot's POST /sns answered. */
  status: number;
  answer: string;
}

export interface SandboxSnsDeps {
  signer: SnsSigner;
  account: SandboxAccount;
  topics: RedisSandboxTopics;
  alarms: RedisSandboxAlarms;
  budgets: RedisSandboxBudgets;
  clock: Clock;
  accountId: string;
  region: string;
  log?: Logger;
  fetch?: typeof fetch;
}

const DELIVERY_TIMEOUT_MS = 5000;
const MAX_REQUEST_BYTES = 16 * 1024;

export class SandboxSns {
  constructor(private readonly deps: SandboxSnsDeps) {}

  /** POSTs a signed message to an endpoint as SNS's HTTP(S) delivery does; answers the endpoint's status and body. */
  private async deliver(endpoint: string, m: SnsMessage): Promise<{ status: number; answer: string }> {
    const res = await (this.deps.fetch ?? fetch)(endpoint, {
      method: 'POST',
      body: JSON.stringify(m),
      headers: {
        'content-type': 'text/plain; charset=UTF-8',
        'x-amz-sns-message-type': m.Type,
        'x-amz-sns-message-id': m.MessageId,
        'x-amz-sns-topic-arn': m.TopicArn,
        'user-agent': 'Amazon Simple Notification Service Agent',
      },
      redirect: 'manual',
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    return { status: res.status, answer: await res.text() };
  }

  /**
   * The SubscriptionConfirmation SNS sends after Subscribe, to endpoints on this machine (the sandbox reaches nothing else:
   * others stay pending). Best effort, as SNS's: the bot confirms through ConfirmSubscription when it accepts it.
   */
  readonly confirm = async (topicArn: string, endpoint: string, token: string): Promise<void> => {
    if (!isLoopback(new URL(endpoint).hostname)) {
      this.deps.log?.info({ topicArn, endpoint }, 'sandbox SNS: the endpoint is not on this machine; its subscription stays pending');
      return;
    }
    const m = signMessage(
      {
        Type: 'SubscriptionConfirmation',
        MessageId: randomUUID(),
        TopicArn: topicArn,
        Token: token,
        Message: `You have chosen to subscribe to the topic ${topicArn}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
        SubscribeURL: `https://${SANDBOX_CERT_HOST}/?Action=ConfirmSubscription&TopicArn=${topicArn}&Token=${token}`,
        Timestamp: new Date(this.deps.clock.now()).toISOString(),
      } as Unsigned,
      this.deps.signer,
    );
    try {
      const { status } = await this.deliver(endpoint, m);
      if (status !== 200) this.deps.log?.warn({ topicArn, endpoint, status }, 'sandbox SNS: the endpoint refused the subscription confirmation');
    } catch (err) {
      this.deps.log?.warn({ topicArn, endpoint, err: (err as Error).message }, 'sandbox SNS: could not deliver the subscription confirmation');
    }
  };

  /** A live product by name, or by the short name its owner typed (`analysis` for `jdoe-analysis`). */
  private async product(name: string, email?: string) {
    const now = this.deps.clock.now();
    for (const candidate of [name, ...(email ? [`${email.split('@')[0]}-${name}`] : [])]) {
      const pp = await this.deps.account.productByName(candidate);
      if (pp && !isTerminated(pp, now)) return pp;
    }
    throw new NotFoundError(`The sandbox account has no product named ${name}.`);
  }

  private async topicExists(topicArn: string): Promise<string> {
    if (!(await this.deps.topics.topic(topicArn))) throw new NotFoundError(`Topic ${topicArn} does not exist in the sandbox account.`);
    return topicArn;
  }

  /** Builds the notification a tester asked for, signs it and delivers it to `target` (the bot's own POST /sns). */
  async publish(request: unknown, target: string): Promise<Published> {
    const parsed = publishRequest.safeParse(request);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new UserInputError(`${issue.path.join('.') || 'request'}: ${issue.message}`);
    }
    const r = parsed.data;
    const now = new Date(this.deps.clock.now());
    let topicArn: string;
    let note: { subject: string; message: string };
    if (r.kind === 'alarm') {
      if (!r.product) throw new UserInputError('product: an alarm needs the name of the instance it watches, e.g. "product": "jdoe-analysis"');
      const pp = await this.product(r.product, r.email);
      const alarm = await this.deps.alarms.alarm(alarmName(pp.id, r.alarm));
      if (!alarm) {
        throw new UserInputError(`${pp.name} has no ${r.alarm} alarm: alarms are made when an instance or cluster is ready (after its "is ready" message).`);
      }
      topicArn = r.topicArn ? await this.topicExists(r.topicArn) : alarm.AlarmActions![0]!;
      note = alarmNotification(alarm, r.state, { now, accountId: this.deps.accountId, region: this.deps.region });
    } else {
      const email = r.email ?? (r.product ? (await this.product(r.product)).tags.OwnerEmail : undefined);
      const found = r.topicArn ? await this.topicExists(r.topicArn) : email ? await this.deps.topics.topicOf(email) : undefined;
      if (!found) {
        throw new UserInputError(r.topicArn || email ? `${email} has no topic yet: it is made with their first launch.` : 'a budget alert needs topicArn, email or product, to know whose budget it is');
      }
      topicArn = found;
      const owner = (await this.deps.topics.topic(topicArn))!.ownerEmail;
      const name = budgetName(owner);
      const budget = await this.deps.budgets.budget(name);
      if (!budget) throw new UserInputError(`${owner} has no budget yet: it is made with their first launch.`);
      const made = budgetNotification(name, budget.summary, { now, accountId: this.deps.accountId });
      // The budget now shows what the alert says was spent.
      if (made.amount > budget.summary.actualUsd) await this.deps.budgets.setSpend(name, made.amount, budget.summary.forecastUsd);
      note = made;
    }
    const m = signMessage(
      {
        Type: 'Notification',
        MessageId: randomUUID(),
        TopicArn: topicArn,
        Subject: note.subject,
        Message: note.message,
        Timestamp: now.toISOString(),
        UnsubscribeURL: `https://${SANDBOX_CERT_HOST}/?Action=Unsubscribe&SubscriptionArn=${topicArn}:${randomUUID()}`,
      } as Unsigned,
      this.deps.signer,
    );
    const { status, answer } = await this.deliver(target, m);
    return { messageId: m.MessageId, topicArn, subject: note.subject, status, answer };
  }

  /**
   * POST /sandbox/publish: from this machine only (403 otherwise), a JSON PublishRequest; answers what was published and
   * what POST /sns said (200 when it accepted it, 502 when it refused).
   */
  publishHandler(target: () => string): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
    const answer = (res: ServerResponse, status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
    };
    return async (req, res) => {
      if (!isLoopback(req.socket.remoteAddress)) {
        answer(res, 403, { error: 'POST /sandbox/publish answers only requests from this machine (loopback)' });
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req));
      } catch (err) {
        answer(res, err instanceof RangeError ? 413 : 400, { error: err instanceof RangeError ? 'request too large' : 'the body must be JSON: {"kind": "alarm", "product": "<name>", "alarm": "cpu-idle"}' });
        return;
      }
      try {
        const published = await this.publish(body, target());
        answer(res, published.status === 200 ? 200 : 502, published.status === 200 ? { ok: true, ...published } : { ok: false, error: `POST /sns refused it (${published.status})`, ...published });
      } catch (err) {
        if (!isUserFacing(err)) this.deps.log?.error({ err: (err as Error).message }, 'sandbox publish failed');
        answer(res, err instanceof NotFoundError ? 404 : isUserFacing(err) ? 400 : 500, { error: isUserFacing(err) ? err.message : 'internal error' });
      }
    };
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        // Read on and drop the rest, so the sender gets its answer rather than a reset.
        req.removeAllListeners('data');
        req.resume();
        reject(new RangeError('too large'));
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
