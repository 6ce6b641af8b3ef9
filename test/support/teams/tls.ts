// TLS for the local identity fakes: the server certificate issued by the per-run test CA, and routing one host to loopback.
import { existsSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';

export const TLS_DIR_ENV = 'SCICOMP_TEST_TLS_DIR';
/** Microsoft's instance-discovery host, which MSAL calls before it trusts a custom login URL. */
export const DISCOVERY_HOST = 'login.microsoftonline.com';
/** The names the test server certificate is valid for. */
export const TLS_HOSTS = ['localhost', '127.0.0.1', DISCOVERY_HOST];

export interface ServerTls {
  key: string;
  cert: string;
}

/** The server key and certificate from globalSetup; throws if this process does not trust their CA. */
export function serverTls(): ServerTls {
  const dir = process.env[TLS_DIR_ENV];
  if (!dir || !existsSync(join(dir, 'server-key.pem'))) {
    throw new Error(
      `${TLS_DIR_ENV} is not set: run through vitest, whose globalSetup (test/support/teams/tls-setup.ts) issues the test CA`,
    );
  }
  if (process.env.NODE_EXTRA_CA_CERTS !== join(dir, 'ca.pem')) {
    throw new Error('NODE_EXTRA_CA_CERTS is not the test CA bundle: node only reads it at process start, set it before');
  }
  return { key: readFileSync(join(dir, 'server-key.pem'), 'utf8'), cert: readFileSync(join(dir, 'server-cert.pem'), 'utf8') };
}

type ConnectionOptions = { host?: string | null; port?: number | string | null; servername?: string } & Record<string, unknown>;

/**
 * An https.Agent that sends connections for a routed `host:443` to a loopback port instead, keeping the TLS server
 * name, so the peer must still present a certificate for `host` that this process trusts. Other hosts go out unchanged.
 */
class LoopbackRoutes extends https.Agent {
  /** host -> loopback ports, newest last; the newest live one is used. */
  readonly routes = new Map<string, number[]>();

  override createConnection(options: ConnectionOptions, callback?: (err: Error | null, socket: Duplex) => void): Duplex {
    const port = options.host ? this.routes.get(options.host)?.at(-1) : undefined;
    const to443 = options.port === undefined || options.port === null || Number(options.port) === 443;
    const routed =
      port !== undefined && to443 ? { ...options, host: '127.0.0.1', port, servername: options.servername || options.host! } : options;
    // https.Agent#createConnection exists at runtime but is not in @types/node's Agent declaration.
    const base = https.Agent.prototype as unknown as {
      createConnection(o: ConnectionOptions, cb?: (err: Error | null, socket: Duplex) => void): Duplex;
    };
    return base.createConnection.call(this, routed, callback);
  }
}

let installed: { agent: LoopbackRoutes; original: https.Agent } | undefined;

/**
 * Routes https requests for `host` made through node's global https agent (as MSAL's network client makes them) to
 * `127.0.0.1:port`. Returns the undo; the global agent is restored when no route is left. Only this process is affected.
 */
export function routeHostToLoopback(host: string, port: number): () => void {
  if (!installed) {
    installed = { agent: new LoopbackRoutes({ keepAlive: false }), original: https.globalAgent };
    https.globalAgent = installed.agent;
  }
  const { routes } = installed.agent;
  routes.set(host, [...(routes.get(host) ?? []), port]);
  let undone = false;
  return () => {
    if (undone || !installed) return;
    undone = true;
    const ports = routes.get(host) ?? [];
    const at = ports.lastIndexOf(port);
    if (at >= 0) ports.splice(at, 1);
    if (!ports.length) routes.delete(host);
    if (routes.size === 0) {
      https.globalAgent = installed.original;
      installed.agent.destroy();
      installed = undefined;
    }
  };
}
