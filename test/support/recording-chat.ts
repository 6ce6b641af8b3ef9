// A chat platform that records what it is asked to do: a stand-in for a channel whose own door is not under test.
import { UpstreamError } from '../../src/core/errors.js';
import type { Form, Message } from '../../src/core/message.js';
import type { Address, ChatPort, ChatProfile, Platform, PostedMessage } from '../../src/core/ports.js';

export interface RecordedPost {
  ref: string;
  to: Address;
  message: Message;
  /** The ref of the message it was posted in the thread of. */
  thread?: string;
  text: string;
}

export class RecordingChat implements ChatPort {
  readonly posts: RecordedPost[] = [];
  readonly updates: { ref: string; message: Message; text: string }[] = [];
  readonly forms: Form[] = [];
  private seq = 0;

  constructor(
    readonly platform: Platform,
    private readonly people: Record<string, ChatProfile> = {},
    private readonly groups: Record<string, string[]> = {},
  ) {}

  async post(to: Address, message: Message, opts: { thread?: string } = {}): Promise<PostedMessage> {
    const ref = `${this.platform}-${++this.seq}`;
    this.posts.push({ ref, to, message, thread: opts.thread, text: JSON.stringify(message) });
    return { ref, permalink: `https://${this.platform}.example/${ref}` };
  }

  async update(ref: string, message: Message): Promise<void> {
    this.updates.push({ ref, message, text: JSON.stringify(message) });
  }

  async permalink(ref: string): Promise<string | undefined> {
    return `https://${this.platform}.example/${ref}`;
  }

  async openForm(_trigger: string, form: Form): Promise<string> {
    this.forms.push(form);
    return `form-${++this.seq}`;
  }

  async updateForm(_formRef: string, form: Form): Promise<void> {
    this.forms.push(form);
  }

  async profile(userId: string): Promise<ChatProfile> {
    const p = this.people[userId];
    if (!p) throw new UpstreamError(`no ${this.platform} user ${userId}`, false);
    return p;
  }

  async groupMembers(groupId: string): Promise<string[]> {
    return this.groups[groupId] ?? [];
  }

  /** Posts into a channel, as text. */
  channel(channel: string): RecordedPost[] {
    return this.posts.filter((p) => p.to.kind === 'channel' && p.to.channel === channel);
  }
}
