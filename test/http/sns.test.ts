// The string SNS signs, pinned to literal strings from the AWS docs' field order, and verification of SignatureVersion 1 and 2.
import { describe, expect, it } from 'vitest';
import { SnsRejected, SnsVerifier, stringToSign, type SnsMessage } from '../../src/http/sns.js';
import { CERT_URL, forger, sign, signer, snsStringToSign, verifierForTests } from '../support/sns.js';

const ARN = 'arn:aws:sns:us-east-1:111122223333:scicomp-user-jdoe-synapse-org';
const base = { MessageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324', TopicArn: ARN, Timestamp: '2026-11-23T10:03:13.001Z' };
const withSubject = { Type: 'Notification', ...base, Subject: 'ALARM: "cpu-high"', Message: '{"AlarmName":"a"}' } as const;
const withoutSubject = { Type: 'Notification', ...base, Message: 'hello\nworld' } as const;
const confirmation = {
  Type: 'SubscriptionConfirmation',
  ...base,
  Token: '2336412f37fb687f5d51e6e241d09c80',
  Message: 'You have chosen to subscribe to the topic.',
  SubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${ARN}&Token=2336412f37fb687f5d51e6e241d09c80`,
} as const;

const EXPECTED = {
  withSubject:
    'Message\n{"AlarmName":"a"}\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\nSubject\nALARM: "cpu-high"\nTimestamp\n2026-11-23T10:03:13.001Z\n' +
    `TopicArn\n${ARN}\nType\nNotification\n`,
  withoutSubject: `Message\nhello\nworld\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\nTimestamp\n2026-11-23T10:03:13.001Z\nTopicArn\n${ARN}\nType\nNotification\n`,
  confirmation:
    'Message\nYou have chosen to subscribe to the topic.\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n' +
    `SubscribeURL\nhttps://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${ARN}&Token=2336412f37fb687f5d51e6e241d09c80\n` +
    `Timestamp\n2026-11-23T10:03:13.001Z\nToken\n2336412f37fb687f5d51e6e241d09c80\nTopicArn\n${ARN}\nType\nSubscriptionConfirmation\n`,
};

describe('the string SNS signs', () => {
  it.each([
    ['a Notification with a Subject', withSubject, EXPECTED.withSubject],
    ['a Notification without a Subject', withoutSubject, EXPECTED.withoutSubject],
    ['a SubscriptionConfirmation', confirmation, EXPECTED.confirmation],
  ])('for %s, in the test signer and in the verifier', (_what, m, expected) => {
    expect(snsStringToSign(m)).toBe(expected);
    expect(stringToSign(m as unknown as SnsMessage)).toBe(expected);
  });
});

describe('SnsVerifier', () => {
  const verifier = verifierForTests();
  it.each(['1', '2'] as const)('accepts SignatureVersion %s signed by SNS’s certificate', async (v) => {
    await expect(verifier.verify(sign(withSubject, v))).resolves.toBeUndefined();
    await expect(verifier.verify(sign(confirmation, v))).resolves.toBeUndefined();
  });

  it.each(['1', '2'] as const)('refuses SignatureVersion %s forged with another key, altered, or with its version switched', async (v) => {
    const refused = (m: SnsMessage) => expect(verifier.verify(m)).rejects.toSatisfy((e: unknown) => e instanceof SnsRejected && e.status === 403);
    await refused(sign(withSubject, v, forger.key));
    await refused({ ...sign(withSubject, v), Message: '{"AlarmName":"b"}' });
    await refused({ ...sign(withSubject, v), Subject: undefined } as SnsMessage);
    await refused({ ...sign(withSubject, v), SignatureVersion: v === '1' ? '2' : '1' });
  });
});

describe('SnsVerifier’s certificate cache', () => {
  const certUrl = (n: number) => `https://sns.us-east-1.amazonaws.com/SimpleNotificationService-${n.toString(16).padStart(32, '0')}.pem`;

  it('stays bounded however many distinct certificate URLs fail, and remembers a failure for a few seconds', async () => {
    let now = 0;
    const fetched: string[] = [];
    const v = new SnsVerifier({
      fetchCert: async (url) => {
        fetched.push(url);
        throw new Error('HTTP 404');
      },
      now: () => now,
    });
    const forged = sign(withSubject, '1', forger.key);
    const attempt = (url: string) => v.verify({ ...forged, SigningCertURL: url }).catch((e: SnsRejected) => e.status);
    for (let i = 0; i < 3000; i++) {
      // Past the fetch budget's minute, so that every URL is fetched and remembered.
      if (i % 20 === 0) now += 60_000;
      await attempt(certUrl(i));
    }
    expect(fetched).toHaveLength(3000);
    expect(v.cachedCertificates).toBeLessThanOrEqual(32 + 1024);
    now += 60_000;
    const url = certUrl(1_000_000);
    expect([await attempt(url), await attempt(url)]).toEqual([503, 503]);
    expect(fetched.filter((u) => u === url)).toHaveLength(1);
    now += 11_000;
    await attempt(url);
    expect(fetched.filter((u) => u === url)).toHaveLength(2);
  });

  it('fetches at most 20 new certificates a minute, and a known one is never pushed out', async () => {
    let now = 60_000;
    const fetched: string[] = [];
    const v = new SnsVerifier({
      fetchCert: async (url) => {
        fetched.push(url);
        if (url !== CERT_URL) throw new Error('HTTP 404');
        return signer.cert;
      },
      now: () => now,
    });
    await expect(v.verify(sign(withSubject))).resolves.toBeUndefined();
    const forged = sign(withSubject, '1', forger.key);
    const statuses = await Promise.all(Array.from({ length: 200 }, (_, i) => v.verify({ ...forged, SigningCertURL: certUrl(i + 1) }).catch((e: SnsRejected) => e.status)));
    expect(new Set(statuses)).toEqual(new Set([503]));
    expect(fetched.length).toBeLessThanOrEqual(20);
    await expect(v.verify(sign(withSubject))).resolves.toBeUndefined();
    now += 60_000;
    await v.verify({ ...forged, SigningCertURL: certUrl(500) }).catch(() => undefined);
    expect(fetched.at(-1)).toBe(certUrl(500));
  });
});
