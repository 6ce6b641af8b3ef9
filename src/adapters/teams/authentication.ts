// Answers 401 for every inbound Bot Framework request whose token fails, where botbuilder's CloudAdapter answers 500 for some.
import { ConfigurationBotFrameworkAuthentication, type Activity } from 'botbuilder';
import { AuthenticationError } from 'botframework-connector';

// jsonwebtoken's errors, which botbuilder rethrows as they are: CloudAdapter then answers 500 and not 401.
const TOKEN_FAULTS = new Set(['JsonWebTokenError', 'NotBeforeError', 'TokenExpiredError']);

/**
 * The HTTP status for an error thrown while authenticating an inbound activity: 401 when the caller's token is at
 * fault (bad signature, not yet valid, wrong audience, issuer, key or serviceUrl, none at all), 500 when the
 * channel's signing keys could not be fetched, so no token could have been checked.
 */
export function teamsAuthErrorStatus(err: unknown): 401 | 500 {
  if (err instanceof AuthenticationError) return err.statusCode >= 500 ? 500 : 401;
  if (err instanceof Error && TOKEN_FAULTS.has(err.name)) return 401;
  return 500;
}

function authenticationFailure(err: unknown): Error {
  if (teamsAuthErrorStatus(err) === 500) {
    // A plain Error: CloudAdapter answers 500 to it and 401 to any AuthenticationError.
    return new Error('Bot Framework signing keys are unavailable', { cause: err });
  }
  if (err instanceof AuthenticationError) return err;
  return new AuthenticationError(`Unauthorized. ${(err as Error).message}`, 401);
}

/**
 * ConfigurationBotFrameworkAuthentication whose inbound checks fail with 401 for every token fault, so
 * `new CloudAdapter(new StrictBotFrameworkAuthentication(settings))` answers a forged request 401, never 500.
 */
export class StrictBotFrameworkAuthentication extends ConfigurationBotFrameworkAuthentication {
  override async authenticateRequest(
    activity: Activity,
    authHeader: string,
  ): ReturnType<ConfigurationBotFrameworkAuthentication['authenticateRequest']> {
    try {
      return await super.authenticateRequest(activity, authHeader);
    } catch (err) {
      throw authenticationFailure(err);
    }
  }

  override async authenticateChannelRequest(
    authHeader: string,
  ): ReturnType<ConfigurationBotFrameworkAuthentication['authenticateChannelRequest']> {
    try {
      return await super.authenticateChannelRequest(authHeader);
    } catch (err) {
      throw authenticationFailure(err);
    }
  }

  override async authenticateStreamingRequest(
    authHeader: string,
    channelIdHeader: string,
  ): ReturnType<ConfigurationBotFrameworkAuthentication['authenticateStreamingRequest']> {
    try {
      return await super.authenticateStreamingRequest(authHeader, channelIdHeader);
    } catch (err) {
      throw authenticationFailure(err);
    }
  }
}
