// The bot's ConfigurationBotFrameworkAuthentication settings, pointing every endpoint at the local fakes.
import type { ConfigurationBotFrameworkAuthenticationOptions } from 'botbuilder';
import { CHANNEL_TOKEN_ISSUER, type ChannelIssuer } from './channel-issuer.js';
import type { AppRegistration, TokenEndpoint } from './token-endpoint.js';

/** botbuilder's ToChannelFromBotOAuthScope: the audience of the bot's tokens for the Bot Connector. */
export const CONNECTOR_AUDIENCE = 'https://api.botframework.com';
/** botbuilder's CallerId for activities from the public Azure channel. */
export const PUBLIC_AZURE_CALLER_ID = 'urn:botframework:azure';

/**
 * A SingleTenant bot's settings. botbuilder takes the seven endpoint settings all or nothing: as soon as one is set it
 * uses exactly these (BotFrameworkAuthenticationFactory), so none falls back to a Microsoft endpoint.
 */
export function botSettings(
  app: AppRegistration,
  issuer: ChannelIssuer,
  tokens: TokenEndpoint,
): ConfigurationBotFrameworkAuthenticationOptions {
  return {
    MicrosoftAppId: app.appId,
    MicrosoftAppPassword: app.password,
    MicrosoftAppTenantId: app.tenantId,
    MicrosoftAppType: 'SingleTenant',
    ToBotFromChannelOpenIdMetadataUrl: issuer.openIdMetadataUrl,
    ToBotFromChannelTokenIssuer: CHANNEL_TOKEN_ISSUER,
    ToBotFromEmulatorOpenIdMetadataUrl: issuer.emulatorOpenIdMetadataUrl,
    // MSAL's authority: PasswordServiceClientCredentialFactory uses this URL as is (lower-cased), tenant included.
    ToChannelFromBotLoginUrl: tokens.loginUrl(app.tenantId),
    ToChannelFromBotOAuthScope: CONNECTOR_AUDIENCE,
    // The user-token (OAuth card sign-in) service; scicomp signs nobody in, so nothing listens there.
    OAuthUrl: `${tokens.url}/user-token-service-unused`,
    CallerId: PUBLIC_AZURE_CALLER_ID,
  };
}
