// Hostile HTTP gets a quick, clear 4xx: oversized bodies are refused before they are read, slow ones are cut off, and
// signed requests of a shape scicomp does not take are answered at once instead of after Slack's 3 s.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, Harness, SIGNING_SECRET } from '../support/harness.js';
import { buttonClick, interactionBody, sign } from '../support/signed.js';

let h: Harness;
let port: number;

beforeAll(async () => {
  h = await Harness.start({ catalog: new SandboxCatalog(), workers: false, env: { HTTP_HEADERS_TIMEOUT_MS: '500', HTTP_REQUEST_TIMEOUT_MS: '1000' } });
  port = Number(new URL(h.url).port);
});

afterAll(async () => {
  await dropPrefix(h.app);
  await h.close();
});

/**
 * A raw connection: sends the head, then the body 64 KB at a time until an answer comes, and then nothing more; says
 * how much was sent by then and whether (and when) the server closed the connection.
 */
async function rawRequest(head: string, body: Buffer): Promise<{ response: string; sentBeforeClose: number; closedMs: number }> {
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', r));
  let response = '';
  let sent = 0;
  const t0 = Date.now();
  const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now() - t0)));
  socket.on('data', (d) => (response += d.toString('latin1')));
  socket.on('error', () => {});
  socket.write(head);
  const chunk = 64 * 1024;
  while (sent < body.length && !socket.destroyed && !response.includes('\r\n\r\n')) {
    if (!socket.write(body.subarray(sent, sent + chunk))) await Promise.race([new Promise((r) => socket.once('drain', r)), closed, new Promise((r) => setTimeout(r, 100))]);
    sent += chunk;
    await new Promise((r) => setImmediate(r));
  }
  // Nothing more is sent: a server still waiting for the rest of the body would never close.
  const closedMs = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 3000))]);
  socket.destroy();
  return { response, sentBeforeClose: Math.min(sent, body.length), closedMs };
}

describe('POST /sns', () => {
  it('answers a 20 MB body its 413 by its Content-Length, before reading it, and closes the connection', async () => {
    const size = 20 * 1024 * 1024;
    const { response, sentBeforeClose, closedMs } = await rawRequest(`POST /sns HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: ${size}\r\n\r\n`, Buffer.alloc(size, 'a'));
    expect(response).toMatch(/^HTTP\/1\.1 413 /);
    expect(response.toLowerCase()).toContain('connection: close');
    // Answered before the body was all sent, and not waited for: the connection is closed.
    expect(sentBeforeClose).toBeLessThan(size);
    expect(closedMs).toBeGreaterThanOrEqual(0);
  });

  it('gives a fetch client its 413, not a broken pipe', async () => {
    const res = await fetch(`${h.url}/sns`, { method: 'POST', body: Buffer.alloc(20 * 1024 * 1024, 'a'), headers: { 'content-type': 'text/plain' } });
    expect(res.status).toBe(413);
  });
});

describe('POST /slack/events', () => {
  it('refuses an unsigned 3.9 MB body with 401 before reading it', async () => {
    const size = Math.floor(3.9 * 1024 * 1024);
    const { response, sentBeforeClose, closedMs } = await rawRequest(`POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${size}\r\n\r\n`, Buffer.alloc(size, 'a'));
    expect(response).toMatch(/^HTTP\/1\.1 401 /);
    expect(sentBeforeClose).toBeLessThan(size);
    expect(closedMs).toBeGreaterThanOrEqual(0);
  });

  it('refuses a signed body over 1 MB with 413 before reading it', async () => {
    const size = 2 * 1024 * 1024;
    const ts = String(Math.floor(Date.now() / 1000));
    const head = `POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Slack-Request-Timestamp: ${ts}\r\nX-Slack-Signature: v0=${'0'.repeat(64)}\r\nContent-Length: ${size}\r\n\r\n`;
    const { response, sentBeforeClose, closedMs } = await rawRequest(head, Buffer.alloc(size, 'a'));
    expect(response).toMatch(/^HTTP\/1\.1 413 /);
    expect(sentBeforeClose).toBeLessThan(size);
    expect(closedMs).toBeGreaterThanOrEqual(0);
  });

  it('answers a signed block_actions with no action 400, at once', async () => {
    const click = { ...(buttonClick({ userId: 'UEMPTY', actionId: 'scicomp:confirm', value: 'x', responseUrl: h.slack.responseUrl('empty') }) as object), actions: [] };
    const t0 = Date.now();
    const res = await h.interaction(click);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('no action');
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('answers signed JSON of a type it does not take 400, at once', async () => {
    const body = JSON.stringify({ type: 'something_else', team: { id: 'T0001' } });
    const t0 = Date.now();
    const res = await h.post('/slack/events', body, { ...sign(SIGNING_SECRET, body), 'content-type': 'application/json' });
    expect(res.status).toBe(400);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('still takes a genuine click', async () => {
    const body = interactionBody(buttonClick({ userId: 'UOK', actionId: 'scicomp:cancel', value: 'nothing', responseUrl: h.slack.responseUrl('ok') }));
    const res = await h.post('/slack/events', body, sign(SIGNING_SECRET, body));
    expect(res.status).toBe(200);
  });
});

describe('the HTTP server', () => {
  it('cuts off a request whose headers never finish', async () => {
    const { response, closedMs } = await rawRequest('POST /sns HTTP/1.1\r\nHost: x\r\nX-Slow: ', Buffer.alloc(0));
    expect(closedMs).toBeGreaterThanOrEqual(0);
    expect(response === '' || /^HTTP\/1\.1 408 /.test(response)).toBe(true);
  });

  it('cuts off a body that trickles in', async () => {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', r));
    let response = '';
    socket.on('data', (d) => (response += d.toString()));
    socket.on('error', () => {});
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.write('POST /sns HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n');
    const trickle = setInterval(() => socket.writable && socket.write('a'), 100);
    const t0 = Date.now();
    await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
    clearInterval(trickle);
    socket.destroy();
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(response === '' || /^HTTP\/1\.1 408 /.test(response)).toBe(true);
  });
});
