// What POST /sns refuses, through the door SNS uses, on real Redis: certificate URLs that are not SNS's own, redirecting
// certificate servers and floods of forged certificate URLs; old, future and reshaped messages; and how refusals are logged.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobIdFor } from '../../jobs/queues.js';
import { appliedKey } from '../../src/adapters/redis/alert-state.js';
import { SnsVerifier, stringToSign, type SnsMessage } from '../../src/http/sns.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually, Harness } from '../support/harness.js';
import { alarmMessage, CERT_URL, confirmation, forger, notification, sign, signer, snsToken } from '../support/sns.js';

const TOPIC = 'arn:aws:sns:us-east-1:111122223333:scicomp-shared-alarms';
const SNS_HOST = 'https://sns.us-east-1.amazonaws.com';
/** The replay window this installation is configured with: longer than the dedupe's own 24 h. */
const WINDOW_MS = 2 * 86400_000;
const certUrl = (id: string) => `${SNS_HOST}/SimpleNotificationService-${id}.pem`;
/** A certificate server that answers this id with a redirect to the genuine certificate. */
const REDIRECTING = 'a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0';

let h: Harness;
let certServer: Server;
/** Paths the certificate server was asked for. */
const certRequests: string[] = [];
/** Moves the verifier's clock (its fetch budget is per minute). */
let certClockOffset = 0;
let verifier: SnsVerifier;
const logLines: { msg: string; reason?: string; unlogged?: number }[] = [];
const rawLog: string[] = [];

beforeAll(async () => {
  certServer = createServer((req, res) => {
    certRequests.push(req.url ?? '');
    const genuine = new URL(CERT_URL).pathname;
    if (req.url === genuine) res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(signer.cert);
    else if (req.url === `/SimpleNotificationService-${REDIRECTING}.pem`) res.writeHead(302, { location: genuine }).end();
    else res.writeHead(404).end('not found');
  });
  await new Promise<void>((r) => certServer.listen(0, '127.0.0.1', r));
  const local = `http://127.0.0.1:${(certServer.address() as AddressInfo).port}`;
  // SNS's certificate host, served by the local server: the verifier's own request (and its redirect mode) goes through.
  verifier = new SnsVerifier({
    fetch: ((url: string, init?: RequestInit) => fetch(String(url).replace(SNS_HOST, local), init)) as typeof fetch,
    now: () => Date.now() + certClockOffset,
  });
  const log = pino({ level: 'info' }, {
    write: (line: string) => {
      rawLog.push(line);
      logLines.push(JSON.parse(line) as (typeof logLines)[number]);
    },
  });
  h = await Harness.start({
    catalog: new SandboxCatalog({ provisionMs: 100 }),
    env: { SCICOMP_SNS_TOPICS: TOPIC, SNS_MAX_AGE_MS: String(WINDOW_MS) },
    extra: { snsVerifier: verifier, log },
  });
});

afterAll(async () => {
  await dropPrefix(h.app);
  await h.close();
  certServer.closeAllConnections();
  await new Promise<void>((r) => certServer.close(() => r()));
});

async function postSns(body: unknown): Promise<Response> {
  return fetch(`${h.url}/sns`, { method: 'POST', headers: { 'content-type': 'text/plain; charset=UTF-8' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

const queued = async () =>
  (await Promise.all([h.app.queues.sns, h.app.queues.snsBatchQueue].map((q) => q.getJobCounts()))).flatMap((c) => Object.values(c)).reduce((a, b) => a + b, 0);

const note = (text = 'Maintenance notice: the instance will be rebooted.') => notification(TOPIC, text, 'Maintenance notice');
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

/** Posts each, expecting `status`, and that nothing was queued and the certificate server was not asked. */
async function refusedUnfetched(messages: unknown[], status: number): Promise<string[]> {
  const [before, asked] = [await queued(), certRequests.length];
  const errors: string[] = [];
  for (const m of messages) {
    const res = await postSns(m);
    const body = (await res.json()) as { error: string };
    expect(res.status, body.error).toBe(status);
    errors.push(body.error);
  }
  expect(await queued()).toBe(before);
  expect(certRequests.length).toBe(asked);
  return errors;
}

describe('signing certificate URLs', () => {
  it.each([
    ['a query', `${CERT_URL}?x=1`],
    ['a port', CERT_URL.replace('amazonaws.com/', 'amazonaws.com:8443/')],
    ['userinfo', CERT_URL.replace('https://', 'https://user@')],
    ['a fragment', `${CERT_URL}#x`],
    ['another path', `${SNS_HOST}/certs/../SimpleNotificationService-0000000000000000000000.pem`],
    ['another file name', `${SNS_HOST}/my-cert.pem`],
    ['percent-encoding', `${SNS_HOST}/SimpleNotificationService-%30000000000000000000000.pem`],
    ['http', CERT_URL.replace('https:', 'http:')],
    ['another host', CERT_URL.replace('amazonaws.com', 'amazonaws.com.evil.example')],
  ])('with %s are refused (403) without any fetch', async (_what, url) => {
    const [error] = await refusedUnfetched([sign(note(), '1', signer.key, url)], 403);
    expect(error).toContain('https://sns.<region>.amazonaws.com/SimpleNotificationService-<id>.pem');
  });

  it('a certificate server that redirects is refused (403): the redirect is not followed', async () => {
    const before = certRequests.length;
    const res = await postSns(sign(note(), '1', signer.key, certUrl(REDIRECTING)));
    expect([res.status, ((await res.json()) as { error: string }).error]).toEqual([403, expect.stringContaining('redirect')]);
    expect(certRequests.slice(before)).toEqual([`/SimpleNotificationService-${REDIRECTING}.pem`]);
  });

  it('a flood of distinct forged certificate URLs costs a bounded number of fetches; the genuine certificate keeps working', async () => {
    certClockOffset += 61_000;
    const genuine = await postSns(sign(note()));
    expect(genuine.status).toBe(200);
    const [before, asked, cached] = [await queued(), certRequests.length, verifier.cachedCertificates];
    const flood = Array.from({ length: 300 }, () => sign(note('forged'), '1', forger.key, certUrl(randomBytes(16).toString('hex'))));
    const statuses: number[] = [];
    for (let i = 0; i < flood.length; i += 50) statuses.push(...(await Promise.all(flood.slice(i, i + 50).map(async (m) => (await postSns(m)).status))));
    // Refused as forged (the URL has no certificate) or, past the budget, as "later" (which SNS itself would retry).
    expect(new Set(statuses)).toEqual(new Set([403, 503]));
    expect(certRequests.length - asked).toBeLessThanOrEqual(20);
    // At most the budget's 20 more certificates kept (the genuine one, and any an earlier test fetched, besides).
    expect(verifier.cachedCertificates - cached).toBeLessThanOrEqual(20);
    expect(await queued()).toBe(before);
    // The certificate already known is not pushed out, and needs no fetch.
    const again = await postSns(sign(note()));
    expect(again.status).toBe(200);
    expect(certRequests.length - asked).toBeLessThanOrEqual(20);
    // Each reason is logged once, however many messages it refused.
    expect(logLines.filter((l) => l.reason === '503 too many new signing certificates at once; try again later')).toHaveLength(1);
    expect(logLines.filter((l) => l.reason === '403 signing certificate URL answered HTTP 404')).toHaveLength(1);
    certClockOffset += 61_000;
  });
});

describe('replays and reshaped messages', () => {
  it('a genuine message from 2019 is refused (400): nothing queued, no certificate fetched', async () => {
    const [error] = await refusedUnfetched([sign({ ...note(), Timestamp: '2019-06-01T12:00:00.000Z' })], 400);
    expect(error).toContain('older than the replay window');
  });

  it('a genuine message just older than the window is refused; one inside it is accepted', async () => {
    await refusedUnfetched([sign({ ...note(), Timestamp: ago(WINDOW_MS + 60_000) })], 400);
    const res = await postSns(sign({ ...note(), Timestamp: ago(WINDOW_MS - 3600_000) }));
    expect(res.status).toBe(200);
  });

  it('a message timestamped more than 5 minutes ahead is refused (400)', async () => {
    const [error] = await refusedUnfetched([sign({ ...note(), Timestamp: ago(-10 * 60_000) })], 400);
    expect(error).toContain('ahead');
    expect((await postSns(sign({ ...note(), Timestamp: ago(-60_000) }))).status).toBe(200);
  });

  it('a MessageId carrying the Subject (the same signed string, read as other fields) is refused (400)', async () => {
    const m = sign(notification(TOPIC, 'Maintenance notice: reboot.', 'Maintenance notice'));
    const reshaped = { ...m, MessageId: `${m.MessageId}\nSubject\nMaintenance notice` } as Partial<SnsMessage>;
    delete (reshaped as { Subject?: string }).Subject;
    // The signature still matches: only the MessageId's shape gives it away.
    expect(stringToSign(reshaped as SnsMessage)).toBe(stringToSign(m));
    const [error] = await refusedUnfetched([reshaped], 400);
    expect(error).toBe('not an SNS message: MessageId: must be a UUID');
  });

  it.each([
    ['a MessageId that is not a UUID', { ...note(), MessageId: 'msg-1' }, 'MessageId: must be a UUID'],
    ['a Subject over two lines', { ...note(), Subject: 'Maintenance\nTimestamp' }, 'Subject: must be one line'],
    ['a Token that is not hex', { ...confirmation(TOPIC), Token: 'token-theirs' }, 'Token: must be a hex string'],
    ['another Type', { ...note(), Type: 'Notice' }, 'Type: must be Notification, SubscriptionConfirmation or UnsubscribeConfirmation'],
    ['a TopicArn of another service', { ...note(), TopicArn: 'arn:aws:sqs:us-east-1:111122223333:queue' }, 'TopicArn: must be an SNS topic ARN'],
    ['a Timestamp that is not ISO-8601', { ...note(), Timestamp: 'Mon, 30 Nov 2026 09:00:00 GMT' }, 'Timestamp: must be an ISO-8601 UTC time'],
    ['a Timestamp with a line break', { ...note(), Timestamp: `${new Date().toISOString()}\n` }, 'Timestamp: must be an ISO-8601 UTC time'],
  ])('%s, even genuinely signed, is refused (400) with what is wrong', async (_what, m, why) => {
    const [error] = await refusedUnfetched([sign(m as Parameters<typeof sign>[0])], 400);
    expect(error).toContain(why);
  });

  it('SignatureVersion other than 1 or 2 is refused (400)', async () => {
    const [error] = await refusedUnfetched([{ ...sign(note()), SignatureVersion: '3' }], 400);
    expect(error).toBe('not an SNS message: SignatureVersion: must be "1" or "2"');
  });

  it('a MessageId is remembered at least as long as messages are accepted (SNS_MAX_AGE_MS)', async () => {
    const m = sign(notification(TOPIC, alarmMessage({ alarmName: 'scicomp-pp-replay-cpu-high', state: 'ALARM' }), 'ALARM'));
    expect((await postSns(m)).status).toBe(200);
    await eventually(async () => (await h.app.queues.sns.getJob(jobIdFor('sns', m.MessageId)))?.isCompleted(), 'the alarm applied');
    const ttl = await h.app.store.redis.pttl(appliedKey(h.app.store, m.MessageId));
    expect(ttl).toBeGreaterThan(WINDOW_MS - 60_000);
  });
});

describe('refusals in the log', () => {
  it('are one line per reason, however many arrive, and never carry a subscription token', async () => {
    const token = snsToken();
    const forged = Array.from({ length: 40 }, () => sign(note('forged'), '1', forger.key));
    forged.push(sign(confirmation(TOPIC, token), '1', forger.key));
    for (const m of forged) expect((await postSns(m)).status).toBe(403);
    expect(logLines.filter((l) => l.reason === '403 signature does not verify')).toHaveLength(1);
    expect(rawLog.join('')).not.toContain(token);
  });
});
