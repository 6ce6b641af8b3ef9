// Hostile HTTP against a real web process: every hostile request gets a quick 4xx (or, trickling in, its connection cut)
// and the process's memory stays bounded, and it still takes a genuine command afterwards.
import { connect, type Socket } from 'node:net';
import { SIGNING_SECRET } from '../../test/support/harness.js';
import { buttonClick, interactionBody, sign } from '../../test/support/signed.js';
import type { SlackApi } from '../../test/support/slack-api.js';
import { baseEnv, command, Process, settled, type Figures, type OwnRedis, type Scenario } from '../support.js';

/**
 * The server's timeouts, shortened so a slow client is cut off within seconds (defaults: 10 s for headers, 30 s for the
 * whole request). Node looks for overdue connections every quarter of the headers timeout.
 */
const HEADERS_TIMEOUT_MS = 1000;
const REQUEST_TIMEOUT_MS = 2000;
/** What any hostile request that is answered may take: Slack gives up after 3 s, and a refusal needs no work. */
const QUICK_MS = 2000;
/** A trickling client is cut off by the request timeout, checked every HEADERS_TIMEOUT_MS / 4, with room for a busy machine. */
const CUT_OFF_MS = REQUEST_TIMEOUT_MS + HEADERS_TIMEOUT_MS / 4 + 1500;
/**
 * The RSS a burst may add. 200 refusals hold no body, so only node's own buffers grow; buffering the bodies (as before
 * the fix) takes 200 × 3.9 MB = 780 MB through the heap, several hundred MB of which stay resident.
 */
const RSS_GROWTH_MB = 150;

interface Raw {
  status: number;
  /** From the first byte sent until the status line came back, or the connection closed without one. */
  answeredMs: number;
  /** Until the server closed the connection (-1: still open at the deadline). */
  closedMs: number;
  /** The connection was reset or broken before any answer came. */
  broken: boolean;
}

/**
 * One raw request: its head, then `body` (the whole of it at once, or through `trickle`), reading what comes back until
 * the server closes the connection or `deadlineMs` passes.
 */
async function raw(port: number, head: string, body: Buffer, deadlineMs: number, trickle?: (socket: Socket) => () => void): Promise<Raw> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((r, reject) => socket.once('connect', r).once('error', reject));
  const t0 = Date.now();
  let response = '';
  let answeredMs = -1;
  let broken = false;
  socket.on('data', (d: Buffer) => {
    response += d.toString('latin1');
    if (answeredMs < 0 && response.includes('\r\n')) answeredMs = Date.now() - t0;
  });
  socket.on('error', () => {
    if (answeredMs < 0) broken = true;
  });
  const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now() - t0)));
  socket.write(head);
  if (body.length) socket.write(body);
  const stop = trickle?.(socket);
  const closedMs = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), deadlineMs))]);
  stop?.();
  socket.destroy();
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
  return { status, answeredMs: answeredMs < 0 ? (closedMs < 0 ? deadlineMs : closedMs) : answeredMs, closedMs, broken };
}

async function post(url: string, path: string, body: string | Buffer, headers: Record<string, string>): Promise<{ status: number; ms: number; error?: string }> {
  const t0 = Date.now();
  try {
    const res = await fetch(`${url}${path}`, { method: 'POST', body, headers, signal: AbortSignal.timeout(10_000) });
    await res.text();
    return { status: res.status, ms: Date.now() - t0 };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return { status: 0, ms: Date.now() - t0, error: cause ?? (err as Error).name };
  }
}

async function hostileHttp(redis: OwnRedis, slack: SlackApi) {
  const env = { ...baseEnv(redis, slack, 'faults-http'), HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS), HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) };
  const web = await new Process(env).start('all');
  const port = web.port;
  // Each hostile request: what it was, whether it got what it should (a quick 4xx, or its connection cut), how long.
  const results: { what: string; ok: boolean; ms: number; status: number }[] = [];
  const answered = (what: string, status: number, ms: number) => results.push({ what, ok: status >= 400 && status < 500 && ms < QUICK_MS, ms, status });

  // Warm up (the first request compiles routes and opens connections), then measure memory at rest.
  await command(web.url, slack, 'http-warmup');
  await settled(() => slack.replies('http-warmup').length > 0, 10_000);
  const rssBefore = web.rssMb();
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, web.rssMb())), 25);

  // (a) 200 unsigned 3.9 MB bodies at once, each sent whole as a careless or hostile client would.
  const big = Buffer.alloc(Math.floor(3.9 * 1024 * 1024), 'a');
  const bigHead = `POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${big.length}\r\n\r\n`;
  const burst = await Promise.all(Array.from({ length: 200 }, () => raw(port, bigHead, big, 10_000)));
  for (const r of burst) answered('unsigned 3.9 MB', r.broken ? 0 : r.status, r.answeredMs);
  // Whatever memory the burst took and would give back, let it.
  await new Promise((r) => setTimeout(r, 1000));
  clearInterval(sampler);
  rssPeak = Math.max(rssPeak, web.rssMb());
  const rssAfter = web.rssMb();

  // (b) Slow clients: headers that never finish, a body that trickles in a byte a second, a connection that sends nothing.
  const trickleEvery = (ms: number, byte: string) => (socket: Socket) => {
    const t = setInterval(() => socket.writable && socket.write(byte), ms);
    return () => clearInterval(t);
  };
  const slow = await Promise.all([
    raw(port, 'POST /slack/events HTTP/1.1\r\nHost: x\r\nX-Slow: ', Buffer.alloc(0), 10_000, trickleEvery(1000, 'a')),
    raw(port, 'POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n', Buffer.alloc(0), 10_000, trickleEvery(1000, 'a')),
    raw(port, 'POST /sns HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n', Buffer.alloc(0), 10_000, trickleEvery(1000, 'a')),
    raw(port, '', Buffer.alloc(0), 10_000),
  ]);
  const slowNames = ['slow headers', 'slow Slack body', 'slow SNS body', 'silent connection'];
  slow.forEach((r, i) => results.push({ what: slowNames[i]!, ok: r.closedMs >= 0 && r.closedMs < CUT_OFF_MS && (r.status === 0 || (r.status >= 400 && r.status < 500)), ms: r.closedMs, status: r.status }));

  // (c) Signed block_actions with no action, and with an empty one; (d) signed JSON of a type scicomp does not take.
  const click = buttonClick({ userId: 'UHOSTILE', actionId: 'scicomp:confirm', value: 'x', responseUrl: slack.responseUrl('hostile-click') }) as Record<string, unknown>;
  for (const [what, payload] of [
    ['block_actions, no action', { ...click, actions: [] }],
    ['block_actions, empty action', { ...click, actions: [{}] }],
  ] as const) {
    const body = interactionBody(payload);
    const r = await post(web.url, '/slack/events', body, sign(SIGNING_SECRET, body));
    answered(what, r.status, r.ms);
  }
  const unknown = JSON.stringify({ type: 'something_else', team: { id: 'T0001' }, token: 'deprecated-verification-token' });
  const u = await post(web.url, '/slack/events', unknown, { ...sign(SIGNING_SECRET, unknown), 'content-type': 'application/json' });
  answered('signed JSON of an unknown type', u.status, u.ms);

  // A signed-looking 2 MB Slack body, by its Content-Length; (e) a 20 MB /sns body sent whole by a fetch client.
  const signedBig = Buffer.alloc(2 * 1024 * 1024, 'a');
  const s = await post(web.url, '/slack/events', signedBig, { ...sign(SIGNING_SECRET, 'not this body'), 'content-type': 'application/x-www-form-urlencoded' });
  answered('signed 2 MB Slack body', s.status, s.ms);
  const huge = Buffer.alloc(20 * 1024 * 1024, 'a');
  const sns: { status: number; ms: number; error?: string }[] = [];
  for (let i = 0; i < 3; i++) sns.push(await post(web.url, '/sns', huge, { 'content-type': 'text/plain' }));
  for (const r of sns) answered(`20 MB SNS body${r.error ? ` (${r.error})` : ''}`, r.status, r.ms);

  // Still taking a genuine command afterwards.
  const good = await command(web.url, slack, 'http-after');
  const goodAnswered = good === 'acked' && (await settled(() => slack.replies('http-after').length > 0, 10_000));
  await web.stop();

  const misses = results.filter((r) => !r.ok);
  if (misses.length) {
    const byWhat = new Map<string, { n: number; statuses: Set<number | string>; worst: number }>();
    for (const m of misses) {
      const w = byWhat.get(m.what) ?? { n: 0, statuses: new Set(), worst: 0 };
      byWhat.set(m.what, { n: w.n + 1, statuses: w.statuses.add(m.status || 'none'), worst: m.ms < 0 ? -1 : Math.max(w.worst, m.ms) });
    }
    const told = [...byWhat].map(([what, w]) => `${w.n} × ${what} (status ${[...w.statuses].join('/')}, ${w.worst < 0 ? 'never closed' : `up to ${w.worst} ms`})`);
    process.stdout.write(`  without a quick 4xx: ${told.join('; ')}\n`);
  }
  const quick = results.filter((r) => r.status >= 400 && r.status < 500 && r.ms < QUICK_MS).length;
  const answeredOnes = results.filter((r) => !slowNames.includes(r.what));
  const figures: Figures = {
    sent: results.length,
    acknowledged: results.filter((r) => r.status >= 200 && r.status < 300).length,
    delivered: goodAnswered ? 1 : 0,
    duplicated: 0,
    lost: misses.length,
    outOfOrder: 0,
    more: {
      'quick 4xx': quick,
      'burst 4xx': burst.filter((r) => !r.broken && r.status >= 400 && r.status < 500).length,
      'burst broken': burst.filter((r) => r.broken).length,
      'slowest answer ms': Math.max(...answeredOnes.map((r) => r.ms)),
      ...Object.fromEntries(slow.map((r, i) => [`${slowNames[i]} closed ms`, r.closedMs])),
      '20 MB SNS answers': sns.map((r) => r.error ?? r.status).join(' '),
      'RSS MB before': Math.round(rssBefore),
      'RSS MB peak': Math.round(rssPeak),
      'RSS MB after': Math.round(rssAfter),
      'good command answered': goodAnswered ? 'yes' : 'no',
    },
  };
  const passed = misses.length === 0 && figures.acknowledged === 0 && rssPeak - rssBefore <= RSS_GROWTH_MB && rssAfter - rssBefore <= RSS_GROWTH_MB && goodAnswered;
  return { figures, passed };
}

export const httpScenarios: Scenario[] = [{ name: 'hostile HTTP against a real process', fast: true, run: hostileHttp }];
