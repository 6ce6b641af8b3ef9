// The typed errors that decide what a user sees and whether a job retries.

/** The caller asked for something malformed or not allowed by the product; nothing was done. */
export class UserInputError extends Error {
  override readonly name = 'UserInputError';
  constructor(message: string, readonly hint?: string) {
    super(message);
  }
}

/** The caller may not do this (not the owner, not an approver, role not allowed). */
export class NotAuthorizedError extends Error {
  override readonly name = 'NotAuthorizedError';
}

/** The named thing does not exist (for this caller). */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/** AWS or a chat platform failed in a way a retry may fix. */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    message: string,
    readonly retryable = true,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The platform refuses to reach a person or channel: the app is not installed for them or was removed, the chat is
 * blocked, the conversation is gone. No retry helps; the caller may fall back (an alert still reaches the person's email
 * through their SNS topic) and say so in the admin feed.
 */
export class UnreachableError extends UpstreamError {
  constructor(
    message: string,
    readonly target: { platform: string; userId?: string; channel?: string },
    /** The platform's own reason, e.g. Teams' `BotNotInConversationRoster` or `ConversationBlockedByUser`. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(message, false, undefined, options);
  }
}

export type UserFacingError = UserInputError | NotAuthorizedError | NotFoundError;

export function isUserFacing(err: unknown): err is UserFacingError {
  return err instanceof UserInputError || err instanceof NotAuthorizedError || err instanceof NotFoundError;
}
