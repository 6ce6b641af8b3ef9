// The one logger factory: JSON lines, errors with their stack and cause, and one redaction list for every process.
import { pino, type DestinationStream, type Level, type Logger } from 'pino';

/** Field names whose values are never written, at the top level and one level down (`{ headers: { authorization } }`). */
const SECRET_FIELDS = [
  'token',
  'botToken',
  'appToken',
  'secret',
  'signingSecret',
  'password',
  'appPassword',
  'authorization',
  'cookie',
  'webhookUrl',
  'slackFeedWebhookUrl',
  'teamsFeedWebhookUrl',
  'slackSigningSecret',
  'slackBotToken',
  'slackAppToken',
  'teamsAppPassword',
  'dataKey',
  'responseUrl',
  'response_url',
  'url',
];

/**
 * What every logger censors (pino redact paths). Provisioning parameters are values a user typed, NoEcho ones
 * included: their keys are kept, their values never.
 */
export const REDACT: readonly string[] = [
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`]),
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  'headers["x-slack-signature"]',
  '*.headers["x-slack-signature"]',
  'parameters.*',
  '*.parameters.*',
  'params.*',
  '*.params.*',
  'values.*',
  '*.values.*',
  // A queued interaction holds the raw command text, which may carry a NoEcho value.
  'interaction',
  '*.interaction',
];

export function createLogger(level: Level | 'silent', destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: [...REDACT], censor: '[redacted]' } }, destination);
}
