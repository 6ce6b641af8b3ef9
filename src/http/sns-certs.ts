// SNS signing certificates: taken only from their canonical URL, fetched with a deadline and no redirects, a few new ones
// a minute, and kept in bounded caches (failures briefly), so forged certificate URLs cost neither a fetch each nor memory.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { UpstreamError } from '../core/errors.js';

/** Where SNS publishes its certificates; nothing else (no query, port, userinfo, fragment, other path) is fetched. */
export const SNS_CERT_URL = /^https:\/\/sns\.[a-z0-9-]{1,40}\.amazonaws\.com(?:\.cn)?\/SimpleNotificationService-[0-9a-f]{16,64}\.pem$/;

/** Where the sandbox account says its certificate is: no AWS region is called "sandbox", so it is never fetched. */
export const SANDBOX_CERT_HOST = 'sns.sandbox.amazonaws.com';

/** SNS signs with one certificate per region at a time: a few good ones cover every topic, rotations included. */
const MAX_CERTS = 32;
/** URLs that failed, remembered briefly: a burst naming one bad certificate costs one fetch. */
const MAX_FAILED = 1024;
/** Short, so a transient failure heals before SNS's next retry (20 s by default). */
const FAILED_MS = 10_000;
/** New certificates fetched per window, and at once: SNS rarely needs one, a flood of forged URLs would need thousands. */
const NEW_PER_WINDOW = 20;
const WINDOW_MS = 60_000;
const MAX_IN_FLIGHT = 4;
const FETCH_TIMEOUT_MS = 5000;
/** A certificate PEM is about 2 KB. */
const MAX_CERT_BYTES = 16 * 1024;

/** A Map that forgets its least recently used entry past `max`. */
class Lru<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}

  get(k: K): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }

  set(k: K, v: V): void {
    this.map.delete(k);
    this.map.set(k, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
  }

  delete(k: K): void {
    this.map.delete(k);
  }

  get size(): number {
    return this.map.size;
  }
}

export interface CertificateOptions {
  /** Reads a certificate's PEM in place of the HTTP fetch (tests, bench); URL checks, caches and limits still apply. */
  fetchCert?: (url: string) => Promise<string>;
  /** The HTTP client (tests point it at a local server). */
  fetch?: typeof fetch;
  now?: () => number;
}

/** Public keys of SNS signing certificates, by URL. Errors are UpstreamErrors: retryable ones may heal, others will not. */
export class SnsCertificates {
  private readonly keys = new Lru<string, KeyObject>(MAX_CERTS);
  private readonly failed = new Lru<string, { until: number; err: UpstreamError }>(MAX_FAILED);
  private readonly inFlight = new Map<string, Promise<KeyObject>>();
  private windowStart = 0;
  private fetchedInWindow = 0;

  constructor(private readonly opts: CertificateOptions = {}) {}

  /** How many URLs are remembered, good and failed: bounded whatever arrives. */
  get cached(): number {
    return this.keys.size + this.failed.size;
  }

  key(url: string): Promise<KeyObject> {
    if (!SNS_CERT_URL.test(url)) return Promise.reject(new UpstreamError('signing certificate URL is not an SNS certificate URL', false));
    const known = this.keys.get(url);
    if (known) return Promise.resolve(known);
    const pending = this.inFlight.get(url);
    if (pending) return pending;
    const now = (this.opts.now ?? Date.now)();
    const failed = this.failed.get(url);
    if (failed && failed.until > now) return Promise.reject(failed.err);
    if (now - this.windowStart >= WINDOW_MS) {
      this.windowStart = now;
      this.fetchedInWindow = 0;
    }
    if (this.inFlight.size >= MAX_IN_FLIGHT || this.fetchedInWindow >= NEW_PER_WINDOW) {
      return Promise.reject(new UpstreamError('too many new signing certificates at once; try again later', true));
    }
    this.fetchedInWindow++;
    const loading = this.fetchKey(url);
    this.inFlight.set(url, loading);
    void loading.then(
      (key) => {
        this.keys.set(url, key);
        this.inFlight.delete(url);
      },
      (err: UpstreamError) => {
        this.failed.set(url, { until: (this.opts.now ?? Date.now)() + FAILED_MS, err });
        this.inFlight.delete(url);
      },
    );
    return loading;
  }

  private async fetchKey(url: string): Promise<KeyObject> {
    let pem: string;
    try {
      pem = await this.load(url);
    } catch (err) {
      throw err instanceof UpstreamError ? err : new UpstreamError('signing certificate could not be fetched', true, undefined, { cause: err });
    }
    try {
      return createPublicKey(pem);
    } catch (err) {
      throw new UpstreamError('signing certificate is not a certificate', false, undefined, { cause: err });
    }
  }

  private async load(url: string): Promise<string> {
    if (this.opts.fetchCert) return this.opts.fetchCert(url);
    // The deadline covers the body too; a redirect is answered, not followed.
    const res = await (this.opts.fetch ?? fetch)(url, { redirect: 'manual', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      throw new UpstreamError(`signing certificate URL answered a redirect (HTTP ${res.status}); redirects are not followed`, false);
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new UpstreamError(`signing certificate URL answered HTTP ${res.status}`, res.status >= 500 || res.status === 429);
    }
    if (Number(res.headers.get('content-length') ?? 0) > MAX_CERT_BYTES) {
      await res.body?.cancel();
      throw new UpstreamError('signing certificate is too large', false);
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = res.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > MAX_CERT_BYTES) {
        await reader.cancel();
        throw new UpstreamError('signing certificate is too large', false);
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}
