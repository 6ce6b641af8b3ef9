// Who people are, through Slack's own door: identity only from a verified email, people named by mention, @handle or
// email, what they type taken as typed, and what they wrote never turned into a mention or link in a message.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy, PolicyError } from '../../src/core/policy.js';
import type { LaunchOptions, ProvisionInput } from '../../src/core/ports.js';
import { SandboxCatalog, SANDBOX_PRODUCT_IDS } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually, Harness } from '../support/harness.js';
import { APPROVALS_CHANNEL, policyText } from '../support/policy.js';

/** The sandbox with a free-text parameter on EC2 Linux, recording what each ProvisionProduct was given. */
class RecordingCatalog extends SandboxCatalog {
  readonly provisions: ProvisionInput[] = [];

  override async launchOptions(productId: string, versionId: string): Promise<LaunchOptions> {
    const o = await super.launchOptions(productId, versionId);
    if (productId !== SANDBOX_PRODUCT_IDS['EC2 Linux']) return o;
    return { ...o, parameters: [...o.parameters, { key: 'StartupCommand', description: 'Run at boot', type: 'String', defaultValue: '' }] };
  }

  override async provision(input: ProvisionInput) {
    this.provisions.push(input);
    const { StartupCommand: _, ...rest } = input.parameters;
    return super.provision({ ...input, parameters: rest });
  }
}

const OWNER = 'UOWNER';
const JDOE = 'UJDOE';
const NOEMAIL = 'UNOEMAIL';
const MAPPED = 'UMAPPED';
const BOB = 'UBOB';
const EVIL = 'UEVIL';
const IT1 = 'UIT1';
const HOSTILE = '<!channel> <https://evil.example|Approve here>';

let h: Harness;
let sandbox: RecordingCatalog;

beforeAll(async () => {
  sandbox = new RecordingCatalog({ provisionMs: 100 });
  // emailDomain is set, as the shipped policy suggests: it must still never apply to a handle.
  const text = policyText()
    .replace('  principalTemplate:', '  emailDomain: synapse.org\n  principalTemplate:')
    .replace('users:\n  uit1@synapse.org: { role: admin }', `users:\n  uit1@synapse.org: { role: admin }\n  ${MAPPED}: { username: mapped }`);
  h = await Harness.start({ catalog: sandbox, policy: parsePolicy(text, 'test-catalog.yaml') });
  // More than one users.list page before the people the tests name.
  for (let i = 0; i < 230; i++) h.slack.users[`UFILL${i}`] = { name: `filler${i}`, email: `filler${i}@synapse.org` };
  Object.assign(h.slack.users, {
    [OWNER]: { name: 'owner', email: 'owner@synapse.org' },
    [JDOE]: { name: 'jdoe', email: 'jdoe@synapse.org' },
    // Chose the handle jdoe in another profile field; has no email Slack will show the app.
    [NOEMAIL]: { name: 'jdoe' },
    [MAPPED]: { name: 'someone-else' },
    [BOB]: { name: 'bob', email: 'bob@synapse.org', displayName: 'Bobby' },
    UROB1: { name: 'rob.one', displayName: 'Rob', email: 'rob1@synapse.org' },
    UROB2: { name: 'rob', email: 'rob2@synapse.org' },
    UOLD: { name: 'old', email: 'old@synapse.org', deleted: true },
    [EVIL]: { name: 'evil', realName: HOSTILE, email: 'evil@synapse.org' },
  });
});

afterAll(async () => {
  await dropPrefix(h.app);
  await h.close();
});

const reply = (responseId: string, what: string) => eventually(() => h.replies(responseId).join('\n'), what);

async function run(user: string, text: string): Promise<string> {
  const { responseId } = await h.command(user, text);
  return reply(responseId, text);
}

/** Launches and waits until available; product names carry the owner's email name. */
async function launched(user: string, name: string, owner = h.slack.users[user]!.email!.split('@')[0]): Promise<string> {
  expect(await run(user, `launch "EC2 Linux" ${name}`)).toContain('Launching');
  const full = `${owner}-${name}`;
  await eventually(async () => (await sandbox.searchProvisioned()).find((p) => p.name === full && p.status === 'AVAILABLE'), `${full} available`);
  return full;
}

const approvalPosts = () => h.slack.calls.filter((c) => c.method === 'chat.postMessage' && c.body.channel === APPROVALS_CHANNEL);

describe('identity comes from a verified email only', () => {
  it('refuses a user with no profile email, naming what IT must do, and never makes one of their handle', async () => {
    const box = await launched(JDOE, 'box');
    const list = await run(NOEMAIL, 'list');
    expect(list).toContain("I can't tell who you are");
    expect(list).toContain('users:read.email');
    expect(list).toContain(`map your user id ${NOEMAIL} to your email in the catalog policy`);
    expect(list).not.toContain(box);
    const terminate = await run(NOEMAIL, `terminate ${box}`);
    expect(terminate).toContain("I can't tell who you are");
    expect(terminate).not.toContain('scicomp:confirm');
    expect((await sandbox.searchProvisioned()).find((p) => p.name === box)?.status).toBe('AVAILABLE');
  });

  it('completes a username IT mapped in the policy with emailDomain', async () => {
    await launched(MAPPED, 'mine', 'mapped');
    const product = (await sandbox.searchProvisioned()).find((p) => p.name === 'mapped-mine')!;
    expect(product.tags.OwnerEmail).toBe('mapped@synapse.org');
  });

  it('will not hand a product to someone without a verified email', async () => {
    await launched(OWNER, 'gift');
    expect(await run(OWNER, `transfer owner-gift <@${NOEMAIL}>`)).toContain(`${NOEMAIL} has no verified email I can read`);
  });

  it('refuses a policy whose username mapping has no emailDomain to complete it', () => {
    const text = policyText().replace('users:\n  uit1@synapse.org: { role: admin }', 'users:\n  uit1@synapse.org: { role: admin }\n  UX: { username: x }');
    expect(() => parsePolicy(text, 'p.yaml')).toThrow(PolicyError);
    expect(() => parsePolicy(text, 'p.yaml')).toThrow(/users\.UX\.username: needs defaults\.emailDomain/);
  });
});

describe('people named by mention, @handle or email', () => {
  let boxes: string[];
  beforeAll(async () => {
    boxes = [await launched(OWNER, 'h1'), await launched(OWNER, 'h2'), await launched(OWNER, 'h3'), await launched(OWNER, 'h4')];
  });

  it('transfers to @handle, to a display name in any case, and to an email (as Slack sends one)', async () => {
    // The workspace's people as Slack lists them now, not as an earlier test left them cached.
    await h.app.store.del(h.app.store.key('slack', 'members'));
    const [lists, lookups] = [h.slack.of('users.list').length, h.slack.of('users.lookupByEmail').length];
    for (const [box, who] of [[boxes[0], '@bob'], [boxes[1], '@BOBBY'], [boxes[2], '<mailto:bob@synapse.org|bob@synapse.org>'], [boxes[3], `<@${BOB}|bob>`]] as const) {
      const answer = await run(OWNER, `transfer ${box} ${who}`);
      expect(answer, who).toMatch(/Request \S+ filed: Transfer/);
      await eventually(() => approvalPosts().find((c) => JSON.stringify(c.body).includes(`Transfer ${box} to bob`) && JSON.stringify(c.body).includes('bob@synapse.org')), `parent for ${who}`);
    }
    // users.list read every page, once: the next @handle is answered from the cache.
    expect(h.slack.of('users.list').length - lists).toBe(2);
    expect(h.slack.of('users.lookupByEmail').slice(lookups).map((c) => c.body.email)).toEqual(['bob@synapse.org']);
  });

  it('says which problem an ambiguous or unknown name has, and files nothing', async () => {
    const before = approvalPosts().length;
    expect(await run(OWNER, `transfer ${boxes[0]} @rob`)).toContain("2 people in this Slack workspace go by @rob, so I can't tell which one you mean");
    expect(await run(OWNER, `transfer ${boxes[0]} @nobody`)).toContain('No one in this Slack workspace goes by @nobody');
    expect(await run(OWNER, `transfer ${boxes[0]} @old`)).toContain('No one in this Slack workspace goes by @old');
    expect(await run(OWNER, `transfer ${boxes[0]} nobody@synapse.org`)).toContain('No one in this Slack workspace has the email address nobody@synapse.org');
    expect(await run(OWNER, `transfer ${boxes[0]} bob`)).toContain('\\"bob\\" is not a user');
    expect(approvalPosts().length).toBe(before);
  });

  it('offboards and audits a person named by @handle', async () => {
    await run(BOB, 'list');
    await eventually(async () => (await h.app.audit.recent(1000)).find((e) => e.actor === `slack:${BOB}` && e.action === 'command.list'), "bob's list audited");
    const audit = await run(IT1, 'audit @bob');
    expect(audit).toContain(`slack:${BOB}`);
    expect(audit).toContain('command.list');
    expect(await run(IT1, 'audit @nobody')).toContain('No one in this Slack workspace goes by @nobody');
    expect(await run(IT1, 'offboard @bobby')).toMatch(/Request \S+ filed: Offboard bob/);
  });
});

describe("Slack's escaping", () => {
  it('is undone once at the edge: a parameter typed with && reaches ProvisionProduct with &&', async () => {
    // As Slack posts `StartupCommand="echo a && echo b > out.txt &lt;x"`: every &, < and > the person typed escaped.
    const typed = 'launch "EC2 Linux" amp StartupCommand="echo a &amp;&amp; echo b &gt; out.txt &amp;lt;x"';
    expect(await run(OWNER, typed)).toContain('Launching owner-amp');
    const input = await eventually(() => sandbox.provisions.find((p) => p.name === 'owner-amp'), 'ProvisionProduct for owner-amp');
    expect(input.parameters.StartupCommand).toBe('echo a && echo b > out.txt &lt;x');
  });
});

describe('what people wrote never becomes a mention or link', () => {
  it('escapes a hostile display name in the approvals channel: notification text and blocks', async () => {
    const box = await launched(EVIL, 'loot');
    const answer = await run(EVIL, `transfer ${box} <@${BOB}>`);
    expect(answer).toMatch(/Request \S+ filed/);
    const parent = await eventually(() => approvalPosts().find((c) => JSON.stringify(c.body).includes(`Transfer ${box} to bob`)), 'parent message');
    const raw = JSON.stringify(parent.body);
    expect(String(parent.body.text)).toContain('&lt;!channel&gt; &lt;https://evil.example|Approve here&gt;');
    expect(raw).not.toContain('<!channel>');
    expect(raw).not.toContain('<https://evil.example');
    for (const c of h.slack.calls.filter((x) => ['chat.postMessage', 'chat.update', 'response_url'].includes(x.method))) {
      expect(JSON.stringify(c.body)).not.toContain('<!channel>');
    }
  });
});
