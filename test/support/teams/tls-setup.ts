// vitest globalSetup: a per-run test CA that every test worker trusts through NODE_EXTRA_CA_CERTS, read at process start.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority, issueServerCertificate } from './certificates.js';
import { TLS_DIR_ENV, TLS_HOSTS } from './tls.js';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'scicomp-test-tls-'));
  const ca = createCertificateAuthority();
  const server = issueServerCertificate(ca, TLS_HOSTS);
  // Keep any CA bundle the caller already trusts (a corporate proxy), and add ours.
  const bundle = process.env.NODE_EXTRA_CA_CERTS;
  const inherited = bundle && existsSync(bundle) ? readFileSync(bundle, 'utf8') : '';
  writeFileSync(join(dir, 'ca.pem'), `${inherited}${inherited.endsWith('\n') || !inherited ? '' : '\n'}${ca.cert}`);
  writeFileSync(join(dir, 'server-cert.pem'), server.cert);
  writeFileSync(join(dir, 'server-key.pem'), server.key, { mode: 0o600 });
  // Workers are forked after globalSetup with a copy of this process's env (vitest pool 'forks').
  process.env.NODE_EXTRA_CA_CERTS = join(dir, 'ca.pem');
  process.env[TLS_DIR_ENV] = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
