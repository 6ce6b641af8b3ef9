// Each SNS topic's notifications in the order they reached us. A topic is one owner's, and its alerts go to that owner's
// conversation, where each message is numbered as it is produced (outbox-order): two notifications taken by two jobs at
// once (two web processes, two workers) could be numbered the wrong way round, an older alert read after a newer one.
// So each notification joins its topic's line when a web process takes it, by Redis's clock, and its job numbers its
// messages only once every notification of its topic taken before it has numbered its own, or been passed over.
import type { Store } from '../src/adapters/redis/store.js';
import type { ReceivedSnsMessage } from './queues.js';
import { Waiters } from './waiters.js';

/** A line forgets a topic this long after its last notification: far longer than any message waits. */
const LINE_TTL_MS = 24 * 3600_000;
/**
 * How long a line remembers a notification that left it: a redelivery within this long (SNS retries for about an hour)
 * does not join again, since its job may never run (its id is taken) and would hold the line.
 */
const LEFT_MEMORY_US = 2 * 3600_000_000;
/** How often a waiting notification looks at its line again, at most (a notification leaving in this process wakes it). */
const LOOK_MAX_MS = 100;

/**
 * Lua: `now`, in µs by Redis's clock (every process reads one clock), and `us(x)`, a whole number written out in full:
 * Lua's tostring keeps 14 digits, and µs since 1970 have 16.
 */
const NOW_US = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function us(x) return string.format('%.0f', x) end
`;

/**
 * A line is a sorted set of MessageIds: one waiting has the time it joined (µs, > 0); one that left has minus the time it
 * left, and is forgotten LEFT_MEMORY_US later.
 *
 * JOIN: each notification joins its line at one time, unless it is in it already (a redelivery keeps its first place, or
 * stays left); answers that time. KEYS: each notification's line. ARGV: TTL (ms), left memory (µs), their MessageIds.
 */
const JOIN = `${NOW_US}
for i, line in ipairs(KEYS) do
  redis.call('ZADD', line, 'NX', us(now), ARGV[i + 2])
  redis.call('ZREMRANGEBYSCORE', line, '(' .. us(-(now - tonumber(ARGV[2]))), '(0')
  redis.call('PEXPIRE', line, ARGV[1])
end
return us(now)
`;

/**
 * Whether it is each notification's turn: none that joined its line before it is still waiting. Answers, for each, 0 or
 * the first waiting (its MessageId). KEYS: their lines. ARGV: pairs of MessageId and when it joined (µs).
 */
const TURNS = `
local out = {}
for i, line in ipairs(KEYS) do
  local id, at = ARGV[2 * i - 1], tonumber(ARGV[2 * i])
  local head = redis.call('ZRANGEBYSCORE', line, 0, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  out[i] = (#head == 0 or head[1] == id or tonumber(head[2]) >= at) and 0 or head[1]
end
return out
`;

/** Marks a notification left (its messages numbered, it had none, or it was passed over). KEYS: the line. ARGV: MessageId. */
const LEAVE = `${NOW_US}
redis.call('ZADD', KEYS[1], us(-now), ARGV[1])
`;

/** A notification in its line: its topic, its MessageId, and when it joined (µs by Redis's clock). */
export type InLine = Pick<ReceivedSnsMessage, 'TopicArn' | 'MessageId' | 'lineAt'>;

export class SnsLine {
  /** Notifications waiting in this process, by line: woken when one leaves here. */
  private readonly waiting = new Waiters();

  constructor(
    private readonly store: Store,
    /**
     * How long a notification waits for the one ahead of it before passing it over: longer than a dead worker's job takes
     * to be handed to another (its lock), so only a notification whose job failed for good is passed over.
     */
    private readonly passOverMs: number,
  ) {}

  private key(topicArn: string): string {
    return this.store.key('sns', 'line', topicArn);
  }

  /** Stamps each notification with its place in its topic's line (other messages pass as they are). */
  async join<M extends ReceivedSnsMessage>(messages: M[]): Promise<M[]> {
    const notes = messages.filter((m) => m.Type === 'Notification' && m.lineAt === undefined);
    if (notes.length === 0) return messages;
    const at = Number(await this.store.script<string>(JOIN, notes.map((m) => this.key(m.TopicArn)), [LINE_TTL_MS, LEFT_MEMORY_US, ...notes.map((m) => m.MessageId)]));
    return messages.map((m) => (notes.includes(m) ? { ...m, lineAt: at } : m));
  }

  /** The MessageIds of those whose turn it is now, of several notifications: one round trip for a batch. */
  async ready(ms: InLine[]): Promise<Set<string>> {
    const inLine = ms.filter((m) => m.lineAt !== undefined);
    if (inLine.length === 0) return new Set();
    const ahead = await this.aheadOf(inLine);
    return new Set(inLine.filter((_, i) => ahead[i] === 0).map((m) => m.MessageId));
  }

  /** For each notification, 0 when it is its turn, else the MessageId of the first one waiting in its line. */
  private aheadOf(ms: InLine[]): Promise<(string | 0)[]> {
    return this.store.script<(string | 0)[]>(TURNS, ms.map((m) => this.key(m.TopicArn)), ms.flatMap((m) => [m.MessageId, m.lineAt!]));
  }

  /** Waits until every notification of its topic taken before this one has left the line; answers how long it waited (ms). */
  async waitTurn(m: InLine): Promise<number> {
    if (m.lineAt === undefined) return 0;
    const key = this.key(m.TopicArn);
    const started = Date.now();
    let ahead: string | 0 = 0;
    let since = started;
    let look = 5;
    for (;;) {
      const head = (await this.aheadOf([m]))[0] ?? 0;
      if (head === 0) return Date.now() - started;
      if (head !== ahead) {
        ahead = head;
        since = Date.now();
        look = 5;
      } else if (Date.now() - since >= this.passOverMs) {
        // Its job failed for good (or its message was never queued): it no longer holds the line.
        await this.store.script(LEAVE, [key], [head]);
        continue;
      }
      await this.waiting.sleep(key, look);
      look = Math.min(look * 2, LOOK_MAX_MS);
    }
  }

  /** Leaves the line (its messages are numbered, or it had none): the next one's turn. */
  async leave(m: InLine): Promise<void> {
    if (m.lineAt === undefined) return;
    const key = this.key(m.TopicArn);
    await this.store.script(LEAVE, [key], [m.MessageId]);
    this.waiting.wake(key);
  }
}
