// Teams' pace for the bot's sends, as the windows the outbox books each message in (Teams' limits, not Slack's).
//
// How the outbox uses it: at a Teams message's first attempt, `pacing.book(teamsPaceLimits(conversation, app), jobId)`
// books its send time in every window at once (`PacingRepository`, in Redis: one Lua step); the job is delayed by
// `waitMs` through BullMQ and sends when woken; booking the same job id again returns the time it has. A 429's
// Retry-After goes to `pacing.pause(key, ms)` for the conversation's key. The 429 itself still comes back from
// TeamsChat as an UpstreamError with `retryAfterMs`.
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
    { key: `teams:app:${app.appId}:${app.tenantId}`, windows: pacing.tenant },
  ];
}
