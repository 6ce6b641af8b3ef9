import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactCredentials } from '../src/config.js';
import { createLogger } from '../src/log.js';

describe('config', () => {
  it('defaults to the sandbox without AWS credentials, and says why', () => {
    const c = loadConfig({});
    expect(c.aws).toBe('sandbox');
    expect(c.awsReason).toBe('no AWS credentials configured');
    expect(c.PORT).toBe(3000);
    expect(c.REDIS_URL).toBe('redis://127.0.0.1:6379');
  });

  it('uses AWS when credentials are present', () => {
    expect(loadConfig({ AWS_PROFILE: 'research' }).aws).toBe('aws');
    const home = mkdtempSync(join(tmpdir(), 'scicomp-home-'));
    expect(loadConfig({ HOME: home }).aws).toBe('sandbox');
    mkdirSync(join(home, '.aws'));
    writeFileSync(join(home, '.aws', 'credentials'), '[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = x\n');
    expect(loadConfig({ HOME: home })).toMatchObject({ aws: 'aws', awsReason: 'AWS credentials found' });
    expect(loadConfig({ AWS_PROFILE: 'research', SCICOMP_AWS: 'sandbox' }).aws).toBe('sandbox');
  });

  it('reconciles the inventory every 5 minutes at 2 pages a second unless told otherwise', () => {
    expect(loadConfig({})).toMatchObject({ INVENTORY_RECONCILE_MS: 300_000, INVENTORY_PAGES_PER_SECOND: 2, SANDBOX_PRODUCTS: 0, SANDBOX_API_LATENCY_MS: 0 });
    expect(loadConfig({ INVENTORY_RECONCILE_MS: '60000', INVENTORY_PAGES_PER_SECOND: '5' })).toMatchObject({ INVENTORY_RECONCILE_MS: 60_000, INVENTORY_PAGES_PER_SECOND: 5 });
    expect(() => loadConfig({ INVENTORY_RECONCILE_MS: '10' })).toThrow(/^invalid configuration: INVENTORY_RECONCILE_MS: .*\(got "10"\)$/);
    expect(() => loadConfig({ INVENTORY_PAGES_PER_SECOND: '0' })).toThrow(/INVENTORY_PAGES_PER_SECOND/);
  });

  it('seeds the sandbox and slows its calls only when asked', () => {
    expect(loadConfig({ SANDBOX_PRODUCTS: '10000', SANDBOX_API_LATENCY_MS: '200' })).toMatchObject({ SANDBOX_PRODUCTS: 10_000, SANDBOX_API_LATENCY_MS: 200 });
    expect(() => loadConfig({ SANDBOX_PRODUCTS: '-1' })).toThrow(/SANDBOX_PRODUCTS/);
    expect(() => loadConfig({ SANDBOX_API_LATENCY_MS: 'slow' })).toThrow(/SANDBOX_API_LATENCY_MS/);
  });

  it('takes an empty number as unset, not as zero', () => {
    expect(loadConfig({ PORT: '' }).PORT).toBe(3000);
    expect(loadConfig({ SLACK_CHANNEL_INTERVAL_MS: ' ' }).SLACK_CHANNEL_INTERVAL_MS).toBe(1000);
    expect(loadConfig({ CHANNEL_INTERVAL_MS: ' ' })).toMatchObject({ SLACK_CHANNEL_INTERVAL_MS: 1000, deprecated: [] });
  });

  it('reads the Slack pacing under its old name too, and says it is deprecated', () => {
    expect(loadConfig({ CHANNEL_INTERVAL_MS: '1500' })).toMatchObject({ SLACK_CHANNEL_INTERVAL_MS: 1500, deprecated: [expect.stringMatching(/^CHANNEL_INTERVAL_MS is now SLACK_CHANNEL_INTERVAL_MS/)] });
    expect(loadConfig({ CHANNEL_INTERVAL_MS: '1500', SLACK_CHANNEL_INTERVAL_MS: '1200' }).SLACK_CHANNEL_INTERVAL_MS).toBe(1200);
    expect(loadConfig({}).deprecated).toEqual([]);
  });

  it('stops with one line naming the variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/^invalid configuration: PORT: .*\(got "eighty"\)$/);
    expect(() => loadConfig({ SCICOMP_AWS: 'azure' })).toThrow(/SCICOMP_AWS/);
    expect(() => loadConfig({ SLACK_API_URL: 'not a url' })).toThrow(/SLACK_API_URL/);
  });

  it('accepts SNS messages up to an hour old unless told otherwise, between a minute and 7 days', () => {
    expect(loadConfig({}).SNS_MAX_AGE_MS).toBe(3_600_000);
    expect(loadConfig({ SNS_MAX_AGE_MS: '172800000' }).SNS_MAX_AGE_MS).toBe(172_800_000);
    expect(() => loadConfig({ SNS_MAX_AGE_MS: '1000' })).toThrow(/^invalid configuration: SNS_MAX_AGE_MS: .*\(got "1000"\)$/);
    expect(() => loadConfig({ SNS_MAX_AGE_MS: String(8 * 86400_000) })).toThrow(/SNS_MAX_AGE_MS/);
  });

  it('never echoes the credentials of a URL-valued setting, even one too malformed to parse', () => {
    const message = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('expected a ConfigError');
    };
    const redis = message({ REDIS_URL: 'redis://admin:p@ss word@redis host:6379' });
    expect(redis).toBe('invalid configuration: REDIS_URL: Invalid URL (got "redis://admin:***@redis host:6379")');
    expect(message({ REDIS_URL: 'redis//:hunter2@cache' })).not.toContain('hunter2');
    expect(message({ SLACK_API_URL: 'https://bot:tok3n@ slack.example' })).toContain('"https://bot:***@ slack.example"');
    expect(message({ SCICOMP_PUBLIC_URL: 'https://tok3n@ bot.example' })).toContain('"https://***@ bot.example"');
    expect(redactCredentials('redis://user:pass@host:6379/0')).toBe('redis://user:***@host:6379/0');
    expect(redactCredentials('redis://host:6379')).toBe('redis://host:6379');
  });

  it('takes a data key of 32 base64 bytes (two while rotating) and never echoes a bad one', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    expect(loadConfig({ SCICOMP_DATA_KEY: key }).SCICOMP_DATA_KEY).toBe(key);
    expect(loadConfig({ SCICOMP_DATA_KEY: `${key},${Buffer.alloc(32, 9).toString('base64')}` }).SCICOMP_DATA_KEY).toContain(',');
    expect(() => loadConfig({ SCICOMP_DATA_KEY: 'not-a-key-s3cret' })).toThrow(/^invalid configuration: SCICOMP_DATA_KEY: must be base64 of 32 random bytes/);
    expect(() => loadConfig({ SCICOMP_DATA_KEY: 'not-a-key-s3cret' })).not.toThrow(/s3cret/);
  });

  it('logs no parameter values: the one redaction list covers what may carry them', () => {
    const lines: string[] = [];
    const log = createLogger('trace', { write: (l: string) => void lines.push(l) });
    log.info({ parameters: { DbPassword: 'pw-s3cret' }, job: { params: { DbPassword: 'pw-s3cret' }, interaction: { text: 'DbPassword=pw-s3cret' } } }, 'x');
    log.info({ values: { DbPassword: 'pw-s3cret' }, dataKey: 'k-s3cret' }, 'y');
    expect(lines).toHaveLength(2);
    expect(lines.join('\n')).not.toContain('s3cret');
  });

  it('polls sandbox records at the sandbox’s pace unless told otherwise', () => {
    expect(loadConfig({ SANDBOX_PROVISION_MS: '2000' })).toMatchObject({ WATCH_MIN_POLL_MS: 200, WATCH_MAX_POLL_MS: 2000 });
    expect(loadConfig({ SANDBOX_PROVISION_MS: '2000', WATCH_MIN_POLL_MS: '50' }).WATCH_MIN_POLL_MS).toBe(50);
    expect(loadConfig({ AWS_PROFILE: 'x' })).toMatchObject({ WATCH_MIN_POLL_MS: 5000, WATCH_MAX_POLL_MS: 60000 });
  });
});
