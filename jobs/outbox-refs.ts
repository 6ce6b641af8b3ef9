// Where each delivered outbox message landed (its ref and link), so later messages can update, thread under or link to it.
import type { Queue } from 'bullmq';
import type { ChainableCommander } from 'ioredis';
import { announcedKey } from '../src/adapters/redis/outbox-marks.js';
import type { Store } from '../src/adapters/redis/store.js';
import type { ChatPort, Platform, PostedMessage } from '../src/core/ports.js';
import { jobIdFor } from './queues.js';

const REF_TTL_MS = 30 * 24 * 3600_000;
const PENDING_STATES = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);

export class RefStore {
  constructor(
    private readonly store: Store,
    private readonly queue: Queue,
    private readonly chat: (platform: Platform) => ChatPort | undefined,
  ) {}

  private key(k: string): string {
    return this.store.key('outbox', 'ref', jobIdFor('msg', k));
  }

  async get(k: string): Promise<PostedMessage | undefined> {
    return this.store.getJson<PostedMessage>(this.key(k));
  }

  async set(k: string, posted: PostedMessage & { platform?: Platform }): Promise<void> {
    await this.store.setJson(this.key(k), posted, REF_TTL_MS);
  }

  /** The same as set, as part of the caller's MULTI or pipeline. */
  setIn(batch: ChainableCommander, k: string, posted: PostedMessage & { platform?: Platform }): void {
    batch.set(this.key(k), JSON.stringify(posted), 'PX', REF_TTL_MS);
  }

  /** A link to a delivered message, asked of the platform the first time one is wanted (most messages never need one). */
  async permalink(k: string): Promise<string | undefined> {
    const posted = await this.store.getJson<PostedMessage & { platform?: Platform }>(this.key(k));
    if (!posted) return undefined;
    if (posted.permalink || !posted.platform) return posted.permalink;
    const permalink = await this.chat(posted.platform)?.permalink(posted.ref);
    if (permalink) await this.set(k, { ...posted, permalink });
    return permalink;
  }

  /** On its way: announced by its creator, or queued. */
  async pending(k: string): Promise<boolean> {
    if ((await this.store.redis.exists(announcedKey(this.store, k))) === 1) return true;
    const job = await this.queue.getJob(jobIdFor('msg', k));
    return job !== undefined && PENDING_STATES.has(await job.getState());
  }
}

