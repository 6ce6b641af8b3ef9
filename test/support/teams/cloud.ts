// The whole offline Bot Framework a Teams bot talks to: channel issuer, token endpoint and Bot Connector, for one app.
import { randomBytes, randomUUID } from 'node:crypto';
import type { ConfigurationBotFrameworkAuthenticationOptions } from 'botbuilder';
import type { TeamsActivity, TeamsContext } from './activities.js';
import { ChannelIssuer, type Forgery } from './channel-issuer.js';
import { BotConnector } from './connector.js';
import { botSettings } from './settings.js';
import { TokenEndpoint, type AppRegistration } from './token-endpoint.js';

export interface TeamsCloudOptions {
  botName?: string;
  /** Defaults to a random app id, so botbuilder's process-wide token cache never crosses tests. */
  appId?: string;
  tenantId?: string;
}

export class TeamsCloud {
  private constructor(
    readonly app: AppRegistration,
    readonly botName: string,
    readonly issuer: ChannelIssuer,
    readonly tokens: TokenEndpoint,
    readonly connector: BotConnector,
  ) {}

  static async start(o: TeamsCloudOptions = {}): Promise<TeamsCloud> {
    const app = {
      appId: o.appId ?? randomUUID(),
      password: `pw~${randomBytes(24).toString('base64url')}`,
      tenantId: o.tenantId ?? randomUUID(),
    };
    const issuer = await new ChannelIssuer().start();
    const tokens = await new TokenEndpoint().start();
    tokens.register(app);
    const connector = await new BotConnector(tokens).start();
    return new TeamsCloud(app, o.botName ?? 'scicomp', issuer, tokens, connector);
  }

  /** The bot's ConfigurationBotFrameworkAuthentication settings. */
  settings(overrides: Partial<ConfigurationBotFrameworkAuthenticationOptions> = {}): ConfigurationBotFrameworkAuthenticationOptions {
    return { ...botSettings(this.app, this.issuer, this.tokens), ...overrides };
  }

  /** What activity builders need. */
  get context(): TeamsContext {
    return { serviceUrl: this.connector.serviceUrl, tenantId: this.app.tenantId, botAppId: this.app.appId, botName: this.botName };
  }

  /**
   * POSTs `activity` to the bot at `url` as Teams does: JSON, with a channel token for this bot and the activity's
   * serviceUrl, or the given forgery (or raw Authorization value) instead.
   */
  async send(url: string, activity: TeamsActivity, o: { forgery?: Forgery; authorization?: string } = {}): Promise<Response> {
    const claims = { appId: this.app.appId, serviceUrl: activity.serviceUrl };
    const authorization =
      o.authorization ?? (o.forgery ? this.issuer.forge(o.forgery, claims) : this.issuer.authorization(claims));
    return fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify(activity),
    });
  }

  async close(): Promise<void> {
    await Promise.all([this.connector.close(), this.tokens.close(), this.issuer.close()]);
  }
}
