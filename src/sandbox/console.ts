// The console's `sandbox …` lines: a tester fakes an alarm or a budget alert on their own products, which arrives in their
// DM through POST /sns like AWS's would. Not a verb of the bot: the console hands these lines here before the core sees them.
import { ALARM_KINDS } from '../core/alarm-names.js';
import { isUserFacing } from '../core/errors.js';
import type { AlarmKind } from '../core/ports.js';
import type { PublishRequest, Published } from './sns.js';

export const SANDBOX_USAGE = `sandbox alarm <name> <${ALARM_KINDS.join('|')}> [ok]   fakes that CloudWatch alarm on your instance (ok: it recovers)
sandbox budget                                              fakes an AWS Budgets alert at 80 % of your budget`;

/** `sandbox …` (after "sandbox") as a publish request for `email`'s products, or a usage error. */
export function parseSandboxLine(args: string, email: string): PublishRequest | string {
  const [what, ...rest] = args.trim().split(/\s+/).filter(Boolean);
  if (what === 'budget' && rest.length === 0) return { kind: 'budget', email };
  if (what === 'alarm' && rest.length >= 1 && rest.length <= 3) {
    const [product, kind = 'cpu-idle', state] = rest as [string, string?, string?];
    if (!ALARM_KINDS.includes(kind as AlarmKind)) return `"${kind}" is not an alarm: use one of ${ALARM_KINDS.join(', ')}.\n${SANDBOX_USAGE}`;
    if (state !== undefined && !/^(ok|alarm)$/i.test(state)) return `"${state}" is not a state: add "ok" to recover, or nothing to fire.\n${SANDBOX_USAGE}`;
    return { kind: 'alarm', product, email, alarm: kind as AlarmKind, state: state?.toLowerCase() === 'ok' ? 'OK' : 'ALARM' };
  }
  return SANDBOX_USAGE;
}

/** Runs one `sandbox …` line; answers a line for the console. */
export async function sandboxLine(args: string, o: { email: string; publish: (r: PublishRequest) => Promise<Published> }): Promise<string> {
  const request = parseSandboxLine(args, o.email);
  if (typeof request === 'string') return request;
  try {
    const p = await o.publish(request);
    if (p.status !== 200) return `The sandbox published ${p.subject}, but POST /sns refused it (${p.status}): ${p.answer}`;
    return `The sandbox published ${p.subject} to your topic; it reaches your DM in a moment.`;
  } catch (err) {
    return isUserFacing(err) ? err.message : `The sandbox could not publish that: ${(err as Error).message}`;
  }
}
