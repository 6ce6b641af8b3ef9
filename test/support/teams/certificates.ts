// Issues a throwaway X.509 CA and TLS server certificates (ECDSA P-256) with node's crypto alone, DER-encoded by hand.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { isIP } from 'node:net';

export interface IssuedCertificate {
  /** PEM certificate. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
}

// DER encoding, only the shapes an X.509 certificate needs.
function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, content: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), length(content.length), content]);
const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
const explicit = (n: number, content: Buffer): Buffer => tlv(0xa0 + n, content);
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const bits = (b: Buffer): Buffer => tlv(0x03, Buffer.concat([Buffer.from([0]), b]));
const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));

function integer(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return tlv(0x02, v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const out = [40 * a + b];
  for (const n of rest) {
    const chunk: number[] = [n & 0x7f];
    for (let v = n >>> 7; v > 0; v >>>= 7) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}

const OID = {
  commonName: '2.5.4.3',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  subjectAltName: '2.5.29.17',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
};

const name = (cn: string): Buffer => seq(set(seq(oid(OID.commonName), utf8(cn))));
const extension = (id: string, critical: boolean, value: Buffer): Buffer =>
  seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

function keyId(publicKey: KeyObject): Buffer {
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return createHash('sha1').update(spki).digest();
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  throw new Error(`only IPv4 addresses are supported in a test certificate, got ${ip}`);
}

interface Draft {
  subject: string;
  issuer: string;
  publicKey: KeyObject;
  signer: KeyObject;
  issuerPublicKey: KeyObject;
  extensions: Buffer[];
  days: number;
}

function certificate(d: Draft): string {
  const signatureAlgorithm = seq(oid(OID.ecdsaWithSha256));
  const now = Date.now();
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(Buffer.concat([Buffer.from([0x01]), randomBytes(15)])),
    signatureAlgorithm,
    name(d.issuer),
    seq(time(new Date(now - 60 * 60_000)), time(new Date(now + d.days * 86_400_000))),
    name(d.subject),
    d.publicKey.export({ format: 'der', type: 'spki' }),
    explicit(3, seq(
      extension(OID.subjectKeyId, false, octets(keyId(d.publicKey))),
      extension(OID.authorityKeyId, false, seq(tlv(0x80, keyId(d.issuerPublicKey)))),
      ...d.extensions,
    )),
  );
  const der = seq(tbs, signatureAlgorithm, bits(sign('sha256', tbs, d.signer)));
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
}

const pkcs8 = (k: KeyObject): string => k.export({ format: 'pem', type: 'pkcs8' }).toString();

/** A self-signed CA able to sign server certificates only (path length 0). */
export function createCertificateAuthority(commonName = 'scicomp test CA', days = 2): IssuedCertificate {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const cert = certificate({
    subject: commonName,
    issuer: commonName,
    publicKey,
    signer: privateKey,
    issuerPublicKey: publicKey,
    days,
    extensions: [
      extension(OID.basicConstraints, true, seq(bool(true), integer(Buffer.from([0])))),
      extension(OID.keyUsage, true, bits(Buffer.from([0x06]))), // keyCertSign | cRLSign
    ],
  });
  return { cert, key: pkcs8(privateKey) };
}

/** A TLS server certificate for `hosts` (DNS names or IPv4 addresses), signed by `ca`. */
export function issueServerCertificate(ca: IssuedCertificate, hosts: string[], days = 2): IssuedCertificate {
  const caKey = createPrivateKey(ca.key);
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const altNames = hosts.map((h) => (isIP(h) ? tlv(0x87, ipBytes(h)) : tlv(0x82, Buffer.from(h, 'ascii'))));
  const cert = certificate({
    subject: hosts[0] ?? 'localhost',
    issuer: caCommonName(ca.cert),
    publicKey,
    signer: caKey,
    issuerPublicKey: createPublicKey(caKey),
    days,
    extensions: [
      extension(OID.basicConstraints, true, seq()),
      extension(OID.keyUsage, true, bits(Buffer.from([0x80]))), // digitalSignature
      extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth))),
      extension(OID.subjectAltName, false, seq(...altNames)),
    ],
  });
  return { cert, key: pkcs8(privateKey) };
}

function caCommonName(pem: string): string {
  const m = /CN=([^\n,]+)/.exec(new X509Certificate(pem).subject);
  if (!m) throw new Error('CA certificate has no common name');
  return m[1]!;
}
