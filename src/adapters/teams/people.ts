// Who a Teams member is in scicomp's terms: their directory email (email, else UPN), never a name they can choose.
import type { TeamsChannelAccount } from 'botbuilder';
import { NoIdentityError } from '../../core/directory.js';

/** A Teams member as a person: the email that is their identity, and the Entra object id that is their Teams handle. */
export interface TeamsPerson {
  email: string;
  name: string;
  /** The email's local part, lower-cased (`jdoe`). */
  username: string;
  /** The Entra (AAD) object id, lower-cased: the user id the Teams channel gives the core. */
  handle: string;
}

const EMAIL = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;

/**
 * The member's email: `email`, else `userPrincipalName`, lower-cased, whichever first looks like an address. A guest's
 * UPN (`jdoe_gmail.com#EXT#@contoso.onmicrosoft.com`) looks like one but is no mailbox, so it does not count.
 */
export function directoryEmail(member: Pick<TeamsChannelAccount, 'email' | 'userPrincipalName'>): string | undefined {
  for (const candidate of [member.email, member.userPrincipalName]) {
    const v = candidate?.trim().toLowerCase();
    if (v && EMAIL.test(v) && !v.includes('#ext#')) return v;
  }
  return undefined;
}

/** The person behind a member record (TeamsInfo.getMember); a NoIdentityError when it carries no usable email or object id. */
export function teamsPerson(member: Pick<TeamsChannelAccount, 'id' | 'name' | 'email' | 'userPrincipalName' | 'aadObjectId'>): TeamsPerson {
  const email = directoryEmail(member);
  const handle = member.aadObjectId?.trim().toLowerCase();
  if (!email || !handle) throw new NoIdentityError(handle || member.id);
  return { email, name: member.name?.trim() || email, username: email.split('@')[0]!, handle };
}
