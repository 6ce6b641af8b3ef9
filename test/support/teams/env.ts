// The environment a scicomp process reads Teams from, pointing at one offline TeamsCloud (tests and the bench).
import type { TeamsCloud } from './cloud.js';

/** The environment a process reads Teams from: the app, and the seven endpoint settings pointing at the fakes. */
export function teamsEnv(cloud: TeamsCloud): Record<string, string> {
  const s = cloud.settings();
  return {
    TEAMS_APP_ID: cloud.app.appId,
    TEAMS_APP_PASSWORD: cloud.app.password,
    TEAMS_TENANT_ID: cloud.app.tenantId,
    TEAMS_CHANNEL_INTERVAL_MS: '20',
    ToBotFromChannelOpenIdMetadataUrl: s.ToBotFromChannelOpenIdMetadataUrl!,
    ToBotFromChannelTokenIssuer: s.ToBotFromChannelTokenIssuer!,
    ToBotFromEmulatorOpenIdMetadataUrl: s.ToBotFromEmulatorOpenIdMetadataUrl!,
    ToChannelFromBotLoginUrl: s.ToChannelFromBotLoginUrl!,
    ToChannelFromBotOAuthScope: s.ToChannelFromBotOAuthScope!,
    OAuthUrl: s.OAuthUrl!,
    CallerId: s.CallerId!,
  };
}

