// The Slack client's fetch: what a server answers arrives as a standard Response, and what it does not take goes to fetch.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pooledFetch } from '../../src/http/fetch.js';

let server: Server;
let url = '';
const seen: { method?: string; headers: IncomingMessage['headers']; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method, headers: req.headers, body });
      if (req.url === '/limited') res.writeHead(429, { 'retry-after': '7', 'content-type': 'application/json' }).end('{"ok":false,"error":"ratelimited"}');
      else if (req.url === '/empty') res.writeHead(204).end();
      else if (req.url === '/slow') setTimeout(() => res.end('late'), 2000);
      else if (req.url === '/cookies') res.writeHead(200, [['set-cookie', 'a=1'], ['set-cookie', 'b=2']]).end();
      else if (req.url === '/binary') res.writeHead(200, { 'content-type': 'application/gzip' }).end(Buffer.from([0x1f, 0x8b, 0xff, 0x00, 0xfe]));
      else if (req.url === '/moved') res.writeHead(302, { location: '/elsewhere' }).end();
      else res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'x-slack-req-id': 'r1' }).end('{"ok":true,"ts":"1.2"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await f.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const f = pooledFetch();

describe('pooledFetch', () => {
  it('posts the body and headers it is given and answers with status, headers and body', async () => {
    const res = await f(`${url}/api/chat.postMessage`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: 'Bearer xoxb-1' }, body: 'channel=D1&text=hi' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-slack-req-id')).toBe('r1');
    expect(await res.json()).toEqual({ ok: true, ts: '1.2' });
    expect(seen.at(-1)).toMatchObject({ method: 'POST', body: 'channel=D1&text=hi', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Bearer xoxb-1' } });
  });

  it('passes a 429 and its Retry-After through, and a 204 with no body', async () => {
    const limited = await f(`${url}/limited`, { method: 'POST', body: '' });
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '7']);
    const empty = await f(`${url}/empty`, { method: 'POST', body: 'x' });
    expect([empty.status, await empty.text()]).toEqual([204, '']);
  });

  it('keeps each of several headers of one name, bytes as they came, and refuses a redirect when asked to', async () => {
    expect((await f(`${url}/cookies`, { method: 'POST', body: '' })).headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    const binary = await f(`${url}/binary`, { method: 'POST', body: '' });
    expect([...new Uint8Array(await binary.arrayBuffer())]).toEqual([0x1f, 0x8b, 0xff, 0x00, 0xfe]);
    await expect(f(`${url}/moved`, { method: 'POST', body: '', redirect: 'error' })).rejects.toThrow(TypeError);
  });

  it('a body that is not a string (a multipart upload) goes through fetch itself', async () => {
    const form = new FormData();
    form.append('file', new Blob(['contents']), 'a.txt');
    const res = await f(`${url}/upload`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    expect(seen.at(-1)?.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(seen.at(-1)?.body).toContain('contents');
  });

  it('is cut short by its signal', async () => {
    await expect(f(`${url}/slow`, { method: 'POST', body: '', signal: AbortSignal.timeout(100) })).rejects.toThrow();
  });
});
