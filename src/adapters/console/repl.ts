// The console prompt: reads `/scicomp …` lines and numbered choices and queues them like any chat platform would.
import { createInterface } from 'node:readline';
import { newRequestId } from '../../core/ids.js';
import type { RunPayload } from '../../core/interaction.js';
import { CONSOLE_USER, type ConsoleChat } from './chat.js';

/** Answers a console line that starts with `sandbox` (sandbox mode only), before the core sees it. */
export type SandboxLine = (args: string) => Promise<string>;

const SANDBOX_LINE = /^(\/?scicomp\s+)?sandbox(\s+|$)/i;

/** The answer to a `sandbox …` line, or undefined for any other line (the core's). */
export async function answerSandboxLine(text: string, sandbox?: SandboxLine): Promise<string | undefined> {
  if (!SANDBOX_LINE.test(text)) return undefined;
  if (!sandbox) return 'sandbox … works only in sandbox mode (no AWS credentials, or SCICOMP_AWS=sandbox): this scicomp talks to real AWS, whose alarms are real.';
  return sandbox(text.replace(SANDBOX_LINE, ''));
}

export function startConsole(chat: ConsoleChat, enqueue: (p: RunPayload) => Promise<void>, onExit: () => void, sandbox?: SandboxLine): void {
  const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: 'scicomp> ' });
  const base = () => ({
    requestId: newRequestId(),
    platform: 'console' as const,
    userId: CONSOLE_USER,
    reply: { platform: 'console' as const, kind: 'reply' as const, ref: 'console' },
  });
  rl.on('line', (line) => {
    const text = line.trim();
    const submit = (p: RunPayload) =>
      enqueue(p).catch((err: Error) => process.stdout.write(`could not queue that: ${err.message}\n`));
    if (/^(quit|exit)$/i.test(text)) {
      rl.close();
      return;
    }
    if (/^\d+(\s*,\s*\d+)*$/.test(text)) {
      const interaction = chat.choose(text);
      if (interaction) void submit({ ...base(), interaction });
      else process.stdout.write(text.includes(',') ? `${text} are not options of one form you can pick several of.\n` : `There is no choice ${text}.\n`);
    } else if (SANDBOX_LINE.test(text)) {
      void answerSandboxLine(text, sandbox).then((answer) => process.stdout.write(`${answer}\n`));
    } else if (text) {
      void submit({ ...base(), interaction: { type: 'command', text: text.replace(/^\/?scicomp\s*/i, '') } });
    }
    rl.prompt();
  });
  rl.on('close', onExit);
  process.stdout.write('Console chat: type /scicomp help (or just "help"), numbers pick buttons, "quit" leaves.\n');
  rl.prompt();
}
