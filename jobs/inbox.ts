// The inbox: web processes append each interaction to a Redis stream with one cheap XADD; a pump in every worker
// moves entries into the run-command queue through a consumer group, so a pump that dies mid-way is taken over.
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Store } from '../src/adapters/redis/store.js';
import { UpstreamError } from '../src/core/errors.js';
import type { Sealer } from '../src/core/sealed.js';
import type { Payload, RunPayload } from '../src/core/interaction.js';
import { sealPayload } from './run-command.js';
import { TurnBatch } from './turn-batch.js';

const GROUP = 'pump';
const BATCH = 100;
const BLOCK_MS = 1000;
/** An entry read but not acknowledged for this long belongs to a pump that died; another takes it over. */
const STALE_MS = 30_000;
const MAX_LENGTH = 1_000_000;

/** Interactions that arrive in one turn of the event loop share one stream entry, up to this many. */
const ENTRY_MAX = 200;

/**
 * An interaction not in Redis this long after it came is never written: its channel has answered (or is about to answer)
 * that it was not taken. Shorter than the channel's wait (Slack allows 3 s for an ack), so the answer and the write agree.
 */
export const WRITE_DEADLINE_MS = 2000;

// Appends one entry, unless Redis' own clock says its deadline has passed (a write that waited out an outage in the
// client's offline queue lands after its person was told "not taken", and must not run). KEYS: stream. ARGV: deadline
// (ms since epoch), max length, then the interactions.
const APPEND = `
local now = redis.call('TIME')
if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > tonumber(ARGV[1]) then return 0 end
local args = {KEYS[1], 'MAXLEN', '~', ARGV[2], '*'}
for i = 3, #ARGV do
  args[#args + 1] = 'p'
  args[#args + 1] = ARGV[i]
end
redis.call('XADD', unpack(args))
return 1
`;

export class Inbox {
  readonly key: string;
  private readonly batch: TurnBatch<{ payload: string; deadline: number }>;

  constructor(
    redis: Redis,
    prefix: string,
    private readonly sealer: Sealer,
  ) {
    this.key = `${prefix}:inbox`;
    const store = new Store(redis, prefix);
    this.batch = new TurnBatch(ENTRY_MAX, async (items) => {
      const deadline = Math.min(...items.map((i) => i.deadline));
      const written = await store.script<number>(APPEND, [this.key], [deadline, MAX_LENGTH, ...items.map((i) => i.payload)]);
      if (written !== 1) throw new UpstreamError('Redis took too long: the interaction was not queued', true);
    });
  }

  /**
   * Written at the end of this turn of the event loop, with whatever else arrived in it: one XADD for a burst, not one
   * per interaction, which is most of what a busy web process spends on an ack. Resolves once Redis has it. The
   * interaction is sealed first: its raw text may hold NoEcho values, and only the worker can tell which. Rejects, and
   * is never written, when Redis has not taken it within WRITE_DEADLINE_MS.
   */
  async push(payload: RunPayload): Promise<void> {
    const deadline = Date.now() + WRITE_DEADLINE_MS;
    return this.batch.push({ payload: JSON.stringify(await sealPayload(payload, this.sealer)), deadline });
  }
}

export class InboxPump {
  private running = false;
  private loop?: Promise<void>;
  private handling?: Promise<void>;
  private readonly reader: Redis;
  private readonly consumer = `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  constructor(
    private readonly inbox: Inbox,
    redis: Redis,
    private readonly deliver: (p: Payload) => Promise<void>,
    private readonly log: Logger,
  ) {
    // XREADGROUP BLOCK holds its connection; it must not stall the shared one.
    this.reader = redis.duplicate();
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  private async ensureGroup(): Promise<void> {
    try {
      await this.reader.xgroup('CREATE', this.inbox.key, GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
  }

  private async handle(entries: [string, string[]][]): Promise<void> {
    for (const [id, fields] of entries) {
      // An entry holds one or more interactions (field "p" each). run-command's job id derives from the request id:
      // an entry delivered again after a pump died mid-way is the same jobs, not new ones.
      for (let i = 0; i + 1 < fields.length; i += 2) {
        if (fields[i] === 'p') await this.deliver(JSON.parse(fields[i + 1]!) as Payload);
      }
      await this.reader.multi().xack(this.inbox.key, GROUP, id).xdel(this.inbox.key, id).exec();
    }
  }

  /** Hands entries on, known to stop() meanwhile. */
  private async handing(entries: [string, string[]][]): Promise<void> {
    this.handling = this.handle(entries);
    try {
      await this.handling;
    } finally {
      this.handling = undefined;
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.ensureGroup();
        const [, claimed] = (await this.reader.xautoclaim(this.inbox.key, GROUP, this.consumer, STALE_MS, '0-0', 'COUNT', BATCH)) as [string, [string, string[]][]];
        if (claimed.length) await this.handing(claimed);
        if (!this.running) return;
        const read = (await this.reader.xreadgroup('GROUP', GROUP, this.consumer, 'COUNT', BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', this.inbox.key, '>')) as
          | [string, [string, string[]][]][]
          | null;
        if (read?.[0]) await this.handing(read[0][1]);
      } catch (err) {
        if (!this.running) return;
        this.log.warn({ err }, 'inbox pump: Redis error, retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /**
   * Stops reading. Entries being handed on are finished first, until `deadline` (ms since epoch): cut, they would wait
   * STALE_MS for another pump, and a read of a burst can take seconds to hand on on a busy machine. A loop waiting for
   * entries is cut at once; one still stuck at the deadline is cut too, its entries left to another pump.
   */
  async stop(deadline = Date.now() + BLOCK_MS + 1000): Promise<void> {
    this.running = false;
    if (this.handling) await Promise.race([this.handling, new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref())]);
    this.reader.disconnect();
    await this.loop;
  }
}
