// Launches whose ProvisionProduct takes effect and then answers slowly, with the worker killed -9 in that window twice
// (so BullMQ fails the command for good): every product the account holds must reach its owner as "is ready", and the
// person who asked must hear that the command was interrupted. An AWS change nobody hears of is an orphaned mutation.
import { Redis } from 'ioredis';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { RedisSandboxAccount } from '../../src/sandbox/redis-account.js';
import type { SlackApi } from '../../test/support/slack-api.js';
import { baseEnv, command, person, Process, settled, until, type OwnRedis, type Scenario } from '../support.js';

const PEOPLE = 5;
/** How long ProvisionProduct takes to answer once it has made the product: the window each kill lands in. */
const ANSWER_MS = 6000;

async function killedDuringLaunches(redis: OwnRedis, slack: SlackApi) {
  const prefix = 'faults-launch';
  const env = {
    ...baseEnv(redis, slack, prefix),
    SANDBOX_MUTATION_ANSWER_MS: String(ANSWER_MS),
    // Short locks and a frequent reconcile so a dead worker is noticed in about a second, not the default 30 s and 1 min.
    JOB_LOCK_MS: '500',
    MUTATION_RECONCILE_MS: '1000',
  };
  const conn = new Redis(redis.url);
  const account = new SandboxCatalog({ account: new RedisSandboxAccount(conn, prefix) });
  const people = Array.from({ length: PEOPLE }, (_, i) => person('orph', i));
  const names = people.map((p) => `${p.username}-slow`);
  const active = async () => conn.llen(`${prefix}:run-command:active`);
  try {
    const web = await new Process(env).start('web');
    let worker = await new Process(env).start('worker');
    const answers = await Promise.all(people.map((p) => command(web.url, slack, `orph-${p.userId}`, 'launch "EC2 Linux" slow', p.userId)));
    // First kill: every product made, no answer heard.
    await until(async () => (await Promise.all(names.map((n) => account.findProvisionedByName(n)))).every(Boolean), 'every product in the account', 20_000);
    const inCallAtFirstKill = await active();
    await worker.kill();
    // BullMQ hands the stalled commands to the next worker, which asks again with the same tokens (the same products)
    // and is killed in the same window.
    worker = await new Process(env).start('worker');
    await until(async () => (await active()) === PEOPLE, 'the commands taken up again', 15_000);
    await new Promise((r) => setTimeout(r, 1500));
    const inCallAtSecondKill = await active();
    await worker.kill();
    // A healthy worker: the commands have stalled past their limit and fail for good; the journal's reconcile follows.
    worker = await new Process(env).start('worker');
    const told = (i: number) => slack.dms(people[i]!.userId).some((m) => m.includes(`${names[i]} is ready`));
    const interrupted = (p: (typeof people)[number]) => slack.replies(`orph-${p.userId}`).some((r) => r.includes('could not be finished'));
    await settled(() => people.every((p, i) => told(i) && interrupted(p)), 30_000);
    const made = (await account.searchProvisioned()).filter((p) => names.includes(p.name));
    const orphaned = made.filter((p) => !told(names.indexOf(p.name))).length;
    const readyPosts = people.map((p, i) => slack.dms(p.userId).filter((m) => m.includes(`${names[i]} is ready`)).length);
    const delivered = people.filter((_, i) => told(i)).length;
    return {
      figures: {
        sent: PEOPLE,
        acknowledged: answers.filter((a) => a === 'acked').length,
        delivered,
        duplicated: made.length - new Set(made.map((p) => p.name)).size,
        lost: PEOPLE - delivered,
        outOfOrder: 0,
        more: {
          'products made': made.length,
          orphaned,
          'told interrupted': people.filter(interrupted).length,
          'in the call at the kills': `${inCallAtFirstKill}, ${inCallAtSecondKill}`,
          'ready messages': readyPosts.reduce((a, b) => a + b, 0),
        },
      },
      passed: made.length === PEOPLE && orphaned === 0 && delivered === PEOPLE && people.every(interrupted) && inCallAtSecondKill === PEOPLE,
    };
  } finally {
    conn.disconnect();
  }
}

export const mutationScenarios: Scenario[] = [{ name: 'worker kill -9 twice during slow launches', fast: true, run: killedDuringLaunches }];
