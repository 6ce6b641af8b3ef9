// teamsPerson: a Teams member becomes an email-keyed person, or is refused; a handle or display name never becomes an identity.
import { describe, expect, it } from 'vitest';
import { directoryEmail, teamsPerson } from '../../../src/adapters/teams/people.js';
import { NoIdentityError } from '../../../src/core/directory.js';

const base = { id: '29:1abc', name: 'Jane Doe', aadObjectId: '6F1E0C2A-1111-4A4A-9C9C-0123456789AB' };

describe('teamsPerson', () => {
  it('takes the email, lower-cased, its local part as username and the object id as handle', () => {
    expect(teamsPerson({ ...base, email: 'Jane.Doe@Synapse.org', userPrincipalName: 'jdoe@synapse.onmicrosoft.com' })).toEqual({
      email: 'jane.doe@synapse.org',
      name: 'Jane Doe',
      username: 'jane.doe',
      handle: '6f1e0c2a-1111-4a4a-9c9c-0123456789ab',
    });
  });

  it('falls back to the UPN when there is no email, or the email is not an address', () => {
    expect(teamsPerson({ ...base, userPrincipalName: 'JDoe@synapse.org' }).email).toBe('jdoe@synapse.org');
    expect(teamsPerson({ ...base, email: 'Jane Doe', userPrincipalName: 'jdoe@synapse.org' }).email).toBe('jdoe@synapse.org');
  });

  it('refuses a member with neither an email nor an address-like UPN, or with no object id', () => {
    expect(() => teamsPerson({ ...base })).toThrow(NoIdentityError);
    expect(() => teamsPerson({ ...base, email: '', userPrincipalName: 'not-an-address' })).toThrow(NoIdentityError);
    expect(() => teamsPerson({ ...base, email: 'jdoe@synapse.org', aadObjectId: undefined })).toThrow(NoIdentityError);
  });

  it('never takes a guest’s #EXT# UPN for an email', () => {
    expect(directoryEmail({ userPrincipalName: 'jdoe_gmail.com#EXT#@contoso.onmicrosoft.com' })).toBeUndefined();
    expect(directoryEmail({ email: 'jdoe@gmail.com', userPrincipalName: 'jdoe_gmail.com#EXT#@contoso.onmicrosoft.com' })).toBe('jdoe@gmail.com');
  });

  it('uses the email for a name when the member has none', () => {
    expect(teamsPerson({ ...base, name: ' ', email: 'jdoe@synapse.org' }).name).toBe('jdoe@synapse.org');
  });
});
