import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAlarmName } from '../../src/core/alarm-names.js';
import { bar, parseAlert, parseDuration } from '../../src/core/alerts.js';
import type { AlarmAlert, UnrecognisedAlert } from '../../src/core/notifications.js';
import { UserInputError } from '../../src/core/errors.js';

const n = (message: string, subject?: string) => ({ messageId: 'm', topicArn: 'arn:aws:sns:us-east-1:111122223333:t', message, subject, timestamp: '2026-11-23T10:00:00Z' });

describe('parseAlert', () => {
  it('reads a CloudWatch alarm and the measured value from its reason', () => {
    const fixture = readFileSync('test/fixtures/cloudwatch-alarm.json', 'utf8');
    const a = parseAlert(n(fixture));
    expect(a.type).toBe('alarm');
    if (a.type === 'alarm') {
      expect(a.alarm.NewStateValue).toBe('ALARM');
      expect(a.value).toBe('97.5');
      expect(a.alarm.Trigger?.Threshold).toBe(95);
    }
  });

  it('reads an AWS Budgets notification and its period', () => {
    const a = parseAlert(n(readFileSync('test/fixtures/budget-notification.txt', 'utf8'), 'AWS Budgets: scicomp-example has exceeded your alert threshold'));
    expect(a).toEqual({ type: 'budget', budget: 'scicomp-example', alertType: 'ACTUAL', threshold: '> $400.00', amount: '$412.57', budgeted: '$500.00', period: 'MONTHLY' });
  });

  it('reads an AWS Budgets forecast notification', () => {
    const a = parseAlert(n(readFileSync('test/fixtures/budget-notification-forecasted.txt', 'utf8'), 'AWS Budgets: scicomp-example has exceeded your alert threshold'));
    expect(a).toEqual({ type: 'budget', budget: 'scicomp-example', alertType: 'FORECASTED', threshold: '> $500.00', amount: '$530.10', budgeted: '$500.00', period: 'MONTHLY' });
  });

  it.each([
    ['daily', 'DAILY', '$17.35'],
    ['quarterly', 'QUARTERLY', '$745.10'],
    ['annually', 'ANNUALLY', '$790.42'],
  ])('reads the period of a %s budget as AWS Budgets words it', (file, period, amount) => {
    const a = parseAlert(n(readFileSync(`test/fixtures/budget-notification-${file}.txt`, 'utf8'), 'AWS Budgets: scicomp-example has exceeded your alert threshold'));
    expect(a).toMatchObject({ type: 'budget', budget: 'scicomp-example', period, amount });
  });

  it('reads every alarm state, INSUFFICIENT_DATA with its reason', () => {
    const a = parseAlert(n(readFileSync('test/fixtures/cloudwatch-alarm-insufficient-data.json', 'utf8')));
    expect(a).toMatchObject({ type: 'alarm', alarm: { NewStateValue: 'INSUFFICIENT_DATA' }, reading: 'Insufficient Data: 3 datapoints were unknown.', measures: 'CWAgent mem_used_percent', instanceId: 'i-0123456789abcdef0' });
    expect((a as AlarmAlert).value).toBeUndefined();
  });

  it('names a metric-math alarm by its expression and the metrics it reads, and finds the instance inside Trigger.Metrics', () => {
    const a = parseAlert(n(readFileSync('test/fixtures/cloudwatch-alarm-metric-math.json', 'utf8')));
    expect(a).toMatchObject({ type: 'alarm', measures: 'm1/1048576 where m1 = AWS/EC2 NetworkOut (Sum)', value: '812.4', reading: '812.4 against a threshold of 500', instanceId: 'i-0123456789abcdef0' });
  });

  it('names an anomaly-detection alarm by its metric and band, and reads the band it left', () => {
    const a = parseAlert(n(readFileSync('test/fixtures/cloudwatch-alarm-anomaly.json', 'utf8')));
    expect(a).toMatchObject({
      type: 'alarm',
      measures: 'AWS/EC2 CPUUtilization (Average) against its anomaly band ANOMALY_DETECTION_BAND(m1, 2)',
      reading: '88.2 outside the expected band 2.1 to 41.7',
      instanceId: 'i-0123456789abcdef0',
    });
  });

  it('says a composite alarm is one, with its rule, and names the alarms it is made of', () => {
    const a = parseAlert(n(readFileSync('test/fixtures/cloudwatch-alarm-composite.json', 'utf8')));
    expect(a).toMatchObject({ type: 'alarm', measures: 'composite alarm: ALARM("scicomp-pp-example-cpu-high") AND ALARM("scicomp-pp-example-memory-high")' });
    expect((a as AlarmAlert).children.sort()).toEqual(['scicomp-pp-example-cpu-high', 'scicomp-pp-example-memory-high']);
    expect((a as AlarmAlert).reading).toContain('transitioned to ALARM');
  });

  it('an alarm with fields of the wrong type reads what it can and never throws', () => {
    const odd = JSON.stringify({ AlarmName: 'x', NewStateValue: 'ALARM', Trigger: { Metrics: 'not a list', Threshold: '95', Dimensions: [{ name: 'InstanceId' }, 7] } });
    expect(parseAlert(n(odd))).toMatchObject({ type: 'alarm', measures: 'x', instanceId: undefined });
  });

  it.each([
    ['JSON that is no alarm', '{"hello":1}'],
    ['an alarm in a state CloudWatch does not have', JSON.stringify({ AlarmName: 'scicomp-pp-1-cpu-high', NewStateValue: 'PENDING' })],
    ['a CloudWatch event from EventBridge', JSON.stringify({ version: '0', source: 'aws.cloudwatch', 'detail-type': 'CloudWatch Alarm State Change', detail: { alarmName: 'a', state: { value: 'ALARM' } } })],
    ['text that is no budget', 'Maintenance: the instance will be rebooted.'],
  ])('keeps %s as unrecognised, with its subject and its start', (_what, message) => {
    expect(parseAlert(n(message, 'Hi'))).toEqual({ type: 'other', subject: 'Hi', excerpt: message, truncated: false });
  });

  it('bounds an unrecognised message, and takes out what could change how it shows', () => {
    const long = `line one\u202e\u0007 with \`\`\`code\`\`\`\r\n${'x'.repeat(2000)}`;
    const a = parseAlert(n(long, 'S\u0000ubject')) as UnrecognisedAlert;
    expect(a.subject).toBe('Subject');
    expect(a.truncated).toBe(true);
    expect(a.excerpt.startsWith("line one with '''code'''\nxxx")).toBe(true);
    expect(Array.from(a.excerpt)).toHaveLength(601);
    expect(a.excerpt.endsWith('…')).toBe(true);
    const lines = parseAlert(n(Array.from({ length: 40 }, (_, i) => `l${i}`).join('\n'))) as UnrecognisedAlert;
    expect(lines.excerpt.split('\n')).toHaveLength(12);
    expect(lines.truncated).toBe(true);
  });
});

describe('alarm names', () => {
  it('lead back to the provisioned product and kind', () => {
    expect(parseAlarmName('scicomp-pp-abc123-cpu-idle')).toEqual({ provisionedProductId: 'pp-abc123', kind: 'cpu-idle' });
    expect(parseAlarmName('someone-elses-alarm')).toBeUndefined();
  });
});

describe('snooze durations and bars', () => {
  it('parses minutes, hours and days within 30 days', () => {
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('3d')).toBe(259_200_000);
    expect(() => parseDuration('forever')).toThrow(UserInputError);
    expect(() => parseDuration('31d')).toThrow(/at most 30 days/);
    expect(() => parseDuration('0h')).toThrow(/at least a minute/);
  });

  it('draws a bar clamped to its width', () => {
    expect(bar(0.5, 10)).toBe('█████░░░░░');
    expect(bar(1.7, 4)).toBe('████');
    expect(bar(0, 3)).toBe('░░░');
  });
});
