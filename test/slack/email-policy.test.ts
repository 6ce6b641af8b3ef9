// A policy that names people by email, end to end through Slack's own door: roles and tags by email, an approver named
// by email deciding, a transfer to someone named by @handle, email or mention; and an old Slack-id policy still working.
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/core/policy.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually, Harness } from '../support/harness.js';

const manifest = readFileSync('manifests/catalog.yaml', 'utf8');
/** Buckets are for admins only here: a role the policy gives by email decides who may launch one. */
const adminBuckets = (text: string) => text.replace('  - name: S3 Private Encrypted Bucket\n    kind: bucket\n    roles: [admin, researcher, guest]', '  - name: S3 Private Encrypted Bucket\n    kind: bucket\n    roles: [admin]');

const EMAIL_POLICY = adminBuckets(manifest)
  .replace('emails: [it-admin1@synapse.org, it-admin2@synapse.org]', 'emails: [Ivan@Synapse.org]')
  .replace('channel: C0APPROVALS', 'channel: CEMAIL')
  .replace('  # emailDomain: synapse.org', '  principalTemplate: "arn:aws:iam::111122223333:role/SC-Endusers/{email}"')
  .replace(
    'users: {}',
    [
      'users:',
      '  carol@synapse.org: { role: admin, department: Genomics, project: p-42 }',
      '  dave@synapse.org: { principal: "arn:aws:iam::111122223333:role/SC-Special/dave" }',
      '  nomail@synapse.org: { role: admin, slackId: UNOMAIL }',
    ].join('\n'),
  );

const reply = (h: Harness, responseId: string, what: string) => eventually(() => h.replies(responseId).join('\n'), what);

async function run(h: Harness, user: string, text: string): Promise<string> {
  const { responseId } = await h.command(user, text);
  return reply(h, responseId, text);
}

async function click(h: Harness, user: string, action: string, value: string): Promise<string> {
  const { responseId } = await h.click(user, action, value);
  return reply(h, responseId, `${action} by ${user}`);
}

function requestIdIn(text: string): string {
  const m = /Request ([A-Za-z0-9_-]+) filed/.exec(text);
  if (!m) throw new Error(`no request id in ${text}`);
  return m[1]!;
}

describe('a policy keyed by email', () => {
  let h: Harness;
  let sandbox: SandboxCatalog;

  beforeAll(async () => {
    sandbox = new SandboxCatalog({ provisionMs: 100 });
    h = await Harness.start({ catalog: sandbox, policy: parsePolicy(EMAIL_POLICY, 'email-catalog.yaml') });
    Object.assign(h.slack.users, {
      // Slack ids that say nothing of the person: only the verified profile email ties them to the policy.
      U01CAROL: { name: 'carol', email: 'carol@synapse.org' },
      U02DAVE: { name: 'dave', displayName: 'Dave D', email: 'dave@synapse.org' },
      U03IVAN: { name: 'ivan', email: 'ivan@synapse.org' },
      U04EVE: { name: 'eve', email: 'eve@synapse.org' },
      // Goes by carol, but is not Carol: a handle is no one's identity.
      U05FAKE: { name: 'carol.fake', displayName: 'carol', email: 'mallory@synapse.org' },
      UNOMAIL: { name: 'nomail' },
      // Carol's second account: another handle, the same person (lookups by email find her first one).
      U07CAROL: { name: 'carol2', email: 'carol@synapse.org' },
    });
  });

  afterAll(async () => {
    await dropPrefix(h.app);
    await h.close();
  });

  async function ready(name: string) {
    return eventually(async () => (await sandbox.searchProvisioned()).find((p) => p.name === name && p.status === 'AVAILABLE'), `${name} available`);
  }

  it('gives the role and tags of the entry keyed by the person’s verified email', async () => {
    expect(await run(h, 'U01CAROL', 'launch "S3 Private Encrypted Bucket" data')).toContain('Launching carol-data');
    const bucket = await ready('carol-data');
    expect(bucket.tags).toMatchObject({ OwnerEmail: 'carol@synapse.org', Department: 'Genomics', Project: 'p-42' });
    expect(await run(h, 'U04EVE', 'launch "S3 Private Encrypted Bucket" data')).toContain('Your role (researcher) may not launch S3 Private Encrypted Bucket');
    expect(await run(h, 'U05FAKE', 'launch "S3 Private Encrypted Bucket" data')).toContain('Your role (researcher) may not launch');
  });

  it('takes a Slack account with no profile email as the person whose slackId IT wrote', async () => {
    expect(await run(h, 'UNOMAIL', 'launch "S3 Private Encrypted Bucket" mine')).toContain('Launching nomail-mine');
    expect((await ready('nomail-mine')).tags.OwnerEmail).toBe('nomail@synapse.org');
  });

  it('lets the approver named by email decide, and no one else', async () => {
    const id = requestIdIn(await run(h, 'U01CAROL', 'launch "EC2 Linux" big InstanceType=c5.2xlarge'));
    await eventually(() => h.slack.of('chat.postMessage').find((c) => c.body.channel === 'CEMAIL' && JSON.stringify(c.body).includes(`"value":"${id}"`)), 'parent in the approvals channel');
    expect(await click(h, 'U04EVE', 'approve', id)).toContain('Only members of the IT approver group can decide requests');
    expect(await click(h, 'U01CAROL', 'approve', id)).toContain('Only members of the IT approver group');
    expect(await click(h, 'U03IVAN', 'approve', id)).toContain(`Approved request ${id}`);
    expect((await ready('carol-big')).tags.OwnerEmail).toBe('carol@synapse.org');
  });

  it('transfers to a person named by @handle, email or mention, owned through the principal the policy gives them', async () => {
    const boxes = ['t1', 't2', 't3'];
    for (const b of boxes) expect(await run(h, 'U01CAROL', `launch "EC2 Linux" ${b}`)).toContain(`Launching carol-${b}`);
    for (const b of boxes) await ready(`carol-${b}`);
    const named = ['@dave', 'Dave@Synapse.org', '<@U02DAVE|dave>'];
    for (const [i, who] of named.entries()) {
      const id = requestIdIn(await run(h, 'U01CAROL', `transfer carol-${boxes[i]} ${who}`));
      expect(await click(h, 'U03IVAN', 'approve', id), who).toContain(`Approved request ${id}`);
    }
    for (const b of boxes) {
      const pp = await eventually(async () => (await sandbox.searchProvisioned()).find((p) => p.name === `carol-${b}` && p.tags.OwnerEmail === 'dave@synapse.org'), `carol-${b} retagged`);
      expect(await sandbox.ownerOf(pp.id)).toBe('arn:aws:iam::111122223333:role/SC-Special/dave');
    }
    expect(await run(h, 'U02DAVE', 'list')).toContain('carol-t1');
    // A display name someone chose that collides with another's handle names no one: never a guess.
    expect(await run(h, 'U04EVE', 'launch "EC2 Linux" gift')).toContain('Launching eve-gift');
    await ready('eve-gift');
    expect(await run(h, 'U04EVE', 'transfer eve-gift @carol')).toContain("2 people in this Slack workspace go by @carol, so I can't tell which one you mean");
  });

  it('finds a person’s audit entries by their email, whichever account they acted through', async () => {
    expect(await run(h, 'U07CAROL', 'list')).toContain('carol-data');
    await eventually(async () => (await h.app.audit.recent(1000)).find((e) => e.actor === 'slack:U07CAROL' && e.action === 'command.list'), 'list audited');
    const trail = await run(h, 'U03IVAN', 'audit carol@synapse.org');
    expect(trail).toContain('slack:U07CAROL');
    expect(trail).toContain('slack:U01CAROL');
    expect(trail).not.toContain('slack:U02DAVE');
  });

  it('refuses a transfer to oneself, however one is named', async () => {
    expect(await run(h, 'U01CAROL', 'transfer carol-big carol@synapse.org')).toContain('You cannot transfer a product to yourself');
    expect(await run(h, 'U01CAROL', 'transfer carol-big <@U01CAROL>')).toContain('You cannot transfer a product to yourself');
    expect(await run(h, 'U01CAROL', 'transfer carol-big <@U07CAROL>')).toContain('You cannot transfer a product to yourself');
  });
});

describe('a policy still keyed by Slack id', () => {
  let h: Harness;
  let sandbox: SandboxCatalog;
  const logs: string[] = [];
  const LEGACY = adminBuckets(manifest)
    .replace(
      /approvals:\n {2}approvers:\n[^]*?\n {2}expiryHours: 72\n/,
      'approvals:\n  channel: COLDAPPROVE\n  approvers:\n    users: [UOLDIT]\n  expiryHours: 72\n',
    )
    .replace('users: {}', 'users:\n  UOLDBOSS: { role: admin, email: boss@synapse.org, department: Legacy }');

  beforeAll(async () => {
    sandbox = new SandboxCatalog({ provisionMs: 100 });
    const log = pino({ level: 'warn' }, { write: (line: string) => void logs.push(line) });
    h = await Harness.start({ catalog: sandbox, policy: parsePolicy(LEGACY, 'manifests/catalog.yaml'), extra: { log } });
    Object.assign(h.slack.users, { UOLDBOSS: { name: 'boss' }, UOLDIT: { name: 'it', email: 'it@synapse.org' } });
  });

  afterAll(async () => {
    await dropPrefix(h.app);
    await h.close();
  });

  it('warns at start-up once per legacy line, naming file:line', () => {
    const warned = logs.map((l) => (JSON.parse(l) as { msg: string }).msg);
    const line = (needle: string) => LEGACY.slice(0, LEGACY.indexOf(needle)).split('\n').length;
    expect(warned).toEqual([
      expect.stringMatching(new RegExp(`^manifests/catalog\\.yaml:${line('channel: COLDAPPROVE')}:3: approvals\\.channel: moved`)),
      expect.stringMatching(new RegExp(`^manifests/catalog\\.yaml:${line('users: [UOLDIT]')}:5: approvals\\.approvers\\.users: lists Slack user ids`)),
      `manifests/catalog.yaml:${line('UOLDBOSS:')}:3: users.UOLDBOSS: keyed by a Slack user id; key it by email (boss@synapse.org) — Slack ids stop working in the next release`,
    ]);
  });

  it('still applies its users and approvers', async () => {
    // UOLDBOSS's Slack profile shows no email: the one the policy wrote for that id is who they are.
    expect(await run(h, 'UOLDBOSS', 'launch "S3 Private Encrypted Bucket" old')).toContain('Launching boss-old');
    const bucket = await eventually(async () => (await sandbox.searchProvisioned()).find((p) => p.name === 'boss-old'), 'bucket');
    expect(bucket.tags).toMatchObject({ OwnerEmail: 'boss@synapse.org', Department: 'Legacy' });
    const id = requestIdIn(await run(h, 'UOLDBOSS', 'launch "EC2 Linux" big InstanceType=c5.2xlarge'));
    await eventually(() => h.slack.of('chat.postMessage').find((c) => c.body.channel === 'COLDAPPROVE' && JSON.stringify(c.body).includes(`"value":"${id}"`)), 'parent in the old approvals channel');
    expect(await click(h, 'UOLDIT', 'approve', id)).toContain(`Approved request ${id}`);
  });
});
