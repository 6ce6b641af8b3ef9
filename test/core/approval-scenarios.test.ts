// Approval scenarios on the core alone (a recording outbox, a fake clock, people on two platforms, approvals venues in
// Slack and Teams), run once against the in-memory repositories and once against the Redis ones: the same story must
// hold on both.
import { pino } from 'pino';
import { Channels } from '../../src/core/channel.js';
import { MemoryInventory } from '../../src/adapters/memory/inventory.js';
import { RecordingChannel } from '../support/recording-channel.js';
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryApprovals } from '../../src/adapters/memory/approvals.js';
import { MemoryArchives } from '../../src/adapters/memory/archives.js';
import { MemoryConfirmations } from '../../src/adapters/memory/confirmations.js';
import { MemoryLaunchPlans } from '../../src/adapters/memory/launch-plans.js';
import { MemoryProductParameters } from '../../src/adapters/memory/product-parameters.js';
import { RedisApprovals } from '../../src/adapters/redis/approvals.js';
import { RedisArchives } from '../../src/adapters/redis/archives.js';
import { RedisConfirmations } from '../../src/adapters/redis/confirmations.js';
import { RedisLaunchPlans } from '../../src/adapters/redis/launch-plans.js';
import { RedisProductParameters } from '../../src/adapters/redis/product-parameters.js';
import { decide, expire, loadRequest, openRequest, parentKey, pendingRequests, type ApprovalRequest } from '../../src/core/approvals.js';
import type { Actor, AuditEntry, AuditLog, CoreDeps, Ctx, OutboxItem, People, WatchRequest } from '../../src/core/context.js';
import { decideConfirmation, terminate } from '../../src/core/lifecycle.js';
import type { Message } from '../../src/core/message.js';
import { Policy } from '../../src/core/policy.js';
import type { Address, Clock, Platform, ProvisionedProduct } from '../../src/core/ports.js';
import { approvalExtensions, carryOut } from '../../src/core/requests.js';
import { Sealer, sealJson } from '../../src/core/sealed.js';
import { backends, testRedis } from '../support/backends.js';
import { DATA_KEY } from '../support/harness.js';
import { testPolicy } from '../support/policy.js';

const SLACK_VENUE: Address = { platform: 'slack', kind: 'channel', channel: 'CAPPROVE' };
const TEAMS_VENUE: Address = { platform: 'teams', kind: 'channel', channel: '19:approvals@thread.tacv2' };

/** The policy with approvers in a group on each platform, and a venue in Slack and one in Teams. */
class TwoVenues extends Policy {
  override approvalVenues(): Address[] {
    return [SLACK_VENUE, TEAMS_VENUE];
  }
}
const policy = new TwoVenues(testPolicy(72, { userGroup: 'SITGROUP', teamsGroup: 'SITGROUP' }).doc);

const person = (platform: Platform, userId: string, email: string): Actor => ({ platform, userId, email, username: email.split('@')[0]!, name: email.split('@')[0]!, handles: [{ platform, userId }] });
const ALICE = person('slack', 'UALICE', 'alice@synapse.org');
const ALICE_ON_TEAMS = person('teams', '29:alice', 'alice@synapse.org');
const IT1 = person('slack', 'UIT1', 'it1@synapse.org');
const IT1_ON_TEAMS = person('teams', '29:it1', 'it1@synapse.org');
const IT2_ON_TEAMS = person('teams', '29:it2', 'it2@synapse.org');
const EVERYONE = [ALICE, ALICE_ON_TEAMS, IT1, IT1_ON_TEAMS, IT2_ON_TEAMS];

const people: People = {
  actor: async (platform, userId) => {
    const found = EVERYONE.find((p) => p.platform === platform && p.userId === userId);
    if (!found) throw new Error(`no ${platform} user ${userId}`);
    return found;
  },
  find: async (platform, text) => {
    const found = EVERYONE.find((p) => p.platform === platform && (p.userId === text || p.email === text));
    if (!found) throw new Error(`no ${platform} user ${text}`);
    return found;
  },
  groupMembers: async (platform, group) => (group === 'SITGROUP' ? EVERYONE.filter((p) => p.platform === platform && p.email.startsWith('it')).map((p) => p.userId) : []),
};

const redis = testRedis();

type Repositories = Pick<CoreDeps, 'approvals' | 'confirmations' | 'launchPlans' | 'archives' | 'productParameters'>;
const implementations = backends<[Clock], Repositories>(
  (clock) => ({
    approvals: new MemoryApprovals(clock),
    confirmations: new MemoryConfirmations(clock),
    launchPlans: new MemoryLaunchPlans(clock),
    archives: new MemoryArchives(),
    productParameters: new MemoryProductParameters(clock),
  }),
  (clock) => {
    const store = redis.store();
    return {
      approvals: new RedisApprovals(store, clock),
      confirmations: new RedisConfirmations(store),
      launchPlans: new RedisLaunchPlans(store),
      archives: new RedisArchives(store),
      productParameters: new RedisProductParameters(store),
    };
  },
);

describe.each(implementations)('approvals with their state %s', (_name, repositories) => {
  let now = Date.UTC(2026, 10, 23, 10);
  const clock: Clock = { now: () => now };
  let sent: OutboxItem[];
  let audit: AuditEntry[];
  let carried: string[];
  let terminated: string[];
  let watched: WatchRequest[];
  let deps: CoreDeps;
  let n = 0;
  const box: ProvisionedProduct = { id: 'pp-box', name: 'alice-box', status: 'AVAILABLE', productName: 'EC2 Linux', tags: { OwnerEmail: ALICE.email } };
  const jobs = { scheduleExpiry: async () => {}, carrier: { carryOut: async (id: string) => void carried.push(id) } };
  const ext = approvalExtensions(jobs);

  beforeEach(() => {
    now = Date.UTC(2026, 10, 23, 10);
    sent = [];
    audit = [];
    carried = [];
    terminated = [];
    watched = [];
    deps = {
      ...repositories(clock),
      inventory: new MemoryInventory(clock),
      inventoryPacing: { pagesPerSecond: 100 },
      catalog: {
        searchProvisioned: async () => [box],
        describeProvisioned: async (id: string) => (id === box.id ? box : undefined),
        terminate: async (input: { provisionedProductId: string; token: string }) => {
          terminated.push(input.token);
          return { recordId: `rec-${input.token}` };
        },
      },
      outbox: { send: async (item: OutboxItem) => void sent.push(item), permalink: async (key: string) => `https://chat.example/${key}` },
      watcher: { watch: async (w: WatchRequest) => void watched.push(w) },
      audit: { append: async (e: AuditEntry) => void audit.push(e), recent: async () => [] } satisfies AuditLog,
      feed: { publish: async () => {} },
      clock,
      policy: () => policy,
      people,
      channels: new Channels([new RecordingChannel('slack', (words) => `/scicomp ${words}`), new RecordingChannel('teams')]),
      log: pino({ level: 'silent' }),
      sealer: new Sealer({ get: async () => DATA_KEY }),
    } as unknown as CoreDeps;
  });

  const ctx = (actor: Actor): Ctx => ({ actor, requestId: `i${++n}`, reply: { platform: actor.platform, kind: 'reply', ref: 'r' } });
  const restore = (bucket: string): Omit<ApprovalRequest, 'id' | 'createdAt' | 'expiresAt'> => ({
    requester: { platform: ALICE.platform, userId: ALICE.userId, email: ALICE.email, name: ALICE.name },
    title: `Restore bucket ${bucket}`,
    why: 'needed again',
    fields: [{ label: 'Bucket', value: bucket }],
    impact: 'the bucket comes back',
    payload: { kind: 'restore', restore: { bucket, productName: 'S3 Private Encrypted Bucket', terminatedAt: now - 86400_000 } },
  });
  async function file(by: Actor, what = restore('alice-data')): Promise<string> {
    const answer = await openRequest({ ...what, requester: { platform: by.platform, userId: by.userId, email: by.email, name: by.name } }, ctx(by), deps, jobs.scheduleExpiry);
    return /Request (\S+) filed/.exec(answer.text)![1]!;
  }
  const item = (key: string) => sent.find((s) => s.key === key);

  it('a request appears in every venue, each its own parent, and the requester’s note links to the one on their platform', async () => {
    const id = await file(ALICE);
    expect(item(`request:${id}:parent`)).toMatchObject({ to: SLACK_VENUE, message: { title: 'Restore bucket alice-data' } });
    expect(item(`request:${id}:parent:teams`)).toMatchObject({ to: TEAMS_VENUE, message: { title: 'Restore bucket alice-data' } });
    expect(item(`request:${id}:parent`)!.message.actions?.map((a) => a.id)).toEqual(['approve', 'deny']);
    expect(item(`request:${id}:pending`)).toMatchObject({ to: { platform: 'slack', kind: 'user', userId: ALICE.userId }, linkTo: `request:${id}:parent` });
    expect((await loadRequest(deps, id))!.request.venues).toEqual([SLACK_VENUE, TEAMS_VENUE]);

    const fromTeams = await file(ALICE_ON_TEAMS, restore('alice-logs'));
    expect(item(`request:${fromTeams}:pending`)).toMatchObject({ to: { platform: 'teams', kind: 'user', userId: ALICE_ON_TEAMS.userId }, linkTo: `request:${fromTeams}:parent:teams` });
  });

  it('decided from Teams: both parents lose their buttons, both threads hear it, the requester is told on Slack, once', async () => {
    const id = await file(ALICE);
    const [teams, slack] = await Promise.all([decide(id, 'approved', undefined, ctx(IT2_ON_TEAMS), deps, jobs.carrier), decide(id, 'denied', 'no', ctx(IT1), deps, jobs.carrier)]);
    const answers = [teams.text, slack.text];
    expect(answers.filter((t) => /^(Approved|Denied) request/.test(t))).toHaveLength(1);
    expect(answers.filter((t) => t.includes('was already decided'))).toHaveLength(1);
    const verdict = teams.text.startsWith('Approved') ? 'Approved by it2' : 'Denied by it1';
    for (const venue of [SLACK_VENUE, TEAMS_VENUE]) {
      const decided = item(parentKey(id, venue.platform).replace(':parent', ':decided'))!;
      expect(decided).toMatchObject({ to: venue, replaces: parentKey(id, venue.platform) });
      expect(decided.message.actions).toBeUndefined();
      expect(decided.message.context?.[0]).toContain(verdict);
      const thread = sent.filter((s) => s.threadOf === parentKey(id, venue.platform));
      expect(thread).toHaveLength(1);
      expect(thread[0]!.message.text).toContain(verdict);
    }
    expect(sent.filter((s) => s.key.includes(':decided'))).toHaveLength(2);
    expect(item(`request:${id}:requester:decision`)).toMatchObject({ to: { platform: 'slack', kind: 'user', userId: ALICE.userId }, linkTo: `request:${id}:parent` });
    expect(carried).toEqual(teams.text.startsWith('Approved') ? [id] : []);
    expect(audit.filter((e) => e.action.startsWith('decision.'))).toHaveLength(1);
  });

  it('the same click retried after it won carries on, and is not told it was already decided', async () => {
    const id = await file(ALICE);
    const click = ctx(IT2_ON_TEAMS);
    await decide(id, 'approved', undefined, click, deps, jobs.carrier);
    now += 60_000;
    expect((await decide(id, 'approved', undefined, click, deps, jobs.carrier)).text).toBe(`Approved request ${id}.`);
    expect(carried).toEqual([id, id]);
    // The decision stands as first made.
    expect(item(`request:${id}:decided:teams`)!.message.context?.[0]).toContain(`Approved by it2 at 2026-11-23 10:00 UTC`);
  });

  it('nobody decides their own request, nor a transfer to themselves, from another platform either: a person is their email', async () => {
    const own = await file(IT1, restore('it1-data'));
    await expect(decide(own, 'approved', undefined, ctx(IT1_ON_TEAMS), deps, jobs.carrier)).rejects.toThrow('You cannot decide your own request');
    const transfer = await file(ALICE, {
      ...restore('x'),
      title: 'Transfer alice-box to it1',
      payload: {
        kind: 'transfer',
        transfer: {
          provisionedProductId: box.id,
          name: box.name,
          productName: 'EC2 Linux',
          from: { userId: ALICE.userId, email: ALICE.email, name: ALICE.name },
          to: { userId: IT1.userId, email: IT1.email, name: IT1.name, principal: 'arn:aws:iam::111122223333:role/SC-Endusers/it1@synapse.org' },
        },
      },
    });
    await expect(decide(transfer, 'approved', undefined, ctx(IT1_ON_TEAMS), deps, jobs.carrier)).rejects.toThrow('You cannot decide a transfer to yourself');
    expect((await loadRequest(deps, own))!.decision.state).toBe('pending');
    expect((await loadRequest(deps, transfer))!.decision.state).toBe('pending');
    // Another approver, on either platform, may.
    expect((await decide(own, 'approved', undefined, ctx(IT2_ON_TEAMS), deps, jobs.carrier)).text).toBe(`Approved request ${own}.`);
  });

  it('a person’s open requests count together, whichever platform they asked from', async () => {
    for (let i = 0; i < 3; i++) await file(ALICE, restore(`alice-s${i}`));
    for (let i = 0; i < 2; i++) await file(ALICE_ON_TEAMS, restore(`alice-t${i}`));
    expect(await deps.approvals.openCount('Alice@Synapse.org')).toBe(5);
    const before = sent.length;
    await expect(file(ALICE_ON_TEAMS, restore('alice-t2'))).rejects.toThrow('You have 5 requests waiting for IT');
    expect(sent.length).toBe(before);
  });

  it('an undecided request expires in every venue; a retry audits it once', async () => {
    const id = await file(ALICE);
    now += 73 * 3600_000;
    expect(await expire(id, deps)).toBe(true);
    expect(await expire(id, deps)).toBe(true);
    for (const venue of [SLACK_VENUE, TEAMS_VENUE]) {
      expect(sent.filter((s) => s.replaces === parentKey(id, venue.platform) && s.message.context?.[0]?.includes('without a decision')).length).toBeGreaterThan(0);
      expect(sent.some((s) => s.threadOf === parentKey(id, venue.platform) && s.message.text.includes('Expired at'))).toBe(true);
    }
    expect(audit.filter((e) => e.action === 'request.expired')).toHaveLength(1);
    expect((await decide(id, 'approved', undefined, ctx(IT2_ON_TEAMS), deps, jobs.carrier)).text).toMatch(/already decided: expired at/);
  });

  it('lists pending requests with the link to each in the asker’s venue', async () => {
    const id = await file(ALICE);
    const list: Message = await pendingRequests(ctx(IT2_ON_TEAMS), deps);
    expect(list.text).toBe('1 request waiting for a decision.');
    expect(list.fields?.[0]?.value.endsWith(` · https://chat.example/request:${id}:parent:teams`)).toBe(true);
    const slack = await pendingRequests(ctx(IT1), deps);
    expect(slack.fields?.[0]?.value.endsWith(` · https://chat.example/request:${id}:parent`)).toBe(true);
  });

  it('a restore: asked from the archive, its task posted in every venue, Done there closes it everywhere and empties the archive', async () => {
    await deps.archives.add(ALICE.email, 'alice-data', { terminatedAt: now - 86400_000, productName: 'S3 Private Encrypted Bucket' });
    const asked = await ext.verbs!.restore!({ verb: 'restore', name: 'data' }, ctx(ALICE), deps);
    const id = /Request (\S+) filed/.exec(asked.message!.text)![1]!;
    await decide(id, 'approved', undefined, ctx(IT2_ON_TEAMS), deps, jobs.carrier);
    expect(await carryOut(id, deps)).toBe('task posted');
    for (const venue of [SLACK_VENUE, TEAMS_VENUE]) {
      const task = sent.find((s) => s.key === (venue.platform === 'slack' ? `request:${id}:task` : `request:${id}:task:teams`))!;
      expect(task).toMatchObject({ to: venue, threadOf: parentKey(id, venue.platform) });
      expect(task.message.actions?.[0]).toMatchObject({ id: 'restore-done', value: id });
    }
    const done = await ext.actions!['restore-done']!(id, ctx(IT1), deps);
    expect(done.message?.text).toBe('Marked alice-data as restored; alice has been told.');
    expect(item(`request:${id}:task-done`)).toMatchObject({ to: SLACK_VENUE, replaces: `request:${id}:task` });
    expect(item(`request:${id}:task-done:teams`)).toMatchObject({ to: TEAMS_VENUE, replaces: `request:${id}:task:teams` });
    expect(await deps.archives.get(ALICE.email, 'alice-data')).toBeUndefined();
    expect((await ext.actions!['restore-done']!(id, ctx(IT2_ON_TEAMS), deps)).message?.text).toBe(`Restore request ${id} is already done.`);
  });

  it('a request filed before there were several venues keeps to the one it was posted in', async () => {
    const id = 'legacy-1';
    const request = { ...restore('alice-old'), id, createdAt: now, expiresAt: now + 3600_000 };
    await deps.approvals.file({ ...request, payload: await sealJson(deps.sealer, request.payload) }, { limit: 0, keepMs: 86400_000 });
    await decide(id, 'approved', undefined, ctx(IT1), deps, jobs.carrier);
    expect(sent.filter((s) => s.key.includes(':decided') || s.key.includes(':thread:')).map((s) => [s.key, s.to])).toEqual([
      [`request:${id}:decided`, SLACK_VENUE],
      [`request:${id}:thread:decision`, SLACK_VENUE],
    ]);
  });

  it('a confirmation is used once, by the person who asked, whichever of their handles clicks', async () => {
    const asked = await terminate('box', ctx(ALICE), deps);
    const id = asked.actions!.find((a) => a.id === 'confirm')!.value;
    await expect(decideConfirmation(id, true, ctx(IT1), deps)).rejects.toThrow('Only the person who asked can confirm this');
    const clicks = await Promise.all([decideConfirmation(id, true, ctx(ALICE_ON_TEAMS), deps), decideConfirmation(id, true, ctx(ALICE), deps)]);
    expect(clicks.map((m) => m.text).sort()).toEqual(['Terminating alice-box. I\'ll post progress in your DM.', 'This confirmation was already used.'].sort());
    expect(terminated).toHaveLength(1);
    expect(watched).toHaveLength(1);
    expect((await decideConfirmation(id, true, ctx(ALICE), deps)).text).toBe('This confirmation has expired or was already used. Run the command again.');
  });

  it('a cancelled confirmation changes nothing and cannot be confirmed after', async () => {
    const asked = await terminate('box', ctx(ALICE), deps);
    const id = asked.actions!.find((a) => a.id === 'cancel')!.value;
    expect((await decideConfirmation(id, false, ctx(ALICE), deps)).text).toBe('Cancelled: alice-box is unchanged.');
    expect((await decideConfirmation(id, true, ctx(ALICE), deps)).text).toContain('expired or was already used');
    expect(terminated).toEqual([]);
  });
});
