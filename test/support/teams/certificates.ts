// Issues a throwaway X.509 CA and TLS server certificates (ECDSA P-256) with node's crypto alone, DER-encoded by hand.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { isIP } from 'node:net';
import { bits, bool, distinguishedName, explicit, integer, octets, oid, pemCertificate, seq, serialNumber, tlv, V3, validity } from '../../../src/sandbox/der.js';

export interface IssuedCertificate {
  /** PEM certificate. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
}

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  subjectAltName: '2.5.29.17',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
};

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
  const tbs = seq(
    V3,
    serialNumber(),
    signatureAlgorithm,
    distinguishedName(d.issuer),
    validity(d.days),
    distinguishedName(d.subject),
    d.publicKey.export({ format: 'der', type: 'spki' }),
    explicit(3, seq(
      extension(OID.subjectKeyId, false, octets(keyId(d.publicKey))),
      extension(OID.authorityKeyId, false, seq(tlv(0x80, keyId(d.issuerPublicKey)))),
      ...d.extensions,
    )),
  );
  const der = seq(tbs, signatureAlgorithm, bits(sign('sha256', tbs, d.signer)));
  return pemCertificate(der);
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
