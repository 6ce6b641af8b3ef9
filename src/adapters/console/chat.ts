// The console face: the core's messages drawn as terminal text, buttons as numbered choices, the DM as this output.
import { userInfo } from 'node:os';
import type { Form, Message, Tone } from '../../core/message.js';
import type { CommandText } from '../../core/channel.js';
import type { Interaction } from '../../core/interaction.js';
import type { Address, ChatPort, ChatProfile, FormPlace, PostedMessage } from '../../core/ports.js';

const ICON: Record<Tone, string> = { info: 'i', success: '✓', warning: '!', error: '✗' };

export const CONSOLE_USER = 'console';

/** The console takes commands as Slack does (`/scicomp help`), or the words alone. */
export const consoleCommand: CommandText = (words) => `/scicomp ${words}`;

/** A value as the command line reads it back: quoted when it has spaces. */
function quoted(value: string): string {
  return /\s/.test(value) ? `"${value}"` : value;
}

export class ConsoleChat implements ChatPort {
  readonly platform = 'console' as const;
  private choices = new Map<number, Interaction>();
  /** Numbered options of multi-selects: several typed together (`3,5`) pick them all. */
  private picks = new Map<number, { formId: string; values: Record<string, string | undefined>; key: string; option: string }>();
  private nextChoice = 1;
  private seq = 0;
  private readonly headings = new Map<string, string>();

  constructor(
    private readonly write: (text: string) => void,
    private readonly emailDomain = 'sandbox.local',
  ) {}

  /** A numbered choice typed at the prompt, as the interaction it stands for. */
  choice(n: number): Interaction | undefined {
    return this.choices.get(n);
  }

  /** Numbers typed at the prompt, one (`3`) or several options of multi-selects (`3,5`), as the interaction they stand for. */
  choose(text: string): Interaction | undefined {
    const numbers = text.split(',').map((n) => Number(n.trim()));
    if (numbers.length === 1) return this.choice(numbers[0]!);
    const picks = numbers.map((n) => this.picks.get(n));
    if (picks.some((p) => !p) || new Set(picks.map((p) => p!.formId)).size > 1) return undefined;
    const values = { ...picks[0]!.values };
    const chosen = new Map<string, string[]>();
    for (const p of picks) chosen.set(p!.key, [...(chosen.get(p!.key) ?? []), p!.option]);
    for (const [key, options] of chosen) values[key] = [...new Set(options)].join(',');
    return { type: 'form-change', formId: picks[0]!.formId, values };
  }

  private offer(i: Interaction): number {
    const n = this.nextChoice++;
    this.choices.set(n, i);
    return n;
  }

  render(m: Message, heading: string): string {
    const lines: string[] = [];
    lines.push(`── ${heading} ${'─'.repeat(Math.max(0, 60 - heading.length))}`);
    lines.push(`${m.tone ? `[${ICON[m.tone]}] ` : ''}${m.title ?? m.text}`);
    for (const p of m.body ?? []) lines.push(p);
    for (const f of m.fields ?? []) lines.push(`  ${f.label}: ${f.value}`);
    for (const c of m.code ?? []) lines.push(...c.split('\n').map((l) => `    ${l}`));
    for (const c of m.context ?? []) lines.push(`  (${c})`);
    for (const a of m.actions ?? []) lines.push(`  [${this.offer({ type: 'action', id: a.id, value: a.value })}] ${a.label}`);
    if (m.actions?.length) lines.push('  Type the number of your choice.');
    return lines.join('\n');
  }

  async post(to: Address, msg: Message, opts: { thread?: string } = {}): Promise<PostedMessage> {
    const place = to.kind === 'user' ? 'DM from scicomp' : to.kind === 'channel' ? `#${to.channel}` : 'scicomp';
    const heading = opts.thread || (to.kind === 'channel' && to.thread) ? `${this.headings.get(opts.thread ?? '') ?? place} (thread)` : place;
    this.write(this.render(msg, heading));
    const ref = `console-${++this.seq}`;
    this.headings.set(ref, heading);
    return { ref };
  }

  async update(ref: string, msg: Message): Promise<void> {
    this.write(this.render(msg, `${this.headings.get(ref) ?? 'scicomp'} (updated)`));
  }

  /** The form as text, wherever it was asked for: the console has one screen. */
  async showForm(_place: FormPlace, form: Form): Promise<void> {
    const lines = [`── form: ${form.title} ${'─'.repeat(40)}`];
    if (form.intro) lines.push(form.intro);
    const chosen = (inputs: Form['inputs']) => Object.fromEntries(inputs.filter((i) => i.initial !== undefined).map((i) => [i.key, i.initial]));
    form.inputs.forEach((input, at) => {
      if (input.dispatch && input.options) {
        // A picker re-draws what follows it: it carries the choices made above it.
        const above = chosen(form.inputs.slice(0, at));
        lines.push(`${input.label}:`);
        for (const option of input.options) {
          const n = this.offer({ type: 'form-change', formId: form.id, values: { ...above, [input.key]: option } });
          lines.push(`  [${n}] ${option}${option === input.initial ? ' (chosen)' : ''}`);
        }
        return;
      }
      if (input.multiple && input.options) {
        const all = chosen(form.inputs);
        const picked = (input.initial ?? '').split(',').map((v) => v.trim());
        lines.push(`  ${input.key}: several of${input.initial ? ` [now ${input.initial}]` : input.optional ? ' [optional]' : ' [required]'}${input.hint ? ` — ${input.hint}` : ''}`);
        for (const option of input.options) {
          const values = { ...all, [input.key]: option };
          const n = this.offer({ type: 'form-change', formId: form.id, values });
          this.picks.set(n, { formId: form.id, values, key: input.key, option });
          lines.push(`    [${n}] ${option}${picked.includes(option) ? ' (chosen)' : ''}`);
        }
        lines.push('    Type their numbers, comma-separated, to choose several.');
        return;
      }
      const choices = input.options ? ` one of ${input.options.join(', ')}` : '';
      const initial = input.initial ? ` [default ${input.initial}]` : input.optional ? ' [optional]' : ' [required]';
      lines.push(`  ${input.key}:${choices}${initial}${input.hint ? ` — ${input.hint}` : ''}`);
    });
    const product = form.inputs.find((i) => i.key === 'product')?.initial;
    const path = form.inputs.find((i) => i.key === 'path')?.initial;
    const several = form.inputs.filter((i) => i.multiple && i.initial).map((i) => ` ${i.key}=${quoted(i.initial!.split(',').map((v) => v.trim()).join(','))}`);
    lines.push(
      product
        ? `Launch it with: ${consoleCommand(`launch "${product}" <name>${path ? ` path=${quoted(path)}` : ''}${several.join('')} key=value …`)}`
        : 'Type the number of a product to see its parameters.',
    );
    this.write(lines.join('\n'));
  }

  async permalink(): Promise<string | undefined> {
    return undefined;
  }

  async groupMembers(): Promise<string[]> {
    return [];
  }

  async profile(_userId: string): Promise<ChatProfile> {
    const username = userInfo().username.toLowerCase().replace(/[^a-z0-9-]/g, '') || 'researcher';
    return { email: `${username}@${this.emailDomain}`, name: username, username };
  }
}
