import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PolicyError, loadPolicy, parsePolicy, warnUnknownParameters } from '../../src/core/policy.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';

const base = readFileSync('manifests/catalog.yaml', 'utf8');

/** 1-based line and column of `needle` in `text`, as the error should point at it. */
function lineCol(text: string, needle: string): string {
  const at = text.indexOf(needle);
  const before = text.slice(0, at).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

describe('catalog policy', () => {
  it('loads the shipped manifest', async () => {
    const p = await loadPolicy('manifests/catalog.yaml');
    expect(p.doc.approvals.expiryHours).toBe(72);
    expect(p.productRule('EC2 Linux').roles).toContain('researcher');
  });

  it('limits open requests per person to 5 unless told otherwise, and only to a whole positive number', () => {
    expect(parsePolicy(base.replace(/\n {2}maxOpenPerUser:.*\n/, '\n')).doc.approvals.maxOpenPerUser).toBe(5);
    expect(parsePolicy(base.replace('maxOpenPerUser: 5', 'maxOpenPerUser: 2')).doc.approvals.maxOpenPerUser).toBe(2);
    expect(() => parsePolicy(base.replace('maxOpenPerUser: 5', 'maxOpenPerUser: 0'))).toThrow(/approvals\.maxOpenPerUser/);
  });

  it('decides approval by rule', async () => {
    const p = await loadPolicy('manifests/catalog.yaml');
    expect(p.approvalReason('EC2 Linux', { InstanceType: 't3.micro', VolumeSize: '30' })).toBeUndefined();
    expect(p.approvalReason('EC2 Linux', { InstanceType: 'c5.2xlarge' })).toMatch(/InstanceType=c5.2xlarge needs IT approval/);
    expect(p.approvalReason('HPC Cluster', { MaxNodes: '11' })).toMatch(/MaxNodes above 10/);
    expect(p.approvalSummary('S3 Private Encrypted Bucket')).toBe('no approval needed');
  });

  it('keeps unlisted products for admins', async () => {
    const p = await loadPolicy('manifests/catalog.yaml');
    expect(p.productRule('Something Else').roles).toEqual(['admin']);
  });

  it('names the file, line and field of a schema fault', () => {
    const broken = base.replace('expiryHours: 72', 'expiryHours: soon');
    const line = broken.split('\n').findIndex((l) => l.includes('expiryHours: soon')) + 1;
    expect(() => parsePolicy(broken, 'manifests/catalog.yaml')).toThrow(PolicyError);
    expect(() => parsePolicy(broken, 'manifests/catalog.yaml')).toThrow(new RegExp(`^manifests/catalog.yaml:${line}:\\d+: approvals.expiryHours: `));
  });

  it('names the line of a YAML syntax fault', () => {
    expect(() => parsePolicy('defaults:\n  role: [admin\n', 'x.yaml')).toThrow(/^x.yaml:\d+:\d+: /);
  });

  it('refuses an unknown role', () => {
    const broken = base.replace('roles: [admin, researcher, guest]', 'roles: [admin, wizard]');
    expect(() => parsePolicy(broken, 'c.yaml')).toThrow(/c.yaml:\d+:\d+: products.\d+.roles.1: /);
  });

  it('points at a misspelt key on its own line', () => {
    const broken = base.replace('  expiryHours: 72', '  expiryHour: 72');
    expect(lineCol(broken, 'expiryHour:')).toMatch(/^\d+:3$/);
    expect(() => parsePolicy(broken, 'c.yaml')).toThrow(`c.yaml:${lineCol(broken, 'expiryHour:')}: approvals.expiryHour: unknown key`);
  });

  it('points a union fault at the branch that was meant', () => {
    const broken = base.replace('- { parameter: VolumeSize, above: 500 }', '- { parameter: VolumeSize, above: lots }');
    expect(() => parsePolicy(broken, 'c.yaml')).toThrow(
      new RegExp(`^c.yaml:${lineCol(broken, 'lots')}: products.0.approval.when.1.above: Invalid input: expected number, received string$`),
    );
    const typo = base.replace('- { parameter: VolumeSize, above: 500 }', '- { parameter: VolumeSize, abov: 500 }');
    expect(() => parsePolicy(typo, 'c.yaml')).toThrow(`c.yaml:${lineCol(typo, 'abov:')}: products.0.approval.when.1.abov: unknown key`);
    const word = base.replace('    approval:\n      when:\n        - { parameter: VolumeSize, above: 500 }\n  - name: EC2 Notebook', '    approval: sometimes\n  - name: EC2 Notebook');
    expect(() => parsePolicy(word, 'c.yaml')).toThrow(`c.yaml:${lineCol(word, 'sometimes')}: products.1.approval: expected "always" or "never" or an object`);
  });

  it('asks for approval when a number rule meets a value that is not a number, or a parameter the product lacks', () => {
    const p = parsePolicy(base, 'c.yaml');
    expect(p.approvalReason('HPC Cluster', { MaxNodes: 'lots', ComputeInstanceType: 'c5.large' })).toMatch(/MaxNodes is not a number/);
    expect(p.approvalReason('HPC Cluster', { MaxNodes: '', ComputeInstanceType: 'c5.large' })).toMatch(/MaxNodes is not a number/);
    expect(p.approvalReason('HPC Cluster', { MaxNodes: '4', ComputeInstanceType: 'c5.large' })).toBeUndefined();
    const misnamed = parsePolicy(base.replace('- { parameter: VolumeSize, above: 500 }\n  - name: EC2 Notebook', '- { parameter: VolumeSizeGb, above: 500 }\n  - name: EC2 Notebook'), 'c.yaml');
    expect(misnamed.approvalReason('EC2 Windows', { InstanceType: 't3.medium', VolumeSize: '50' })).toMatch(/names VolumeSizeGb, which EC2 Windows does not have/);
  });

  it('looks at every element of a list parameter', () => {
    const p = parsePolicy(base.replace('- { parameter: InstanceType, in: [r5.xlarge] }', '- { parameter: InstanceTypes, in: [r5.xlarge] }'), 'c.yaml');
    expect(p.approvalReason('EC2 RStudio', { InstanceTypes: 't3.large, r5.xlarge' }, { listKeys: ['InstanceTypes'] })).toMatch(/InstanceTypes=r5.xlarge needs IT approval/);
    expect(p.approvalReason('EC2 RStudio', { InstanceTypes: 't3.large,t3.medium' }, { listKeys: ['InstanceTypes'] })).toBeUndefined();
    const sizes = parsePolicy(base, 'c.yaml');
    expect(sizes.approvalReason('EC2 Windows', { VolumeSize: '50,600' }, { listKeys: ['VolumeSize'] })).toMatch(/VolumeSize above 500/);
  });

  it('takes a launch path per product', () => {
    const p = parsePolicy(base.replace('# launchPath: Teaching', 'launchPath: Teaching'), 'c.yaml');
    expect(p.productRule('EC2 RStudio').launchPath).toBe('Teaching');
    expect(p.productRule('EC2 Linux').launchPath).toBeUndefined();
    expect(() => parsePolicy(base.replace('# launchPath: Teaching', 'launchPath: ""'), 'c.yaml')).toThrow(/products.\d+.launchPath/);
  });

  it('warns at load about rules naming a parameter the product lacks', async () => {
    const misnamed = parsePolicy(base.replace('- { parameter: VolumeSize, above: 500 }\n  - name: EC2 Notebook', '- { parameter: VolumeSizeGb, above: 500 }\n  - name: EC2 Notebook'), 'c.yaml');
    const logged: string[] = [];
    await warnUnknownParameters(misnamed, new SandboxCatalog(), (m) => void logged.push(m));
    expect(logged).toEqual([expect.stringContaining('EC2 Windows has no parameter VolumeSizeGb')]);
    expect(await warnUnknownParameters(parsePolicy(base, 'c.yaml'), new SandboxCatalog(), () => {})).toEqual([]);
  });
});

describe('people named by email', () => {
  const slack = (userId: string) => ({ platform: 'slack' as const, userId });
  const person = (email: string, ...handles: { platform: 'slack' | 'teams'; userId: string }[]) => ({ email, username: email.split('@')[0]!, handles });
  const emailKeyed = base
    .replace('users: {}', 'users:\n  JDoe@Synapse.org: { role: admin, department: Genomics, project: p-1, principal: "arn:aws:iam::111122223333:role/SC/jdoe", slackId: U0JDOE }')
    .replace('    # slackUserGroup: S0ITGROUP', '    slackUserGroup: S0ITGROUP')
    .replace('  # teams:                    # and/or a Teams channel: each request is posted in every venue\n  #   team: <team id>\n  #   channel: 19:…@thread.tacv2', '  teams:\n    team: T-RESEARCH\n    channel: "19:approvals@thread.tacv2"');

  it('keys users by email, whatever case the file or the platform uses', () => {
    const p = parsePolicy(emailKeyed, 'c.yaml');
    expect(p.warnings).toEqual([]);
    expect(p.roleOf('jdoe@synapse.org')).toBe('admin');
    expect(p.roleOf(person('JDOE@SYNAPSE.ORG', slack('UOTHER')))).toBe('admin');
    expect(p.roleOf('someone@synapse.org')).toBe('researcher');
    expect(p.tagsFor('jdoe@synapse.org')).toEqual({ Department: 'Genomics', Project: 'p-1' });
    expect(p.tagsFor('someone@synapse.org')).toEqual({ Department: 'Research', Project: 'scicomp' });
    expect(p.principalOf(person('jdoe@synapse.org'))).toBe('arn:aws:iam::111122223333:role/SC/jdoe');
    // A handle alone is no one: only the slackId IT wrote says which email a Slack account is.
    expect(p.roleOf(person('u0jdoe@synapse.org', slack('U0JDOE')))).toBe('researcher');
    expect(p.emailOf(slack('U0JDOE'))).toBe('jdoe@synapse.org');
    expect(p.emailOf({ platform: 'teams', userId: 'U0JDOE' })).toBeUndefined();
  });

  it('finds approvers by email or by a group of the platform they act on', () => {
    const p = parsePolicy(emailKeyed, 'c.yaml');
    expect(p.isApprover('IT-Admin1@synapse.org')).toBe(true);
    expect(p.isApprover(person('jdoe@synapse.org', slack('U0JDOE')))).toBe(false);
    expect(p.isApprover(person('jdoe@synapse.org', slack('U0JDOE')), { slack: ['U0JDOE'] })).toBe(true);
    // Membership counts on the platform the person acts through, not on another.
    expect(p.isApprover(person('jdoe@synapse.org', slack('U0JDOE')), { teams: ['U0JDOE'] })).toBe(false);
    expect(p.approverGroups()).toEqual([{ platform: 'slack', group: 'S0ITGROUP' }]);
  });

  it('lists every approvals venue', () => {
    expect(parsePolicy(base, 'c.yaml').approvalVenues()).toEqual([{ platform: 'slack', kind: 'channel', channel: 'C0APPROVALS' }]);
    expect(parsePolicy(emailKeyed, 'c.yaml').approvalVenues()).toEqual([
      { platform: 'slack', kind: 'channel', channel: 'C0APPROVALS' },
      { platform: 'teams', kind: 'channel', channel: '19:approvals@thread.tacv2', team: 'T-RESEARCH' },
    ]);
    const teamsOnly = emailKeyed.replace('  slack:\n    channel: C0APPROVALS      # Slack channel id of #sageit-approvals\n', '');
    expect(parsePolicy(teamsOnly, 'c.yaml').approvalVenues().map((v) => v.platform)).toEqual(['teams']);
    expect(parsePolicy(base, 'c.yaml').doc.approvals.maxOpenPerUser).toBe(5);
  });

  it('refuses what names no one, or names someone twice, pointing at the line', () => {
    const cases: [string, string, RegExp][] = [
      [base.replace('users: {}', 'users:\n  jdoe: { role: admin }'), 'jdoe:', /users\.jdoe: key each user by their email/],
      [base.replace('users: {}', 'users:\n  jdoe@: { role: admin }'), 'jdoe@:', /users\.jdoe@: not an email address/],
      [base.replace('users: {}', 'users:\n  jdoe@synapse.org: { email: jdoe@synapse.org }'), 'email: jdoe', /users\.jdoe@synapse\.org\.email: the key is this person's email already/],
      [base.replace('users: {}', 'users:\n  jdoe@synapse.org: { role: admin }\n  JDOE@synapse.org: { role: guest }'), 'JDOE@', /users\.JDOE@synapse\.org: jdoe@synapse\.org is listed twice \(also as users\.jdoe@synapse\.org\)/],
      [base.replace('users: {}', 'users:\n  jdoe@synapse.org: { role: admin }\n  U0JDOE: { email: jdoe@synapse.org }'), 'U0JDOE:', /users\.U0JDOE: jdoe@synapse\.org is listed twice/],
      [base.replace('users: {}', 'users:\n  a@synapse.org: { slackId: U1 }\n  b@synapse.org: { slackId: U1 }'), 'b@synapse', /users\.b@synapse\.org: the Slack user U1 is listed twice/],
      [base.replace('users: {}', 'users:\n  a@synapse.org: { slackId: jdoe }'), 'jdoe }', /users\.a@synapse\.org\.slackId: a Slack user id/],
      [base.replace('emails: [it-admin1@synapse.org, it-admin2@synapse.org]', 'emails: [it-admin1]'), 'it-admin1]', /approvals\.approvers\.emails\.0: an email address/],
    ];
    for (const [text, at, message] of cases) {
      expect(() => parsePolicy(text, 'c.yaml'), at).toThrow(message);
      expect(() => parsePolicy(text, 'c.yaml'), at).toThrow(new RegExp(`^c\\.yaml:${lineCol(text, at)}: `));
    }
    const noVenue = base.replace('  slack:\n    channel: C0APPROVALS      # Slack channel id of #sageit-approvals\n', '');
    expect(() => parsePolicy(noVenue, 'c.yaml')).toThrow(/approvals: say where requests are posted: slack: \{ channel: C… \} and\/or teams/);
    const noApprover = base.replace('  approvers:\n    emails: [it-admin1@synapse.org, it-admin2@synapse.org]\n', '  approvers: {}\n');
    expect(() => parsePolicy(noApprover, 'c.yaml')).toThrow(/approvals\.approvers: name the approvers/);
  });
});

describe('a policy that names people by Slack id (the layout before email)', () => {
  const legacy = base
    .replace(
      /approvals:\n {2}approvers:\n[^]*?\n {2}expiryHours: 72\n/,
      'approvals:\n  channel: C0OLD\n  approvers:\n    users: [U0ITADMIN1, U0ITADMIN2]\n  expiryHours: 72\n',
    )
    .replace('  # emailDomain: synapse.org', '  emailDomain: synapse.org')
    .replace('users: {}', 'users:\n  U123: { role: admin, email: jdoe@synapse.org, department: Genomics }\n  W456: { role: guest, username: guest1 }\n  U789: { role: admin }');

  it('still loads, keyed by email where it can be, and warns once per legacy line with file:line', () => {
    const p = parsePolicy(legacy, 'manifests/catalog.yaml');
    expect(p.warnings).toEqual([
      `manifests/catalog.yaml:${lineCol(legacy, 'channel: C0OLD')}: approvals.channel: moved: write approvals.slack.channel: C0OLD — the old key stops working in the next release`,
      `manifests/catalog.yaml:${lineCol(legacy, 'users: [U0ITADMIN1')}: approvals.approvers.users: lists Slack user ids; list the approvers' emails under approvals.approvers.emails — Slack ids stop working in the next release`,
      `manifests/catalog.yaml:${lineCol(legacy, 'U123:')}: users.U123: keyed by a Slack user id; key it by email (jdoe@synapse.org) — Slack ids stop working in the next release`,
      `manifests/catalog.yaml:${lineCol(legacy, 'W456:')}: users.W456: keyed by a Slack user id; key it by email (guest1@synapse.org) — Slack ids stop working in the next release`,
      `manifests/catalog.yaml:${lineCol(legacy, 'U789:')}: users.U789: keyed by a Slack user id; key it by email (the person's email) — Slack ids stop working in the next release`,
    ]);
    expect(lineCol(legacy, 'U123:')).toMatch(/^\d+:3$/);
    expect(p.approvalVenues()).toEqual([{ platform: 'slack', kind: 'channel', channel: 'C0OLD' }]);
    // An entry with an email is that person's, whichever handle they act through; its id still maps to the email.
    expect(p.roleOf('jdoe@synapse.org')).toBe('admin');
    expect(p.tagsFor('jdoe@synapse.org').Department).toBe('Genomics');
    expect(p.emailOf({ platform: 'slack', userId: 'U123' })).toBe('jdoe@synapse.org');
    expect(p.emailOf({ platform: 'slack', userId: 'W456' })).toBe('guest1@synapse.org');
    expect(p.roleOf('guest1@synapse.org')).toBe('guest');
    // Without one, it applies to whoever acts through that Slack id, and to no one else.
    expect(p.roleOf({ email: 'boss@synapse.org', handles: [{ platform: 'slack', userId: 'U789' }] })).toBe('admin');
    expect(p.roleOf({ email: 'boss@synapse.org', handles: [{ platform: 'teams', userId: 'U789' }] })).toBe('researcher');
    expect(p.roleOf('boss@synapse.org')).toBe('researcher');
    expect(p.isApprover({ email: 'it@synapse.org', handles: [{ platform: 'slack', userId: 'U0ITADMIN1' }] })).toBe(true);
    expect(p.isApprover({ email: 'it@synapse.org', handles: [{ platform: 'slack', userId: 'U0OTHER' }] })).toBe(false);
  });

  it('reads the old userGroup as slackUserGroup, with a warning', () => {
    const p = parsePolicy(legacy.replace('users: [U0ITADMIN1, U0ITADMIN2]', 'userGroup: S0IT'), 'c.yaml');
    expect(p.approverGroups()).toEqual([{ platform: 'slack', group: 'S0IT' }]);
    expect(p.warnings).toContain(`c.yaml:${lineCol(legacy.replace('users: [U0ITADMIN1, U0ITADMIN2]', 'userGroup: S0IT'), 'userGroup:')}: approvals.approvers.userGroup: renamed: write slackUserGroup — the old key stops working in the next release`);
  });

  it('refuses a channel said twice', () => {
    const both = base.replace('  expiryHours: 72', '  channel: C0OLD\n  expiryHours: 72');
    expect(() => parsePolicy(both, 'c.yaml')).toThrow(`c.yaml:${lineCol(both, 'channel: C0OLD')}: approvals.channel: approvals.slack.channel names the Slack channel already; drop channel`);
  });

  it('loads the shipped manifest without a warning', async () => {
    expect((await loadPolicy('manifests/catalog.yaml')).warnings).toEqual([]);
  });
});
