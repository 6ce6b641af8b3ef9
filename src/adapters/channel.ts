// A channel as the composition root wires it: the core's Channel plus its inbound door (routes on the one HTTP server, or stdin).
import type { Application } from 'express';
import type { Logger } from 'pino';
import type { Channel } from '../core/channel.js';
import type { AuditLog } from '../core/context.js';
import type { RunPayload } from '../core/interaction.js';
import type { Form } from '../core/message.js';
import type { Platform } from '../core/ports.js';

/**
 * How long an ack waits for Redis to hold an interaction: Slack allows 3 s, and Teams waits longer for an invoke. The
 * inbox never writes one later than its WRITE_DEADLINE_MS, which is shorter: what the person is told and what runs agree.
 */
export const ACK_WAIT_MS = 2500;

/** What byDeadline answers for work that has not settled in time. */
export const LATE = Symbol('late');

/** `work`'s result, or LATE when it has not settled by `deadline` (ms since epoch): an ack must not wait on Redis for ever. */
export async function byDeadline<T>(work: Promise<T>, deadline: number): Promise<T | typeof LATE> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<typeof LATE>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()), LATE)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Queues an interaction and says whether Redis holds it by `deadline` (ACK_WAIT_MS from now): only then may the platform
 * be told it was taken. A write that lands later is refused by the inbox's deadline, so what the person is told was not
 * taken never runs.
 */
export async function queuedInTime(enqueue: Door['enqueue'], payload: RunPayload, log: Logger, deadline = Date.now() + ACK_WAIT_MS): Promise<boolean> {
  const { requestId } = payload;
  const queued = await byDeadline(
    enqueue(payload).then(
      () => true,
      (err: Error) => {
        log.error({ err, requestId }, 'could not queue an interaction');
        return false;
      },
    ),
    deadline,
  );
  if (queued === true) return true;
  log.warn({ requestId }, 'an interaction was not taken: Redis did not hold it in time; the person is told to retry');
  return false;
}

/** What a channel hands people's interactions to, and what it may ask of the core before it acks. */
export interface Door {
  /** The one HTTP server's app, in a process that serves HTTP: a channel adds its routes (POST /slack/events, POST /api/messages). */
  web?: Application;
  // Function properties, not methods: channels hand them on unbound.
  /** Queues one interaction for the workers; resolves once Redis holds it. */
  enqueue: (p: RunPayload) => Promise<void>;
  /** A form a click opens at once (a platform trigger expires in seconds), once the core has checked the clicker may; else undefined. */
  formForAction: (platform: Platform, userId: string, actionId: string, value: string) => Promise<Form | undefined>;
  audit: AuditLog;
  log: Logger;
}

export interface ChannelAdapter extends Channel {
  /** Starts taking interactions: mounts routes on `door.web`, connects out (Slack Socket Mode) or reads a terminal. */
  open(door: Door): Promise<void>;
  /** Stops taking interactions (before the workers drain). */
  stop(): Promise<void>;
  /** Closes its outbound connections (after the workers are done with them). */
  close(): Promise<void>;
}
