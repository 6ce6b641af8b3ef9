// Signs SNS messages the way SNS does (SignatureVersion 1 and 2) with a key and certificate made for the test run,
// and builds real-shaped CloudWatch alarm and Budgets notifications from the fixtures.
import { createSign, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SnsVerifier, type SnsMessage } from '../../src/http/sns.js';
import { selfSignedCertificate } from '../../src/sandbox/certificate.js';

export const CERT_URL = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem';

const keyAndCert = () => selfSignedCertificate('sns.amazonaws.com', 2);

export const signer = keyAndCert();
/** Another key: what a forger would sign with. */
export const forger = keyAndCert();

export function verifierForTests(onFetch?: (url: string) => void): SnsVerifier {
  return new SnsVerifier({
    fetchCert: async (url) => {
      onFetch?.(url);
      return signer.cert;
    },
  });
}

type Unsigned = Omit<SnsMessage, 'Signature' | 'SignatureVersion' | 'SigningCertURL'>;

/**
 * The string SNS signs, written from the AWS docs ("Verifying the signatures of Amazon SNS messages") and not taken from
 * production code, so the two can disagree: each field as its name, a newline, its value, a newline, in this order.
 * Notification: Message, MessageId, Subject (only if present), Timestamp, TopicArn, Type.
 * SubscriptionConfirmation and UnsubscribeConfirmation: Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type.
 */
export function snsStringToSign(m: Record<string, unknown>): string {
  if (m.Type === 'Notification') {
    return (
      'Message\n' + m.Message + '\n' +
      'MessageId\n' + m.MessageId + '\n' +
      (m.Subject !== undefined ? 'Subject\n' + m.Subject + '\n' : '') +
      'Timestamp\n' + m.Timestamp + '\n' +
      'TopicArn\n' + m.TopicArn + '\n' +
      'Type\n' + m.Type + '\n'
    );
  }
  return (
    'Message\n' + m.Message + '\n' +
    'MessageId\n' + m.MessageId + '\n' +
    'SubscribeURL\n' + m.SubscribeURL + '\n' +
    'Timestamp\n' + m.Timestamp + '\n' +
    'Token\n' + m.Token + '\n' +
    'TopicArn\n' + m.TopicArn + '\n' +
    'Type\n' + m.Type + '\n'
  );
}

export function sign(m: Unsigned, version: '1' | '2' = '1', key = signer.key, certUrl = CERT_URL): SnsMessage {
  const draft = { ...m, SignatureVersion: version, SigningCertURL: certUrl, Signature: '' } as SnsMessage;
  const s = createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256');
  s.update(snsStringToSign(draft), 'utf8');
  return { ...draft, Signature: s.sign(key, 'base64') };
}

export function notification(topicArn: string, message: string, subject?: string, messageId: string = randomUUID()): Unsigned {
  return {
    Type: 'Notification',
    MessageId: messageId,
    TopicArn: topicArn,
    ...(subject ? { Subject: subject } : {}),
    Message: message,
    Timestamp: new Date().toISOString(),
    UnsubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${topicArn}:sub`,
  } as Unsigned;
}

/** A subscription token as SNS shapes it: a long hex string. */
export const snsToken = () => randomBytes(128).toString('hex');

export function confirmation(topicArn: string, token: string = snsToken()): Unsigned {
  return {
    Type: 'SubscriptionConfirmation',
    MessageId: randomUUID(),
    TopicArn: topicArn,
    Token: token,
    Message: `You have chosen to subscribe to the topic ${topicArn}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
    SubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${topicArn}&Token=${token}`,
    Timestamp: new Date().toISOString(),
  } as Unsigned;
}

/** A JSON fixture of test/fixtures without its `_source` note, as an object to edit. */
export function alarmFixture(file: string): Record<string, unknown> & { Trigger?: Record<string, unknown> } {
  const fixture = JSON.parse(readFileSync(`test/fixtures/${file}`, 'utf8')) as Record<string, unknown> & { Trigger?: Record<string, unknown> };
  delete fixture._source;
  return fixture;
}

export function alarmMessage(o: { alarmName: string; state: 'ALARM' | 'OK' | 'INSUFFICIENT_DATA'; metric?: string; namespace?: string; threshold?: number; value?: number }): string {
  const fixture = JSON.parse(readFileSync('test/fixtures/cloudwatch-alarm.json', 'utf8')) as Record<string, unknown> & { Trigger: Record<string, unknown> };
  delete fixture._source;
  const value = o.value ?? 97.5;
  return JSON.stringify({
    ...fixture,
    AlarmName: o.alarmName,
    NewStateValue: o.state,
    OldStateValue: o.state === 'ALARM' ? 'OK' : 'ALARM',
    NewStateReason:
      o.state === 'OK'
        ? `Threshold Crossed: 1 datapoint [42.0 (23/11/26 10:20:00)] was not greater than the threshold (${o.threshold ?? 95}.0).`
        : o.state === 'INSUFFICIENT_DATA'
        ? 'Insufficient Data: 3 datapoints were unknown.'
        : `Threshold Crossed: 3 out of the last 3 datapoints [${value} (23/11/26 10:02:00), 96.1 (23/11/26 10:01:00)] were greater than the threshold (${o.threshold ?? 95}.0).`,
    Trigger: { ...fixture.Trigger, MetricName: o.metric ?? 'CPUUtilization', Namespace: o.namespace ?? 'AWS/EC2', Threshold: o.threshold ?? 95 },
  });
}

export function budgetMessage(budget: string, type: 'ACTUAL' | 'FORECASTED' = 'ACTUAL', period: 'monthly' | 'daily' | 'quarterly' | 'annually' = 'monthly'): string {
  const file = type === 'FORECASTED' ? 'test/fixtures/budget-notification-forecasted.txt' : period === 'monthly' ? 'test/fixtures/budget-notification.txt' : `test/fixtures/budget-notification-${period}.txt`;
  return readFileSync(file, 'utf8').replaceAll('scicomp-example', budget);
}
