// Sandbox mode with two web and two worker processes on one prefix, across a kill -9 of all four: the sandbox account
// lives in Redis, so the restarted processes know every product, finish launches the kill cut short (once each, by their
// ProvisionToken), terminate through either web, and deliver a published idle alarm to its owner once.
import { Redis } from 'ioredis';
import { RedisSandboxAccount } from '../../src/sandbox/redis-account.js';
import { SIGNING_SECRET } from '../../test/support/harness.js';
import { buttonClick, interactionBody, sign } from '../../test/support/signed.js';
import type { SlackApi } from '../../test/support/slack-api.js';
import { baseEnv, command, launchFor, person, Process, settled, type Answer, type Figures, type OwnRedis, type Scenario } from '../support.js';

const PREFIX = 'faults-replicas';

/** The instance id a ready DM names for `product`, if it was told. */
function readyInstance(slack: SlackApi, userId: string, product: string): string | undefined {
  const ready = slack.dms(userId).find((m) => m.includes(`${product} is ready`));
  return ready ? /(i-[0-9a-f]{17})/.exec(ready)?.[1] : undefined;
}

/** The value of the Confirm button anywhere in a reply's blocks. */
function confirmValue(node: unknown): string | undefined {
  if (Array.isArray(node)) return node.map(confirmValue).find((v) => v !== undefined);
  if (typeof node !== 'object' || node === null) return undefined;
  const o = node as Record<string, unknown>;
  if (o.action_id === 'scicomp:confirm' && typeof o.value === 'string') return o.value;
  return Object.values(o).map(confirmValue).find((v) => v !== undefined);
}

/** Distinct messages in a DM that say `what` (a post and its later updates count once: each has its own ts). */
function told(slack: SlackApi, userId: string, what: string): number {
  const posts = slack.calls.filter((c) => c.method === 'chat.postMessage' && c.body.channel === `D${userId}` && JSON.stringify(c.body).includes(what)).length;
  const updatedTs = new Set(slack.calls.filter((c) => c.method === 'chat.update' && c.body.channel === `D${userId}` && JSON.stringify(c.body).includes(what)).map((c) => String(c.body.ts)));
  const postedTs = new Set(slack.calls.filter((c) => c.method === 'chat.postMessage' && c.body.channel === `D${userId}` && JSON.stringify(c.body).includes(what)).map((c) => String(c.response?.ts)));
  return posts + [...updatedTs].filter((ts) => !postedTs.has(ts)).length;
}

async function replicasAcrossRestart(redis: OwnRedis, slack: SlackApi) {
  // Shortened so the restarted workers take over within seconds what the killed ones held: a job lock (and the stalled
  // check) of 1 s, an outbox lease of 1.5 s, mutations reconciled every 2 s. Production keeps 30 s, 120 s and 60 s.
  const env = { ...baseEnv(redis, slack, PREFIX), SANDBOX_PROVISION_MS: '1500', JOB_LOCK_MS: '1000', OUTBOX_LEASE_MS: '1500', MUTATION_RECONCILE_MS: '2000' };
  const startAll = () => Promise.all([new Process(env).start('web'), new Process(env).start('web'), new Process(env).start('worker'), new Process(env).start('worker')]);
  const results = new Map<string, Answer>();
  const send = async (url: string, id: string, text: string, userId: string) => {
    const answer = await command(url, slack, id, text, userId);
    results.set(id, answer);
    return answer;
  };

  // Six products for six people, their launches alternating between the two webs.
  const [webA, webB, ...workers] = await startAll();
  const webs = [webA!, webB!];
  const people = Array.from({ length: 8 }, (_, i) => person('rep', i));
  const settledPeople = people.slice(0, 6);
  const products = await launchFor(webs.map((w) => w.url), slack, settledPeople, 'rep', 40_000);
  for (const p of settledPeople) results.set(`launch-${p.userId}-rep`, 'acked');

  // Two more launches, and all four processes killed once the sandbox holds their products but before they are ready:
  // the launches are cut short after ProvisionProduct, and whatever carries them on must not provision them again.
  const late = people.slice(6);
  const lateProducts = late.map((p) => `${p.username}-late`);
  const connection = new Redis(redis.url);
  const account = new RedisSandboxAccount(connection, PREFIX);
  await Promise.all(late.map((p, i) => send(webs[i % 2]!.url, `launch-${p.userId}-late`, 'launch "EC2 Linux" late', p.userId)));
  await settled(async () => (await account.products()).filter((sp) => lateProducts.includes(sp.name)).length === late.length, 10_000);
  const inFlight = late.filter((p, i) => !readyInstance(slack, p.userId, lateProducts[i]!)).length;
  await Promise.all([...webs, ...workers].map((p) => p!.kill()));
  const provisionedAtKill = (await account.products()).filter((sp) => lateProducts.includes(sp.name)).length;

  // Started afresh (the webs on new ports): they know what the killed ones left in Redis.
  const [webC, webD] = await startAll();
  const again = [webC!, webD!];
  await settled(() => late.every((p, i) => readyInstance(slack, p.userId, lateProducts[i]!)), 30_000);
  const all = [...settledPeople.map((p, i) => ({ p, product: products[i]! })), ...late.map((p, i) => ({ p, product: lateProducts[i]! }))];

  // `status` of every product through alternating webs names the product, as AVAILABLE, with the instance it was ready on.
  await Promise.all(all.map(({ p, product }, i) => send(again[i % 2]!.url, `status-${product}`, `status ${product}`, p.userId)));
  await settled(() => all.every(({ product }) => slack.replies(`status-${product}`).length > 0), 15_000);
  const known = all.filter(({ p, product }) => {
    const instance = readyInstance(slack, p.userId, product);
    const answer = slack.replies(`status-${product}`).join('\n');
    return instance !== undefined && answer.includes(`${product}: AVAILABLE`) && answer.includes(instance);
  }).length;

  // The first product terminated through one web, confirmed through the other; its owner hears it terminated.
  const doomed = all[0]!;
  await send(webD!.url, 'terminate', `terminate ${doomed.product}`, doomed.p.userId);
  await settled(() => slack.replies('terminate').length > 0, 15_000);
  const ask = slack.replies('terminate')[0];
  const confirmation = ask && confirmValue(JSON.parse(ask));
  let terminated = false;
  if (confirmation) {
    const click = interactionBody(buttonClick({ userId: doomed.p.userId, actionId: 'scicomp:confirm', value: confirmation, responseUrl: slack.responseUrl('terminate-confirm') }));
    const res = await fetch(`${webC!.url}/slack/events`, { method: 'POST', body: click, headers: sign(SIGNING_SECRET, click) }).then((r) => r.status, () => 0);
    results.set('terminate-confirm', res === 200 ? 'acked' : 'failed');
    terminated = await settled(() => told(slack, doomed.p.userId, `${doomed.product} is terminated`) > 0, 20_000);
  }

  // An idle alarm published to the second product's topic reaches its owner once.
  const idle = all[1]!;
  const published = await fetch(`${webC!.url}/sandbox/publish`, {
    method: 'POST',
    body: JSON.stringify({ kind: 'alarm', product: idle.product, email: idle.p.email, alarm: 'cpu-idle' }),
  }).then((r) => r.status, () => 0);
  const pinged = await settled(() => told(slack, idle.p.userId, `${idle.product}: is idle`) > 0, 20_000);
  // Room for a second delivery of the same alarm to show.
  if (pinged) await new Promise((r) => setTimeout(r, 1500));
  const pings = told(slack, idle.p.userId, `${idle.product}: is idle`);

  // Every acked command answered (launches by their ready DM), and nothing in the sandbox twice.
  await settled(() => [...results].every(([id, a]) => a !== 'acked' || id.startsWith('launch-') || slack.replies(id).length > 0), 10_000);
  const sandboxProducts = await account.products();
  await connection.quit();
  await Promise.all(again.map((p) => p.stop()));

  const byName = new Map<string, number>();
  for (const sp of sandboxProducts) byName.set(sp.name, (byName.get(sp.name) ?? 0) + 1);
  // A name is held by one product at a time, so a second ProvisionProduct for it would be refused, not doubled: its
  // owner would be told the name is taken. Either counts as provisioned twice.
  const refusedAsTaken = late.filter((p) => [...slack.dms(p.userId), ...slack.replies(`launch-${p.userId}-late`)].some((m) => m.includes('already'))).length;
  const twice = [...byName.values()].filter((n) => n > 1).length + refusedAsTaken;
  const launchIds = new Map(all.map(({ p, product }, i) => [i < 6 ? `launch-${p.userId}-rep` : `launch-${p.userId}-late`, { p, product }]));
  const acked = [...results].filter(([, a]) => a === 'acked').map(([id]) => id);
  const answeredIds = acked.filter((id) => {
    const launch = launchIds.get(id);
    return launch ? readyInstance(slack, launch.p.userId, launch.product) !== undefined : slack.replies(id).length > 0;
  });
  const readyTwice = all.filter(({ p, product }) => told(slack, p.userId, `${product} is ready`) > 1).length;
  const figures: Figures = {
    sent: results.size,
    acknowledged: acked.length,
    delivered: answeredIds.length,
    duplicated: twice + readyTwice + Math.max(0, pings - 1),
    lost: acked.length - answeredIds.length + (all.length - known),
    outOfOrder: 0,
    more: {
      'launches in flight at kill': inFlight,
      'of them provisioned at kill': provisionedAtKill,
      'products known after restart': `${known}/${all.length}`,
      'sandbox products': sandboxProducts.length,
      'provisioned twice': twice,
      terminated: terminated ? 'yes' : 'no',
      'publish status': published,
      'idle pings': pings,
    },
  };
  const passed = figures.lost === 0 && figures.duplicated === 0 && inFlight > 0 && provisionedAtKill > 0 && terminated && pings === 1 && known === all.length && sandboxProducts.length === all.length;
  return { figures, passed };
}

export const replicaScenarios: Scenario[] = [{ name: 'two web and two worker processes, sandbox mode, across a restart', fast: true, run: replicasAcrossRestart }];
