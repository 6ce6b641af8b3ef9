// SecretsPort over AWS Secrets Manager (one JSON secret, cached with a TTL, re-read on rotation), and the env-var fallback.
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { UpstreamError } from '../../core/errors.js';
import { SECRET_NAMES, systemClock, type Clock, type SecretName, type SecretsPort } from '../../core/ports.js';

const secretDocument = z.object(Object.fromEntries(SECRET_NAMES.map((n) => [n, z.string().optional()])) as Record<SecretName, z.ZodOptional<z.ZodString>>);

type Values = Partial<Record<SecretName, string>>;

export class AwsSecrets implements SecretsPort {
  private cached?: { values: Values; at: number };
  private inflight?: Promise<Values>;
  private readonly clock: Clock;

  constructor(
    private readonly opts: { client: SecretsManagerClient; secretId: string; ttlMs: number; clock?: Clock; fallback?: Values },
  ) {
    this.clock = opts.clock ?? systemClock;
  }

  private async fetch(): Promise<Values> {
    let raw: string | undefined;
    try {
      raw = (await this.opts.client.send(new GetSecretValueCommand({ SecretId: this.opts.secretId }))).SecretString;
    } catch (err) {
      // The message names the secret id and AWS's error name only, never a value.
      throw new UpstreamError(`could not read secret ${this.opts.secretId}: ${(err as Error).name}`, true);
    }
    let json: unknown;
    try {
      json = JSON.parse(raw ?? '{}');
    } catch {
      throw new UpstreamError(`secret ${this.opts.secretId} is not a JSON object`, false);
    }
    const parsed = secretDocument.safeParse(json);
    if (!parsed.success) throw new UpstreamError(`secret ${this.opts.secretId} has a non-string value at ${parsed.error.issues[0]?.path.join('.')}`, false);
    return parsed.data as Values;
  }

  private async values(): Promise<Values> {
    if (this.cached && this.clock.now() - this.cached.at < this.opts.ttlMs) return this.cached.values;
    this.inflight ??= this.fetch()
      .then((values) => {
        this.cached = { values, at: this.clock.now() };
        return values;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  async get(name: SecretName): Promise<string | undefined> {
    return (await this.values())[name] ?? this.opts.fallback?.[name];
  }

  invalidate(): void {
    this.cached = undefined;
  }
}

export class EnvSecrets implements SecretsPort {
  constructor(private readonly values: Values) {}

  async get(name: SecretName): Promise<string | undefined> {
    return this.values[name];
  }

  invalidate(): void {}
}
