// The shipped catalog policy with test approvers, an approvals channel and a principal template.
import { readFileSync } from 'node:fs';
import { parsePolicy, type Policy } from '../../src/core/policy.js';

export const APPROVERS = ['UIT1', 'UIT2'];
export const APPROVALS_CHANNEL = 'CAPPROVE';

/** `userGroup` names the approvers by a Slack user group id instead of a list of users. */
export function policyText(expiryHours = 72, o: { userGroup?: string } = {}): string {
  return readFileSync('manifests/catalog.yaml', 'utf8')
    .replace('channel: C0APPROVALS', `channel: ${APPROVALS_CHANNEL}`)
    .replace('users: [U0ITADMIN1, U0ITADMIN2]', o.userGroup ? `userGroup: ${o.userGroup}` : `users: [${APPROVERS.join(', ')}]`)
    .replace('expiryHours: 72', `expiryHours: ${expiryHours}`)
    .replace('  # emailDomain: synapse.org', '  principalTemplate: "arn:aws:iam::111122223333:role/SC-Endusers/{email}"')
    .replace('users: {}', `users:\n  ${APPROVERS[0]}: { role: admin }`);
}

export function testPolicy(expiryHours = 72, o: { userGroup?: string } = {}): Policy {
  return parsePolicy(policyText(expiryHours, o), 'test-catalog.yaml');
}
