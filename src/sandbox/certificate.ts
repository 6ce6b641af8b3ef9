// A self-signed X.509 certificate (RSA 2048, SHA-256) made with node's crypto alone, DER-encoded by hand: what the sandbox SNS
// signs with, as SNS signs with its own.
import { generateKeyPairSync, sign } from 'node:crypto';
import { bits, distinguishedName, NULL, oid, pemCertificate, seq, serialNumber, V3, validity } from './der.js';

const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';

export interface KeyAndCertificate {
  /** PEM PKCS#8 private key. */
  key: string;
  /** PEM certificate. */
  cert: string;
}

/** A new RSA key and a certificate for it, signed by itself, valid from an hour ago for `days`. */
export function selfSignedCertificate(commonName: string, days: number): KeyAndCertificate {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const algorithm = seq(oid(SHA256_WITH_RSA), NULL);
  const name = distinguishedName(commonName);
  const tbs = seq(
    V3,
    serialNumber(),
    algorithm,
    name,
    validity(days),
    name,
    publicKey.export({ format: 'der', type: 'spki' }),
  );
  const der = seq(tbs, algorithm, bits(sign('sha256', tbs, privateKey)));
  return {
    key: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    cert: pemCertificate(der),
  };
}
