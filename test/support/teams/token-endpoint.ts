// A local Microsoft Entra ID over HTTPS for the bot's outgoing calls: instance discovery, OpenID metadata, client credentials.
import { randomBytes } from 'node:crypto';
import { listen, sendJson, type Listening } from './http.js';
import { DISCOVERY_HOST, routeHostToLoopback } from './tls.js';

export interface AppRegistration {
  appId: string;
  password: string;
  tenantId: string;
}

export interface IssuedToken {
  token: string;
  appId: string;
  tenantId: string;
  /** The scope it was issued for, e.g. https://api.botframework.com/.default */
  scope: string;
  expiresAt: number;
}

export interface TokenRequest {
  method: string;
  path: string;
  /** Form fields of a token request, the client secret replaced by whether it matched. */
  form?: Record<string, string>;
  status: number;
}

type Failure = { status: number; error: string; description: string };

export class TokenEndpoint {
  readonly requests: TokenRequest[] = [];
  readonly issued: IssuedToken[] = [];
  private readonly apps = new Map<string, AppRegistration>();
  private readonly failures: Failure[] = [];
  private http?: Listening;
  private unroute?: () => void;
  /** Seconds an access token lives (expires_in). */
  lifetime = 3599;
  /**
   * When false, instance discovery drops the connection, as if login.microsoftonline.com were unreachable, and MSAL
   * refuses the custom authority (untrusted_authority). Any error answer but `invalid_instance` would not do: MSAL
   * then trusts the host as a custom domain.
   */
  discovery = true;

  /**
   * Starts the endpoint and routes this process's https requests for login.microsoftonline.com (MSAL's instance
   * discovery, which has no setting to skip for a custom login URL) to it.
   */
  async start(): Promise<this> {
    this.http = await listen((req, res, body) => {
      const url = new URL(req.url ?? '/', this.url);
      const method = req.method ?? 'GET';
      const record = (status: number, form?: Record<string, string>): void => {
        this.requests.push({ method, path: url.pathname, status, ...(form ? { form } : {}) });
      };
      if (method === 'GET' && url.pathname === '/common/discovery/instance') {
        if (!this.discovery) {
          record(0);
          req.socket.destroy();
          return;
        }
        record(200);
        // No metadata entry for the host: MSAL then trusts it as a custom domain, as it does with real Entra ID.
        return sendJson(res, 200, {
          tenant_discovery_endpoint: url.searchParams.get('authorization_endpoint') ?? '',
          'api-version': '1.1',
          metadata: [],
        });
      }
      const m = /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|oauth2\/v2\.0\/token)$/.exec(url.pathname);
      const tenantId = m?.[1];
      if (!m || !tenantId || ![...this.apps.values()].some((a) => a.tenantId.toLowerCase() === tenantId.toLowerCase())) {
        record(400);
        return sendJson(res, 400, { error: 'invalid_tenant', error_description: `AADSTS90002: Tenant '${tenantId}' not found.` });
      }
      if (method === 'GET' && m[2]!.startsWith('v2.0')) {
        record(200);
        const base = `${this.url}/${tenantId}`;
        return sendJson(res, 200, {
          issuer: `${base}/v2.0`,
          authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
          token_endpoint: `${base}/oauth2/v2.0/token`,
          jwks_uri: `${base}/discovery/v2.0/keys`,
          token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
          response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        });
      }
      if (method !== 'POST') {
        record(405);
        return sendJson(res, 405, { error: 'invalid_request' });
      }
      const form = Object.fromEntries(new URLSearchParams(body));
      const app = this.apps.get(form.client_id ?? '');
      const secretOk = app !== undefined && form.client_secret === app.password;
      const shown = { ...form, client_secret: secretOk ? '<matched>' : '<wrong>' };
      const fail = (f: Failure): void => {
        record(f.status, shown);
        sendJson(res, f.status, { error: f.error, error_description: f.description });
      };
      const injected = this.failures.shift();
      if (injected) return fail(injected);
      if (form.grant_type !== 'client_credentials') {
        return fail({ status: 400, error: 'unsupported_grant_type', description: 'AADSTS70003: unsupported grant type' });
      }
      if (!app || app.tenantId.toLowerCase() !== tenantId.toLowerCase()) {
        return fail({ status: 400, error: 'unauthorized_client', description: `AADSTS700016: Application '${form.client_id}' not found in '${tenantId}'.` });
      }
      if (!secretOk) {
        return fail({ status: 401, error: 'invalid_client', description: 'AADSTS7000215: Invalid client secret provided.' });
      }
      const scope = form.scope ?? '';
      if (!scope.endsWith('/.default')) {
        return fail({ status: 400, error: 'invalid_scope', description: 'AADSTS1002012: client credentials need a /.default scope' });
      }
      const token = `eyFake.${randomBytes(24).toString('base64url')}`;
      this.issued.push({ token, appId: app.appId, tenantId: app.tenantId, scope, expiresAt: Date.now() + this.lifetime * 1000 });
      record(200, shown);
      return sendJson(res, 200, { token_type: 'Bearer', expires_in: this.lifetime, ext_expires_in: this.lifetime, access_token: token });
    }, true);
    this.unroute = routeHostToLoopback(DISCOVERY_HOST, this.http.port);
    return this;
  }

  get url(): string {
    if (!this.http) throw new Error('TokenEndpoint not started');
    return this.http.url;
  }

  /** An app registration whose client credentials this endpoint accepts. */
  register(app: AppRegistration): void {
    this.apps.set(app.appId, app);
  }

  /** botbuilder's ToChannelFromBotLoginUrl: MSAL's authority, which must name the tenant. */
  loginUrl(tenantId: string): string {
    return `${this.url}/${tenantId}`;
  }

  /** The next `count` token requests fail this way (e.g. 400 invalid_client, 503). */
  failNext(failure: Failure, count = 1): void {
    for (let i = 0; i < count; i++) this.failures.push(failure);
  }

  /** The live token this bearer value carries, if this endpoint issued it for `scope`. */
  verify(authorization: string | undefined, scope: string): IssuedToken | undefined {
    const m = /^Bearer (\S+)$/.exec(authorization ?? '');
    const found = m ? this.issued.find((t) => t.token === m[1]) : undefined;
    return found && found.scope === scope && found.expiresAt > Date.now() ? found : undefined;
  }

  tokenRequests(): TokenRequest[] {
    return this.requests.filter((r) => r.path.endsWith('/oauth2/v2.0/token'));
  }

  async close(): Promise<void> {
    this.unroute?.();
    await this.http?.close();
  }
}
