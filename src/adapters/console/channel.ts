// The terminal as a channel: lines typed at the prompt in, the core's messages drawn as text out.
import type { Pacing } from '../../core/channel.js';
import type { ChannelAdapter, Door } from '../channel.js';
import { consoleCommand, ConsoleChat } from './chat.js';
import { startConsole, type SandboxLine } from './repl.js';

export interface ConsoleChannelOptions {
  /**
   * Reads the prompt from stdin when set (the interactive console); a test drives the chat itself. `sandbox` answers the
   * console's own `sandbox …` lines (sandbox mode only).
   */
  prompt?: { onExit: () => void; sandbox?: SandboxLine };
  emailDomain?: string;
  /** The chat to draw with; by default one writing to stdout. */
  chat?: ConsoleChat;
}

export class ConsoleChannel implements ChannelAdapter {
  readonly platform = 'console' as const;
  readonly chat: ConsoleChat;
  /** One person reads it as it comes: nothing to pace. */
  readonly pacing: Pacing = { intervalMs: 0 };
  readonly commandText = consoleCommand;

  constructor(private readonly o: ConsoleChannelOptions = {}) {
    this.chat = o.chat ?? new ConsoleChat((t) => process.stdout.write(`\n${t}\n`), o.emailDomain);
  }

  async open(door: Door): Promise<void> {
    if (this.o.prompt) startConsole(this.chat, door.enqueue, this.o.prompt.onExit, this.o.prompt.sandbox);
  }

  async stop(): Promise<void> {}

  async close(): Promise<void> {}
}
