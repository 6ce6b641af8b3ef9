// A channel with no platform behind it, for core scenarios: what the core posts and shows, recorded; people by handle.
import type { ChannelAdapter } from '../../src/adapters/channel.js';
import type { CommandText, Pacing } from '../../src/core/channel.js';
import type { Form, Message } from '../../src/core/message.js';
import type { Address, ChatPort, ChatProfile, FormPlace, Platform, PostedMessage } from '../../src/core/ports.js';

export interface Recorded {
  to: Address;
  message: Message;
  thread?: string;
  ref: string;
  /** When it was posted (ms since epoch). */
  at: number;
}

export class RecordingChat implements ChatPort {
  readonly posts: Recorded[] = [];
  readonly updates: { ref: string; message: Message }[] = [];
  readonly forms: { place: FormPlace; form: Form }[] = [];
  /** Who is who: handle → profile; anyone else is `<handle>@synapse.org`. */
  readonly people: Record<string, ChatProfile> = {};
  private seq = 0;

  constructor(readonly platform: Platform) {}

  async post(to: Address, message: Message, opts: { thread?: string } = {}): Promise<PostedMessage> {
    const ref = `${this.platform}-${++this.seq}`;
    this.posts.push({ to, message, thread: opts.thread, ref, at: Date.now() });
    return { ref };
  }

  async update(ref: string, message: Message): Promise<void> {
    this.updates.push({ ref, message });
  }

  async permalink(): Promise<string | undefined> {
    return undefined;
  }

  async showForm(place: FormPlace, form: Form): Promise<void> {
    this.forms.push({ place, form });
  }

  async profile(userId: string): Promise<ChatProfile> {
    return this.people[userId] ?? { email: `${userId.toLowerCase()}@synapse.org`, name: userId, username: userId.toLowerCase() };
  }

  async groupMembers(): Promise<string[]> {
    return [];
  }

  /** What was said to one person (their own channel, or the replies to what they did). */
  said(userId: string): Message[] {
    return this.posts.filter((p) => (p.to.kind === 'user' && p.to.userId === userId) || (p.to.kind === 'reply' && p.to.ref === userId)).map((p) => p.message);
  }
}

/** A channel named after a platform that has no adapter yet: commands as words alone, as in a chat with the bot. */
export class RecordingChannel implements ChannelAdapter {
  readonly chat: RecordingChat;
  readonly pacing: Pacing;

  constructor(
    readonly platform: Platform,
    readonly commandText: CommandText = (words) => words,
    intervalMs = 0,
  ) {
    this.chat = new RecordingChat(platform);
    this.pacing = { intervalMs };
  }

  async open(): Promise<void> {}

  async stop(): Promise<void> {}

  async close(): Promise<void> {}
}
