// Follows one Service Catalog record to a terminal status and tells its owner, in their DM, how it went.
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Channels } from '../src/core/channel.js';
import type { ConnectSettings, Feed, Outbox, WatchRequest } from '../src/core/context.js';
import { UpstreamError, isUserFacing } from '../src/core/errors.js';
import { recordSettled, type Inventory } from '../src/core/inventory.js';
import { ARCHIVE_DAYS, instanceIdOf, outputFields } from '../src/core/lifecycle.js';
import type { Message } from '../src/core/message.js';
import type { ArchivesRepository } from '../src/core/repositories/archives.js';
import type { MutationsRepository } from '../src/core/repositories/mutations.js';
import { type Address, type CatalogPort, type Clock, type ProductRecord, TERMINAL_RECORD_STATUSES } from '../src/core/ports.js';
import { QUEUE } from './queues.js';

export const name = QUEUE.watch;
export type Payload = WatchRequest & { polls: number };

/** Runs after a record settles (alarms wiring, archive bookkeeping); must be idempotent. */
export type SettledHook = (w: WatchRequest, record: ProductRecord) => Promise<void>;

export interface Deps {
  catalog: CatalogPort;
  inventory: Inventory;
  outbox: Outbox;
  feed: Feed;
  /** Where a terminated bucket is recorded, for its owner to ask IT to restore. */
  archives: ArchivesRepository;
  clock: Clock;
  connect: ConnectSettings;
  minPollMs: number;
  maxPollMs: number;
  onSettled?: SettledHook[];
  /** The journal of AWS mutations: the one this record came from is settled once its owner has heard the outcome. */
  mutations?: MutationsRepository;
  /** How the owner's channel names commands, in what they are told. */
  channels: Pick<Channels, 'commandText'>;
  log: Logger;
}

const VERB: Record<WatchRequest['action'], [string, string]> = {
  provision: ['Launching', 'is ready'],
  update: ['Updating', 'is updated'],
  terminate: ['Terminating', 'is terminated'],
  'service-action': ['Running an action on', 'action finished'],
  transfer: ['Transferring', 'is transferred'],
};

export function delayFor(polls: number, min: number, max: number): number {
  return Math.min(max, Math.round(min * 1.5 ** polls));
}

function dm(w: WatchRequest): Address {
  return { platform: w.owner.platform, kind: 'user', userId: w.owner.userId };
}

function progressMessage(w: WatchRequest, r: ProductRecord): Message {
  // CREATED and IN_PROGRESS mean the same to the owner: it is under way.
  return { text: `${VERB[w.action][0]} ${w.name} (${w.productName}): in progress…`, tone: 'info', context: [`record ${r.id} · ${r.status}`] };
}

function outcomeMessage(w: WatchRequest, r: ProductRecord, deps: Deps): Message {
  const say = (words: string) => deps.channels.commandText(w.owner.platform, words);
  if (r.status === 'FAILED') {
    const errors = r.errors.map((e) => `${e.code ? `${e.code}: ` : ''}${e.description ?? 'no description'}`);
    return {
      text: `${VERB[w.action][0]} ${w.name} failed.`,
      title: `${w.name}: ${w.action} failed`,
      tone: 'error',
      body: errors.length ? errors : ['Service Catalog gave no reason.'],
      context: [`record ${r.id} · ${say(`status ${w.name}`)}`],
    };
  }
  const msg: Message = {
    text: `${w.name} ${VERB[w.action][1]}.`,
    title: `${w.name} ${VERB[w.action][1]}`,
    tone: 'success',
    fields: w.action === 'terminate' ? undefined : outputFields(r.outputs),
    context: [`${w.productName} · record ${r.id}`],
  };
  if (w.action === 'provision' && w.usage?.length) msg.body = ['Usage instructions:', ...w.usage.map((l) => `• ${l}`)];
  if (w.action === 'terminate' && w.kind === 'bucket') {
    const until = new Date(deps.clock.now() + ARCHIVE_DAYS * 86400_000).toISOString().slice(0, 10);
    msg.body = [`The bucket is archived until ${until}, then purged. Until then: ${say(`restore ${w.name}`)}.`];
  }
  const instanceId = w.action !== 'terminate' ? instanceIdOf(r.outputs) : undefined;
  if (instanceId) {
    msg.code = [`aws ssm start-session --profile service-catalog --target ${instanceId}`];
    msg.context!.push(`${say(`connect ${w.name}`)} for port forwarding and the profile to set up`);
  }
  return msg;
}

function feedEvent(w: WatchRequest, r: ProductRecord) {
  const ok = r.status === 'SUCCEEDED';
  const type =
    w.action === 'provision' ? (ok ? 'launched' : 'failed') : w.action === 'terminate' ? (ok ? 'terminated' : 'termination-failed') : ok ? 'updated' : 'failed';
  return { type, summary: `${w.owner.email}: ${w.name} (${w.productName}) ${w.action} ${r.status.toLowerCase()}`, key: `record:${r.id}` } as const;
}

export async function process(job: Job<Payload>, deps: Deps, token?: string): Promise<string> {
  const w = job.data;
  let record: ProductRecord;
  try {
    record = await deps.catalog.describeRecord(w.recordId);
  } catch (err) {
    const fatal = isUserFacing(err) || (err instanceof UpstreamError && !err.retryable);
    if (!fatal) throw err;
    // The owner is waiting for news of this record: say it cannot be followed rather than go quiet.
    await deps.outbox.send({
      key: `watch:${w.recordId}:lost`,
      to: dm(w),
      message: { text: `I lost track of ${w.name}: Service Catalog says ${(err as Error).message}`, tone: 'error', context: [`record ${w.recordId} · ${deps.channels.commandText(w.owner.platform, `status ${w.name}`)}`] },
    });
    // Told, and Service Catalog has no such record: calling again would not bring it back.
    if (w.mutationId) await deps.mutations?.settle(w.mutationId);
    throw new UnrecoverableError(`record ${w.recordId}: ${(err as Error).message}`);
  }
  const progressKey = `watch:${w.recordId}:progress`;
  if (!TERMINAL_RECORD_STATUSES.includes(record.status)) {
    // One progress message, edited once to the outcome: a second edit could overtake the outcome in the channel's queue.
    if (w.polls === 0) await deps.outbox.send({ key: progressKey, to: dm(w), message: progressMessage(w, record) });
    const polls = w.polls + 1;
    await job.updateData({ ...w, polls });
    await job.moveToDelayed(Date.now() + delayFor(polls, deps.minPollMs, deps.maxPollMs), token);
    throw new DelayedError();
  }
  // The inventory first: once the owner hears the outcome, list and status already show it.
  const ppId = w.provisionedProductId ?? record.provisionedProductId;
  if (ppId) await recordSettled(deps, ppId, w.action, record.status === 'SUCCEEDED');
  if (w.action === 'terminate' && w.kind === 'bucket' && record.status === 'SUCCEEDED') {
    await deps.archives.add(w.owner.email, w.name, { terminatedAt: deps.clock.now(), provisionedProductId: w.provisionedProductId, productName: w.productName });
  }
  await deps.outbox.send({ key: `watch:${w.recordId}:done`, replaces: progressKey, to: dm(w), message: outcomeMessage(w, record, deps) });
  await deps.feed.publish(feedEvent(w, record));
  if (w.mutationId) await deps.mutations?.settle(w.mutationId);
  // Alarm and budget wiring after the owner has heard: a hook that keeps failing retries this job (the sends above are
  // keyed, so they are not repeated) but never holds back the outcome.
  for (const hook of deps.onSettled ?? []) await hook(w, record);
  return record.status;
}
