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

export type UserFacingError = UserInputError | NotAuthorizedError | NotFoundError;

export function isUserFacing(err: unknown): err is UserFacingError {
  return err instanceof UserInputError || err instanceof NotAuthorizedError || err instanceof NotFoundError;
}
