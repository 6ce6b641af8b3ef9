// The inbox: web processes append each interaction to a Redis stream with one cheap XADD; a pump in every worker
// moves entries into the run-command queue through a consumer group, so a pump that dies mid-way is taken over.
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RunPayload } from './run-command.js';

const GROUP = 'pump';
const BATCH = 100;
const BLOCK_MS = 1000;
/** An entry read but not acknowledged for this long belongs to a pump that died; another takes it over. */
const STALE_MS = 30_000;
const MAX_LENGTH = 1_000_000;

export class Inbox {
  readonly key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.key = `${prefix}:inbox`;
  }

  /** The command reaches Redis' socket synchronously: it is on its way before the caller acks. */
  push(payload: RunPayload): Promise<void> {
    return this.redis.xadd(this.key, 'MAXLEN', '~', String(MAX_LENGTH), '*', 'p', JSON.stringify(payload)).then(() => undefined);
  }
}

export class InboxPump {
  private running = false;
  private loop?: Promise<void>;
  private readonly reader: Redis;
  private readonly consumer = `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  constructor(
    private readonly inbox: Inbox,
    redis: Redis,
    private readonly deliver: (p: RunPayload) => Promise<void>,
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
      const raw = fields[fields.indexOf('p') + 1];
      if (raw) {
        // run-command's job id derives from the request id: a re-delivered entry is one job.
        await this.deliver(JSON.parse(raw) as RunPayload);
      }
      await this.reader.multi().xack(this.inbox.key, GROUP, id).xdel(this.inbox.key, id).exec();
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.ensureGroup();
        const [, claimed] = (await this.reader.xautoclaim(this.inbox.key, GROUP, this.consumer, STALE_MS, '0-0', 'COUNT', BATCH)) as [string, [string, string[]][]];
        if (claimed.length) await this.handle(claimed);
        const read = (await this.reader.xreadgroup('GROUP', GROUP, this.consumer, 'COUNT', BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', this.inbox.key, '>')) as
          | [string, [string, string[]][]][]
          | null;
        if (read?.[0]) await this.handle(read[0][1]);
      } catch (err) {
        if (!this.running) return;
        this.log.warn({ err: (err as Error).message }, 'inbox pump: Redis error, retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    // Unblock a pending XREADGROUP; what was read and not acknowledged is taken over by another pump.
    this.reader.disconnect();
    await this.loop;
  }
}
