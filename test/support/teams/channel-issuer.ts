// A local Bot Framework channel token issuer: OpenID metadata, a JWKS endorsed for msteams, and genuine or forged tokens.
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { listen, sendJson, type Listening } from './http.js';

/** The issuer Bot Framework puts in the tokens it sends to bots (and botbuilder's ToBotFromChannelTokenIssuer). */
export const CHANNEL_TOKEN_ISSUER = 'https://api.botframework.com';
/** An Azure AD v1 issuer botbuilder treats as "from the Emulator" (EmulatorValidation's issuer list). */
export const EMULATOR_ISSUER = 'https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/';

/**
 * Every way a caller can get an inbound activity's token wrong. Tokens are checked with a five-minute clock
 * tolerance, so the time forgeries lie well outside it.
 */
export const FORGERIES = [
  'no-token', // no Authorization header at all
  'not-bearer', // a valid token under another scheme
  'wrong-key', // signed by a key pair that is not in the JWKS, with its own kid
  'wrong-key-known-kid', // signed by an unknown key pair but claiming the trusted key's kid
  'unendorsed-key', // signed by a JWKS key that is not endorsed for msteams
  'wrong-audience', // aud is another bot's app id
  'expired', // exp an hour ago
  'not-yet-valid', // nbf an hour from now
  'wrong-issuer', // iss is not the channel issuer
  'emulator-issuer', // iss claims the Emulator (Azure AD), signed with the channel key
  'serviceurl-mismatch', // serviceurl claim names another host than the activity's serviceUrl
  'bad-signature', // payload tampered after signing
  'alg-none', // unsigned, alg: none
] as const;
export type Forgery = (typeof FORGERIES)[number];

export interface ChannelTokenOptions {
  /** The bot's app id (aud). */
  appId: string;
  /** The activity's serviceUrl (serviceurl claim). */
  serviceUrl: string;
  /** Seconds since the epoch; defaults to now. */
  now?: number;
}

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

function rsaKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid: randomUUID(), privateKey, publicKey };
}

// RSA key generation is the slow part (~50 ms a key): once per test process is enough, kids are random anyway.
let keys: { trusted: SigningKey; unendorsed: SigningKey; stranger: SigningKey } | undefined;
function processKeys(): NonNullable<typeof keys> {
  keys ??= { trusted: rsaKey(), unendorsed: rsaKey(), stranger: rsaKey() };
  return keys;
}

const b64url = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A compact JWS; `key` undefined leaves the signature empty (alg none). */
export function signJwt(header: Record<string, unknown>, payload: Record<string, unknown>, key?: KeyObject): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  const signature = key ? sign('RSA-SHA256', Buffer.from(input), key).toString('base64url') : '';
  return `${input}.${signature}`;
}

export interface IssuedRequest {
  path: string;
}

export class ChannelIssuer {
  /** Metadata and key requests served, in order (botbuilder caches keys per metadata URL for the process). */
  readonly requests: IssuedRequest[] = [];
  private readonly keys = processKeys();
  private http?: Listening;

  async start(): Promise<this> {
    this.http = await listen((req, res) => {
      const path = (req.url ?? '').split('?')[0]!;
      this.requests.push({ path });
      switch (path) {
        case '/v1/.well-known/openidconfiguration':
          return sendJson(res, 200, {
            issuer: CHANNEL_TOKEN_ISSUER,
            authorization_endpoint: 'https://invalid.botframework.com',
            jwks_uri: `${this.url}/v1/.well-known/keys`,
            id_token_signing_alg_values_supported: ['RS256'],
            token_endpoint_auth_methods_supported: ['private_key_jwt'],
          });
        case '/v1/.well-known/keys':
          return sendJson(res, 200, {
            keys: [
              this.jwk(this.keys.trusted, ['msteams']),
              this.jwk(this.keys.unendorsed, ['webchat']),
            ],
          });
        // The Emulator's (Azure AD's) metadata: no key of ours is in it, so nothing we sign passes as the Emulator.
        case '/emulator/v2.0/.well-known/openid-configuration':
          return sendJson(res, 200, {
            issuer: EMULATOR_ISSUER,
            authorization_endpoint: 'https://invalid.example/authorize',
            token_endpoint: 'https://invalid.example/token',
            jwks_uri: `${this.url}/emulator/discovery/v2.0/keys`,
          });
        case '/emulator/discovery/v2.0/keys':
          return sendJson(res, 200, { keys: [] });
        default:
          return sendJson(res, 404, { error: 'not found' });
      }
    }, true);
    return this;
  }

  get url(): string {
    if (!this.http) throw new Error('ChannelIssuer not started');
    return this.http.url;
  }

  /** botbuilder's ToBotFromChannelOpenIdMetadataUrl. */
  get openIdMetadataUrl(): string {
    return `${this.url}/v1/.well-known/openidconfiguration`;
  }

  /** botbuilder's ToBotFromEmulatorOpenIdMetadataUrl. */
  get emulatorOpenIdMetadataUrl(): string {
    return `${this.url}/emulator/v2.0/.well-known/openid-configuration`;
  }

  private jwk(k: SigningKey, endorsements: string[]): Record<string, unknown> {
    const { n, e } = k.publicKey.export({ format: 'jwk' });
    return { kty: 'RSA', use: 'sig', kid: k.kid, n, e, endorsements };
  }

  /** The claims Bot Framework puts in a channel token. */
  claims(o: ChannelTokenOptions): Record<string, unknown> {
    const now = o.now ?? Math.floor(Date.now() / 1000);
    return { serviceurl: o.serviceUrl, nbf: now - 5, exp: now + 3600, iss: CHANNEL_TOKEN_ISSUER, aud: o.appId };
  }

  /** A genuine channel token, signed with the msteams-endorsed key. */
  token(o: ChannelTokenOptions, claims: Record<string, unknown> = {}): string {
    return signJwt(
      { alg: 'RS256', typ: 'JWT', kid: this.keys.trusted.kid },
      { ...this.claims(o), ...claims },
      this.keys.trusted.privateKey,
    );
  }

  /** The Authorization header value a genuine channel sends. */
  authorization(o: ChannelTokenOptions): string {
    return `Bearer ${this.token(o)}`;
  }

  /** The Authorization header value for a forgery (undefined: send none). */
  forge(forgery: Forgery, o: ChannelTokenOptions): string | undefined {
    const now = o.now ?? Math.floor(Date.now() / 1000);
    const { trusted, unendorsed, stranger } = this.keys;
    const header = (k: SigningKey): Record<string, unknown> => ({ alg: 'RS256', typ: 'JWT', kid: k.kid });
    const bearer = (t: string): string => `Bearer ${t}`;
    switch (forgery) {
      case 'no-token':
        return undefined;
      case 'not-bearer':
        return `Basic ${this.token(o)}`;
      case 'wrong-key':
        return bearer(signJwt(header(stranger), this.claims(o), stranger.privateKey));
      case 'wrong-key-known-kid':
        return bearer(signJwt(header(trusted), this.claims(o), stranger.privateKey));
      case 'unendorsed-key':
        return bearer(signJwt(header(unendorsed), this.claims(o), unendorsed.privateKey));
      case 'wrong-audience':
        return bearer(this.token(o, { aud: randomUUID() }));
      case 'expired':
        return bearer(this.token(o, { nbf: now - 7200, exp: now - 3600 }));
      case 'not-yet-valid':
        return bearer(this.token(o, { nbf: now + 3600, exp: now + 7200 }));
      case 'wrong-issuer':
        return bearer(this.token(o, { iss: 'https://login.evil.example' }));
      case 'emulator-issuer':
        return bearer(this.token(o, { iss: EMULATOR_ISSUER, ver: '1.0', appid: o.appId }));
      case 'serviceurl-mismatch':
        return bearer(this.token(o, { serviceurl: 'https://smba.evil.example/amer/' }));
      case 'bad-signature': {
        const [h, , s] = this.token(o).split('.');
        return bearer(`${h}.${b64url({ ...this.claims(o), exp: now + 86_400 * 365 })}.${s}`);
      }
      case 'alg-none':
        return bearer(signJwt({ alg: 'none', typ: 'JWT', kid: trusted.kid }, this.claims(o)));
    }
  }

  async close(): Promise<void> {
    await this.http?.close();
  }
}
