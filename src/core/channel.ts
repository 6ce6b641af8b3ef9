// A channel as the core sees it: how a person is reached there (its ChatPort), how fast, and how they name a command.
import { UpstreamError } from './errors.js';
import type { Address, ChatPort, Platform } from './ports.js';
import type { PaceLimit } from './repositories/pacing.js';

/** A command as a person types it on one channel, from its words: the slash command and the words in Slack, the words alone in a Teams chat. */
export type CommandText = (words: string) => string;

/** Words alone: how a command is named where no channel says otherwise (a chat with the bot). */
export const bareCommand: CommandText = (words) => words;

export interface Pacing {
  /** At most one message per conversation per this many ms (0: no limit); a Retry-After from the platform holds it longer. */
  intervalMs: number;
  /**
   * The platform's further limits a message to `to` must keep (Teams: 50 sends a second per app in its tenant), as the
   * sliding windows the outbox books its send in, shared by every replica; a Retry-After holds them too. None: the interval alone.
   */
  limits?(to: Address): PaceLimit[];
}

/**
 * One chat platform as a whole: outbound through its ChatPort (its renderer and its error mapping live behind it), its
 * pacing, and its way of naming commands. Inbound (an HTTP route, stdin) is the adapter's own business.
 */
export interface Channel {
  readonly platform: Platform;
  readonly chat: ChatPort;
  readonly pacing: Pacing;
  readonly commandText: CommandText;
}

/** The channels of this installation, by platform. */
export class Channels {
  private readonly byPlatform = new Map<Platform, Channel>();

  constructor(channels: Iterable<Channel> = []) {
    for (const c of channels) this.byPlatform.set(c.platform, c);
  }

  get(platform: Platform): Channel | undefined {
    return this.byPlatform.get(platform);
  }

  /** The channel of a platform this installation does not serve is a fault no retry fixes. */
  require(platform: Platform): Channel {
    const c = this.byPlatform.get(platform);
    if (!c) throw new UpstreamError(`no chat channel for ${platform}`, false);
    return c;
  }

  chat(platform: Platform): ChatPort | undefined {
    return this.byPlatform.get(platform)?.chat;
  }

  /** `words` as a person on `platform` types the command. */
  commandText(platform: Platform, words: string): string {
    return (this.byPlatform.get(platform)?.commandText ?? bareCommand)(words);
  }

  /** How a person on `platform` types commands, for code that names several. */
  commands(platform: Platform): CommandText {
    return (words) => this.commandText(platform, words);
  }

  all(): Channel[] {
    return [...this.byPlatform.values()];
  }
}
