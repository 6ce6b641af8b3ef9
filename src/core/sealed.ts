// Sealed values: what must wait in Redis but never be readable there (NoEcho values, raw commands), AES-256-GCM under the data key.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { UpstreamError } from './errors.js';

const VERSION = 's1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_TEXT = /^[A-Za-z0-9+/]{43}=$/;

/** A record as stored once sealed: its JSON, encrypted. */
export interface Sealed {
  sealed: string;
}

/** Where the data key comes from: the secret's `dataKey` field, or SCICOMP_DATA_KEY (SecretsPort's fallback). */
export interface DataKeySource {
  get(): Promise<string | undefined>;
  /** Forget a cached value: a value sealed under a key not yet seen may follow a rotation. */
  invalidate?(): void;
}

/** Why a configured data key is unusable, never quoting it; undefined when it is fine. */
export function dataKeyProblem(text: string): string | undefined {
  const keys = text.split(',').map((k) => k.trim());
  if (keys.some((k) => !KEY_TEXT.test(k))) return 'must be base64 of 32 random bytes (openssl rand -base64 32), several comma-separated while rotating';
  return undefined;
}

interface Key {
  id: string;
  bytes: Buffer;
}

function keyOf(bytes: Buffer): Key {
  // The id names which key sealed a value, so a rotation can open old values; a hash prefix says nothing of the key.
  return { id: createHash('sha256').update(bytes).digest('base64url').slice(0, 8), bytes };
}

function parseKeys(text: string): Key[] {
  const problem = dataKeyProblem(text);
  if (problem) throw new UpstreamError(`the data key ${problem}`, false);
  return text.split(',').map((k) => keyOf(Buffer.from(k.trim(), 'base64')));
}

/**
 * Seals with the first configured key and opens with any of them (rotation: put the new key first, keep the old one
 * until what it sealed has expired). With no key configured, `ephemeral` allows a random key held by this process only:
 * the sandbox runs in one process, and a key that never leaves memory never sits in Redis beside what it seals.
 */
export class Sealer {
  private ring?: { text: string; keys: Key[] };
  private ephemeralKey?: Key;

  constructor(
    private readonly source: DataKeySource,
    private readonly o: { ephemeral?: boolean } = {},
  ) {}

  private async keys(): Promise<Key[]> {
    const text = await this.source.get();
    if (text === undefined || text.trim() === '') {
      if (!this.o.ephemeral) throw new UpstreamError('no data key is configured (dataKey in the secret, or SCICOMP_DATA_KEY)', false);
      this.ephemeralKey ??= keyOf(randomBytes(32));
      return [this.ephemeralKey];
    }
    if (this.ring?.text !== text) this.ring = { text, keys: parseKeys(text) };
    return this.ring.keys;
  }

  async seal(plain: string): Promise<string> {
    const [key] = await this.keys();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key!.bytes, iv);
    const body = Buffer.concat([iv, cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${VERSION}.${key!.id}.${body.toString('base64url')}`;
  }

  async open(sealed: string): Promise<string> {
    const [version, id, body] = sealed.split('.');
    if (version !== VERSION || !id || body === undefined) throw new UpstreamError('not a sealed value', false);
    let key = (await this.keys()).find((k) => k.id === id);
    if (!key && this.source.invalidate) {
      this.source.invalidate();
      key = (await this.keys()).find((k) => k.id === id);
    }
    if (!key) throw new UpstreamError(`a value was sealed with data key ${id}, which this process does not hold`, false);
    const raw = Buffer.from(body, 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new UpstreamError('a sealed value is truncated', false);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.bytes, raw.subarray(0, IV_BYTES));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new UpstreamError('a sealed value failed its integrity check', false);
    }
  }
}

export async function sealJson(sealer: Sealer, value: unknown): Promise<Sealed> {
  return { sealed: await sealer.seal(JSON.stringify(value)) };
}

function isSealed(v: unknown): v is Sealed {
  return typeof v === 'object' && v !== null && typeof (v as Sealed).sealed === 'string' && Object.keys(v).length === 1;
}

/** The record, opened; one stored before sealing existed (during an upgrade) comes back as it is. */
export async function openJson<T>(sealer: Sealer, stored: T | Sealed | undefined): Promise<T | undefined> {
  if (stored === undefined) return undefined;
  return isSealed(stored) ? (JSON.parse(await sealer.open(stored.sealed)) as T) : stored;
}
