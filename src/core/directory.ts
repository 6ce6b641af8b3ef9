// Who a chat user is in AWS terms: their directory email (OwnerEmail), username and, for transfers, IAM principal.
import type { Store } from '../adapters/redis/store.js';
import type { Actor } from './context.js';
import { UserInputError } from './errors.js';
import type { Policy } from './policy.js';
import type { ChatPort, Platform } from './ports.js';

const PROFILE_TTL_MS = 60 * 60_000;

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
  const domain = policy.doc.defaults.emailDomain;
  const email = policy.doc.users[userId]?.email ?? profile.email ?? (domain ? `${profile.username}@${domain}` : undefined);
  if (!email) {
    throw new UserInputError("I can't find your directory email, so I can't tag what you launch. Ask IT to add you to the catalog policy.");
  }
  const actor: Actor = { platform, userId, email: email.toLowerCase(), username: usernameFrom(email, profile.username), name: profile.name };
  await deps.store.setJson(key, actor, PROFILE_TTL_MS);
  return actor;
}
