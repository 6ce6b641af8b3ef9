import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAlarmName } from '../../src/core/alarm-names.js';
import { bar, parseAlert, parseDuration } from '../../src/core/alerts.js';
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

  it('reads an AWS Budgets notification', () => {
    const a = parseAlert(n(readFileSync('test/fixtures/budget-notification.txt', 'utf8'), 'AWS Budgets: scicomp-example has exceeded your alert threshold'));
    expect(a).toEqual({ type: 'budget', budget: 'scicomp-example', alertType: 'ACTUAL', threshold: '> $400.00', amount: '$412.57', budgeted: '$500.00' });
  });

  it('reads an AWS Budgets forecast notification', () => {
    const a = parseAlert(n(readFileSync('test/fixtures/budget-notification-forecasted.txt', 'utf8'), 'AWS Budgets: scicomp-example has exceeded your alert threshold'));
    expect(a).toEqual({ type: 'budget', budget: 'scicomp-example', alertType: 'FORECASTED', threshold: '> $500.00', amount: '$530.10', budgeted: '$500.00' });
  });

  it('keeps anything else as plain text', () => {
    expect(parseAlert(n('{"hello":1}', 'Hi'))).toEqual({ type: 'other', text: 'Hi: {"hello":1}' });
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
