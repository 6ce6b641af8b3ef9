import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsSecrets } from '../../../src/adapters/aws/secrets.js';
import { UpstreamError } from '../../../src/core/errors.js';

const sm = mockClient(SecretsManagerClient);

function secrets(now: { t: number }, fallback = {}) {
  return new AwsSecrets({ client: new SecretsManagerClient({ region: 'us-east-1' }), secretId: 'scicomp/prod', ttlMs: 60_000, clock: { now: () => now.t }, fallback });
}

beforeEach(() => sm.reset());

describe('AwsSecrets', () => {
  it('reads the JSON secret once per TTL, and again after it', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ slackBotToken: 'xoxb-1', unrelated: 'x' }) });
    const now = { t: 0 };
    const s = secrets(now);
    expect(await s.get('slackBotToken')).toBe('xoxb-1');
    now.t = 59_000;
    expect(await s.get('slackBotToken')).toBe('xoxb-1');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(sm.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toEqual({ SecretId: 'scicomp/prod' });
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ slackBotToken: 'xoxb-2' }) });
    now.t = 61_000;
    expect(await s.get('slackBotToken')).toBe('xoxb-2');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('re-reads at once after invalidate (rotation)', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ slackFeedWebhookUrl: 'https://hooks.example/old' }) });
    const s = secrets({ t: 0 });
    await s.get('slackFeedWebhookUrl');
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ slackFeedWebhookUrl: 'https://hooks.example/new' }) });
    s.invalidate();
    expect(await s.get('slackFeedWebhookUrl')).toBe('https://hooks.example/new');
  });

  it('shares one fetch between concurrent readers', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ slackSigningSecret: 's' }) });
    const s = secrets({ t: 0 });
    await Promise.all([s.get('slackSigningSecret'), s.get('slackBotToken'), s.get('teamsAppId')]);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('falls back to the environment for keys the secret lacks', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({}) });
    expect(await secrets({ t: 0 }, { slackBotToken: 'xoxb-env' }).get('slackBotToken')).toBe('xoxb-env');
  });

  it('never puts a secret value in an error', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ slackBotToken: 12345678 }) });
    const err = await secrets({ t: 0 }).get('slackBotToken').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as Error).message).not.toContain('12345678');
    sm.on(GetSecretValueCommand).rejects(Object.assign(new Error('xoxb-leaked'), { name: 'AccessDeniedException' }));
    const denied = await secrets({ t: 0 }).get('slackBotToken').catch((e: unknown) => e);
    expect((denied as Error).message).not.toContain('xoxb-leaked');
    expect((denied as Error).message).toContain('AccessDeniedException');
  });
});
