// Who a chat user is in AWS terms: their verified directory email (OwnerEmail), never a handle they can choose.
import type { Store } from '../adapters/redis/store.js';
import type { Actor } from './context.js';
import { UserInputError } from './errors.js';
import type { Policy } from './policy.js';
import type { ChatPort, Platform } from './ports.js';

const PROFILE_TTL_MS = 60 * 60_000;

/** A chat user with no email the bot can trust: no profile email and no mapping in the catalog policy. */
export class NoIdentityError extends UserInputError {
  constructor(readonly userId: string) {
    super(
      "I can't tell who you are: your chat profile has no email address I can read, and a handle is not an identity. Nothing was done.",
      `Ask IT to set your profile email (and, on Slack, to grant the app the users:read.email scope), or to map your user id ${userId} to your email in the catalog policy (users: ${userId}: { email: … }).`,
    );
  }
}

export function usernameFrom(email: string | undefined, fallback: string): string {
  const local = email?.split('@')[0] ?? fallback;
  return local.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 32) || 'user';
}

export async function resolveActor(
  platform: Platform,
  userId: string,
  deps: { chat: ChatPort; store: Store; policy: () => Policy },
): Promise<Actor> {
  const key = deps.store.key('actor', platform, userId);
  const cached = await deps.store.getJson<Actor>(key);
  if (cached) return cached;
  const policy = deps.policy();
  const profile = await deps.chat.profile(userId);
  const mapped = policy.doc.users[userId];
  const domain = policy.doc.defaults.emailDomain;
  // emailDomain only completes a username IT wrote into the policy: a chat handle is the person's own choice.
  const fromPolicy = mapped?.email ?? (mapped?.username && domain ? `${mapped.username}@${domain}` : undefined);
  const email = fromPolicy ?? profile.email;
  if (!email) throw new NoIdentityError(userId);
  const actor: Actor = { platform, userId, email: email.toLowerCase(), username: usernameFrom(email, profile.username), name: profile.name };
  await deps.store.setJson(key, actor, PROFILE_TTL_MS);
  return actor;
}
