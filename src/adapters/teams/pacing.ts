// Teams' pace for the bot's sends, as the windows the outbox books each message in (Teams' limits, not Slack's).
//
// How the outbox uses it: once a Teams message is next in its conversation and has taken its turn there (the channel's
// interval), `pacing.book(limits, jobId)` books its send time in every window at once (`PacingRepository`, in Redis:
// one Lua step); a time to come gives the turn back and delays the job by `waitMs` through BullMQ, and it sends when
// woken; booking the same job id again returns the time it has. A 429's Retry-After goes to `pacing.pause(key, ms)` for
// every key the message was booked in, the tenant's included. The 429 itself still comes back from TeamsChat as an
// UpstreamError with `retryAfterMs`.
import type { Pacing } from '../../core/channel.js';
import type { Address } from '../../core/ports.js';
import type { PaceLimit, RateWindow } from '../../core/repositories/pacing.js';

/** Teams' limits, from "Optimize your bot with rate limiting in Teams" (learn.microsoft.com). */
export interface TeamsPacing {
  /** Per bot per conversation (a 1:1 chat, a group chat, a channel): sends into it. */
  conversation: RateWindow[];
  /** Per app per tenant: every call, in every conversation, together. */
  tenant: RateWindow[];
}

export const TEAMS_PACING: TeamsPacing = {
  conversation: [
    { limit: 7, windowMs: 1000 },
    { limit: 8, windowMs: 2000 },
    { limit: 60, windowMs: 30_000 },
    { limit: 1800, windowMs: 3_600_000 },
  ],
  tenant: [{ limit: 50, windowMs: 1000 }],
};

/**
 * The limits one send keeps: its conversation's (keyed by `conversation`, e.g. the outbox's `teams:user:<id>` or
 * `teams:channel:<id>`: a channel's threads share the channel's pace) and its app's in its tenant.
 */
export function teamsPaceLimits(conversation: string, app: { appId: string; tenantId: string }, pacing: TeamsPacing = TEAMS_PACING): PaceLimit[] {
  return [
    { key: conversation, windows: pacing.conversation },
    { key: tenantKey(app), windows: pacing.tenant },
  ];
}

const tenantKey = (app: { appId: string; tenantId: string }) => `teams:app:${app.appId}:${app.tenantId}`;

/**
 * A booked send goes when its delayed job wakes, some milliseconds late, and the sends booked before it may wake later
 * still: the tenant's window is booked a little longer than Teams counts it, so that sends that go late still keep it.
 */
export const WAKE_SPARE_MS = 200;
const spare = (w: RateWindow): RateWindow => ({ limit: w.limit, windowMs: w.windowMs + WAKE_SPARE_MS });

/**
 * The Teams channel's pace: at most one message per conversation per `intervalMs`, and each message booked in Teams'
 * windows, its conversation's (a channel's threads share the channel's) and its app's in its tenant. A message with no
 * conversation of its own (a reply) keeps the tenant's alone.
 */
export function teamsPacing(intervalMs: number, app: { appId: string; tenantId: string }, pacing: TeamsPacing = TEAMS_PACING): Pacing {
  return {
    intervalMs,
    limits: (to: Address) => {
      const conversation = to.kind === 'user' ? `teams:user:${to.userId}` : to.kind === 'channel' ? `teams:channel:${to.channel}` : undefined;
      // The tenant's first: a booking is found again by its first key, and the tenant's one-second window forgets it
      // before a failed send is retried (the outbox's backoff is longer), so a retry books a send of its own.
      const tenant = { key: tenantKey(app), windows: pacing.tenant.map(spare) };
      return conversation ? [tenant, { key: conversation, windows: pacing.conversation }] : [tenant];
    },
  };
}
