// The shipped catalog policy with test approvers, an approvals channel and a principal template.
import { readFileSync } from 'node:fs';
import { parsePolicy, type Policy } from '../../src/core/policy.js';

/** Slack user ids of the approvers; the recording Slack API gives an unlisted user the email <id>@synapse.org. */
export const APPROVERS = ['UIT1', 'UIT2'];
export const APPROVER_EMAILS = APPROVERS.map((id) => `${id.toLowerCase()}@synapse.org`);
export const APPROVALS_CHANNEL = 'CAPPROVE';

/** `userGroup` names the approvers by a Slack user group id instead of by email; `teamsGroup` adds a Teams group. */
export function policyText(expiryHours = 72, o: { userGroup?: string; teamsGroup?: string } = {}): string {
  return readFileSync('manifests/catalog.yaml', 'utf8')
    .replace('channel: C0APPROVALS', `channel: ${APPROVALS_CHANNEL}`)
    .replace('emails: [it-admin1@synapse.org, it-admin2@synapse.org]', o.userGroup ? `slackUserGroup: ${o.userGroup}${o.teamsGroup ? `\n    teamsGroup: ${o.teamsGroup}` : ''}` : `emails: [${APPROVER_EMAILS.join(', ')}]`)
    .replace('expiryHours: 72', `expiryHours: ${expiryHours}`)
    .replace('  # emailDomain: synapse.org', '  principalTemplate: "arn:aws:iam::111122223333:role/SC-Endusers/{email}"')
    .replace('users: {}', `users:\n  ${APPROVER_EMAILS[0]}: { role: admin }`);
}

export function testPolicy(expiryHours = 72, o: { userGroup?: string; teamsGroup?: string } = {}): Policy {
  return parsePolicy(policyText(expiryHours, o), 'test-catalog.yaml');
}
