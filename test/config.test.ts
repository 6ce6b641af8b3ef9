import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

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

  it('takes an empty number as unset, not as zero', () => {
    expect(loadConfig({ PORT: '' }).PORT).toBe(3000);
    expect(loadConfig({ CHANNEL_INTERVAL_MS: ' ' }).CHANNEL_INTERVAL_MS).toBe(1000);
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

  it('polls sandbox records at the sandbox’s pace unless told otherwise', () => {
    expect(loadConfig({ SANDBOX_PROVISION_MS: '2000' })).toMatchObject({ WATCH_MIN_POLL_MS: 200, WATCH_MAX_POLL_MS: 2000 });
    expect(loadConfig({ SANDBOX_PROVISION_MS: '2000', WATCH_MIN_POLL_MS: '50' }).WATCH_MIN_POLL_MS).toBe(50);
    expect(loadConfig({ AWS_PROFILE: 'x' })).toMatchObject({ WATCH_MIN_POLL_MS: 5000, WATCH_MAX_POLL_MS: 60000 });
  });
});
