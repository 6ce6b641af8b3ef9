// Slack as a channel: /scicomp commands, clicks and modals in through Bolt on POST /slack/events (or Socket Mode), out through SlackChat.
import type { Pacing } from '../../core/channel.js';
import type { SecretsPort } from '../../core/ports.js';
import type { Metrics } from '../../metrics.js';
import type { Store } from '../redis/store.js';
import type { ChannelAdapter, Door } from '../channel.js';
import { createSlackApp, type SlackAppOptions } from './app.js';
import { optionListKey, SlackChat } from './chat.js';

export const SLASH_COMMAND = '/scicomp';

export interface SlackChannelOptions {
  secrets: SecretsPort;
  store: Store;
  /** SLACK_CHANNEL_INTERVAL_MS: Slack allows about one message a second per conversation. */
  intervalMs: number;
  apiUrl?: string;
  installation?: SlackAppOptions['installation'];
  metrics?: Metrics;
}

export class SlackChannel implements ChannelAdapter {
  readonly platform = 'slack' as const;
  readonly chat: SlackChat;
  readonly pacing: Pacing;
  private bolt?: ReturnType<typeof createSlackApp>;
  private socketMode = false;

  constructor(private readonly o: SlackChannelOptions) {
    this.chat = new SlackChat({ secrets: o.secrets, store: o.store, apiUrl: o.apiUrl, metrics: o.metrics });
    this.pacing = { intervalMs: o.intervalMs };
  }

  readonly commandText = (words: string): string => `${SLASH_COMMAND} ${words}`;

  async open(door: Door): Promise<void> {
    // Socket Mode (development, slackAppToken): Slack connects out to us, no public URL needed; else HTTP, on the server.
    const appToken = await this.o.secrets.get('slackAppToken');
    if (!door.web && !appToken) return;
    const store = this.o.store;
    this.bolt = createSlackApp({
      secrets: this.o.secrets,
      web: door.web,
      enqueue: door.enqueue,
      log: door.log,
      apiUrl: this.o.apiUrl,
      appToken,
      formForAction: (actionId, value, userId) => door.formForAction('slack', userId, actionId, value),
      audit: door.audit,
      optionList: (id) => store.getJson<string[]>(optionListKey(store, id)),
      installation: this.o.installation,
    });
    if (appToken) {
      await this.bolt.app.start();
      this.socketMode = true;
    }
  }

  async stop(): Promise<void> {
    if (this.socketMode) await this.bolt?.app.stop();
    this.socketMode = false;
    this.bolt = undefined;
  }

  async close(): Promise<void> {
    await this.chat.close();
  }
}
