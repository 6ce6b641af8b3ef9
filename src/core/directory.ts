// Who people are: a platform handle resolves to a person, their verified directory email (OwnerEmail), never to a handle
// they can choose; and who among them approves.
import type { Actor, CoreDeps, Handle, People, Person } from './context.js';
import { UpstreamError, UserInputError } from './errors.js';
import type { GroupMembers, Policy } from './policy.js';
import type { ChatPort, Platform } from './ports.js';
import type { ActorRepository } from './repositories/actors.js';

const PROFILE_TTL_MS = 60 * 60_000;

/** A chat user with no email the bot can trust: no profile email and no mapping in the catalog policy. */
export class NoIdentityError extends UserInputError {
  constructor(readonly userId: string) {
    super(
      "I can't tell who you are: your chat profile has no email address I can read, and a handle is not an identity. Nothing was done.",
      `Ask IT to set your profile email (and, on Slack, to grant the app the users:read.email scope), or to map your user id ${userId} to your email in the catalog policy (users: jdoe@example.org: { slackId: ${userId} }).`,
    );
  }
}

export function usernameFrom(email: string | undefined, fallback: string): string {
  const local = email?.split('@')[0] ?? fallback;
  return local.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 32) || 'user';
}

/** The user id through which to reach a person on a platform, when they have one there. */
export function handleOn(person: Pick<Person, 'handles'>, platform: Platform): string | undefined {
  return person.handles.find((h) => h.platform === platform)?.userId;
}

/** People as the chat platforms know them, each handle resolved once an hour (shared by every replica). */
export class Directory implements People {
  constructor(
    private readonly o: {
      /** The chat adapter of a platform; throws where there is none. */
      chat: (platform: Platform) => ChatPort;
      actors: ActorRepository;
      policy: () => Policy;
    },
  ) {}

  async actor(platform: Platform, userId: string): Promise<Actor> {
    const handle: Handle = { platform, userId };
    const person = (await this.o.actors.get(handle)) ?? (await this.resolve(handle));
    return { ...person, platform, userId };
  }

  private async resolve(handle: Handle): Promise<Person> {
    const profile = await this.o.chat(handle.platform).profile(handle.userId);
    // What IT wrote for this handle outranks the profile; nothing the person typed or chose ever becomes their email.
    const email = this.o.policy().emailOf(handle) ?? profile.email;
    if (!email) throw new NoIdentityError(handle.userId);
    const person: Person = { email: email.toLowerCase(), name: profile.name, username: usernameFrom(email, profile.username), handles: [handle] };
    await this.o.actors.save(handle, person, PROFILE_TTL_MS);
    return person;
  }

  async find(platform: Platform, text: string): Promise<Person> {
    const chat = this.o.chat(platform);
    if (!chat.findUser) throw new UserInputError(`I can't look people up from here (${platform}); ask from Slack or Teams.`);
    const userId = await chat.findUser(text);
    try {
      const { platform: _, userId: __, ...person } = await this.actor(platform, userId);
      return person;
    } catch (err) {
      if (err instanceof UpstreamError && err.retryable) throw err;
      if (err instanceof NoIdentityError) throw new UserInputError(`${userId} has no verified email I can read, so they cannot own products yet.`, err.hint);
      throw new UserInputError(`I don't know the user ${userId}.`);
    }
  }

  groupMembers(platform: Platform, groupId: string): Promise<string[]> {
    return this.o.chat(platform).groupMembers(groupId);
  }
}

/**
 * Whether someone acting through a handle approves: a member of an approver group on that platform, or by their email.
 * A click names only the handle; the person's email is looked up only when the policy lists approvers by email.
 */
export async function isApprover(who: Handle | Actor, deps: Pick<CoreDeps, 'policy' | 'people'>): Promise<boolean> {
  const policy = deps.policy();
  const groups: GroupMembers = {};
  for (const g of policy.approverGroups()) {
    if (g.platform === who.platform) groups[g.platform] = await deps.people.groupMembers(g.platform, g.group);
  }
  if ('email' in who) return policy.isApprover({ email: who.email, handles: [{ platform: who.platform, userId: who.userId }] }, groups);
  // By group (or a Slack id the policy still lists) the handle is enough; by email, the person is looked up.
  if (policy.isApprover({ email: '', handles: [{ platform: who.platform, userId: who.userId }] }, groups)) return true;
  if (policy.doc.approvals.approvers.emails.length === 0) return false;
  return policy.isApprover(await deps.people.actor(who.platform, who.userId), groups);
}
