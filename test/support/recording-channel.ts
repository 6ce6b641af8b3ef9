// A channel with no platform behind it, for core scenarios: what the core posts and shows, recorded; people by handle.
import type { ChannelAdapter } from '../../src/adapters/channel.js';
import type { CommandText, Pacing } from '../../src/core/channel.js';
import type { Form, Message } from '../../src/core/message.js';
import { UpstreamError } from '../../src/core/errors.js';
import type { Address, ChatPort, ChatProfile, FormPlace, Platform, PostedMessage } from '../../src/core/ports.js';

export interface Recorded {
  to: Address;
  message: Message;
  thread?: string;
  ref: string;
  /** When it was posted (ms since epoch). */
  at: number;
  /** The message as JSON, for looking into. */
  text: string;
}

export class RecordingChat implements ChatPort {
  readonly posts: Recorded[] = [];
  readonly updates: { ref: string; message: Message; text: string }[] = [];
  readonly forms: { place: FormPlace; form: Form }[] = [];
  private seq = 0;

  /**
   * `people`: who is who, handle → profile (anyone else is `<handle>@synapse.org`, unless `strangers` is false: then
   * unknown); `groups`: a platform group's members by group id.
   */
  constructor(
    readonly platform: Platform,
    readonly people: Record<string, ChatProfile> = {},
    private readonly groups: Record<string, string[]> = {},
    private readonly strangers = true,
  ) {}

  async post(to: Address, message: Message, opts: { thread?: string } = {}): Promise<PostedMessage> {
    const ref = `${this.platform}-${++this.seq}`;
    this.posts.push({ to, message, thread: opts.thread, ref, at: Date.now(), text: JSON.stringify(message) });
    return { ref, permalink: `https://${this.platform}.example/${ref}` };
  }

  async update(ref: string, message: Message): Promise<void> {
    this.updates.push({ ref, message, text: JSON.stringify(message) });
  }

  async permalink(ref: string): Promise<string | undefined> {
    return `https://${this.platform}.example/${ref}`;
  }

  async showForm(place: FormPlace, form: Form): Promise<void> {
    this.forms.push({ place, form });
  }

  async profile(userId: string): Promise<ChatProfile> {
    const known = this.people[userId];
    if (known) return known;
    if (!this.strangers) throw new UpstreamError(`no ${this.platform} user ${userId}`, false);
    return { email: `${userId.toLowerCase()}@synapse.org`, name: userId, username: userId.toLowerCase() };
  }

  async groupMembers(groupId: string): Promise<string[]> {
    return this.groups[groupId] ?? [];
  }

  /** Posts into a channel. */
  channel(channel: string): Recorded[] {
    return this.posts.filter((p) => p.to.kind === 'channel' && p.to.channel === channel);
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
    chat = new RecordingChat(platform),
  ) {
    this.chat = chat;
    this.pacing = { intervalMs };
  }

  async open(): Promise<void> {}

  async stop(): Promise<void> {}

  async close(): Promise<void> {}
}
