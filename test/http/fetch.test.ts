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
      else res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'x-slack-req-id': 'r1' }).end('{"ok":true,"ts":"1.2"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('pooledFetch', () => {
  const f = pooledFetch();

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
