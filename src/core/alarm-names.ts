// The names scicomp gives CloudWatch alarms, so an alert leads back to its provisioned product without a lookup in AWS.
import type { AlarmKind } from './ports.js';

export const ALARM_KINDS: readonly AlarmKind[] = ['cpu-high', 'cpu-idle', 'memory-high', 'disk-high'];

export function alarmName(provisionedProductId: string, kind: AlarmKind): string {
  return `scicomp-${provisionedProductId}-${kind}`;
}

export function parseAlarmName(name: string): { provisionedProductId: string; kind: AlarmKind } | undefined {
  const kind = ALARM_KINDS.find((k) => name.endsWith(`-${k}`));
  if (!kind || !name.startsWith('scicomp-')) return undefined;
  return { provisionedProductId: name.slice('scicomp-'.length, -(kind.length + 1)), kind };
}
