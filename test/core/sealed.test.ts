// Sealed values: AES-256-GCM under the data key, shared by every process that holds the key, opened by no other.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../../src/core/errors.js';
import { dataKeyProblem, openJson, Sealer, sealJson } from '../../src/core/sealed.js';

const key = () => randomBytes(32).toString('base64');
const fixed = (text: string | undefined) => new Sealer({ get: async () => text });

describe('Sealer', () => {
  it('seals so that nothing of the value shows, and any process with the same key opens it', async () => {
    const k = key();
    const sealed = await fixed(k).seal('DbPassword=s3cret-value');
    expect(sealed).not.toContain('s3cret');
    expect(sealed).toMatch(/^s1\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]+$/);
    // Another replica: its own Sealer, the same key.
    expect(await fixed(k).open(sealed)).toBe('DbPassword=s3cret-value');
    // A fresh IV each time: equal values do not seal alike.
    expect(await fixed(k).seal('same')).not.toBe(await fixed(k).seal('same'));
  });

  it('refuses, with a typed error, a value sealed under another key or tampered with', async () => {
    const sealed = await fixed(key()).seal('x');
    await expect(fixed(key()).open(sealed)).rejects.toThrow(/does not hold/);
    const k = key();
    const good = await fixed(k).seal('value');
    const body = Buffer.from(good.split('.')[2]!, 'base64url');
    body[body.length - 20]! ^= 1;
    const tampered = `${good.split('.').slice(0, 2).join('.')}.${body.toString('base64url')}`;
    const err = await fixed(k).open(tampered).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).retryable).toBe(false);
    await expect(fixed(k).open('not sealed')).rejects.toThrow(/not a sealed value/);
  });

  it('rotates: the first key seals, the others still open what they sealed', async () => {
    const [oldKey, newKey] = [key(), key()];
    const before = await fixed(oldKey).seal('old');
    const rotated = fixed(`${newKey},${oldKey}`);
    expect(await rotated.open(before)).toBe('old');
    expect(await fixed(newKey).open(await rotated.seal('new'))).toBe('new');
  });

  it('re-reads the key once when a value names a key it has not seen (another replica rotated first)', async () => {
    const [oldKey, newKey] = [key(), key()];
    // Like the Secrets Manager adapter: a cached value until told to forget it.
    let inSecretsManager = oldKey;
    let cached: string | undefined;
    let invalidated = 0;
    const lagging = new Sealer({ get: async () => (cached ??= inSecretsManager), invalidate: () => void (invalidated++, (cached = undefined)) });
    await lagging.seal('warm the cache');
    inSecretsManager = `${newKey},${oldKey}`;
    const fromNew = await fixed(inSecretsManager).seal('v');
    expect(await lagging.open(fromNew)).toBe('v');
    expect(invalidated).toBe(1);
  });

  it('without a key: refuses to seal, unless it may hold a key of its own (the one-process sandbox)', async () => {
    await expect(fixed(undefined).seal('x')).rejects.toThrow(/no data key is configured/);
    const own = new Sealer({ get: async () => undefined }, { ephemeral: true });
    expect(await own.open(await own.seal('x'))).toBe('x');
    // Never written anywhere, so no other process can open it.
    await expect(new Sealer({ get: async () => undefined }, { ephemeral: true }).open(await own.seal('x'))).rejects.toThrow(/does not hold/);
  });

  it('names a malformed key without quoting it', async () => {
    expect(dataKeyProblem(key())).toBeUndefined();
    expect(dataKeyProblem(`${key()},${key()}`)).toBeUndefined();
    expect(dataKeyProblem('short-secret-value')).toMatch(/base64 of 32 random bytes/);
    expect(dataKeyProblem(randomBytes(16).toString('base64'))).toBeDefined();
    const err = await fixed('short-secret-value').seal('x').catch((e: Error) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as Error).message).not.toContain('short-secret-value');
  });
});

describe('sealed records', () => {
  it('round-trips a record, and reads one stored before sealing as it is', async () => {
    const s = fixed(key());
    const plan = { name: 'jdoe-nb', parameters: { NotebookPassword: 'hunter2-hunter2' } };
    const stored = await sealJson(s, plan);
    expect(JSON.stringify(stored)).not.toContain('hunter2');
    expect(await openJson(s, stored)).toEqual(plan);
    expect(await openJson(s, plan)).toEqual(plan);
    expect(await openJson(s, undefined)).toBeUndefined();
  });
});
