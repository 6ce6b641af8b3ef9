// A Teams message is answered 200 only once Redis holds it; while Redis does not answer, the person is told in their chat
// that nothing was done, and a write that lands after that does not run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix } from '../support/harness.js';
import { RedisHop } from '../support/redis-hop.js';
import type { TeamsPerson } from '../support/teams/activities.js';
import { TeamsScicomp } from '../support/teams/scicomp.js';

let t: TeamsScicomp;
let hop: RedisHop;
let alice: TeamsPerson;

beforeAll(async () => {
  hop = new RedisHop();
  t = await TeamsScicomp.start({ catalog: new SandboxCatalog(), env: { REDIS_URL: await hop.start() } });
  alice = t.person('Alice Durable');
});

afterAll(async () => {
  hop.release();
  await dropPrefix(t.h.app);
  await t.close();
  await hop.close();
});

describe('answering a Teams message', () => {
  it('answers 200 once Redis holds it; while Redis hangs, answers in time and tells the person nothing was done, and the late write never runs', async () => {
    // Her conversation is learned (and written) now, so the held message needs nothing of Redis but its own write.
    await t.say(alice, 'help');
    await t.inChat(alice, 'scicomp commands');

    hop.hold();
    const t0 = Date.now();
    await t.say(alice, 'budget');
    // Answered once the ack's wait ran out, well inside what Teams allows.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2400);

    // Redis answers again: the person hears nothing was done (sent through the paced outbox, so only now); the held
    // write reaches Redis past its deadline and is refused there, so a message after it is the only one that runs.
    hop.release();
    await t.inChat(alice, 'could not take that just now');
    await t.say(alice, 'list');
    await t.inChat(alice, 'You have no provisioned products');
    expect(t.cards(t.chatOf(alice)).some((c) => c.text.includes('You have no budget yet'))).toBe(false);
  }, 30_000);

  it('a click that must read Redis before it is queued (a Deny opens its form) is answered in time, saying nothing was done', async () => {
    await t.say(alice, 'help');
    const card = await t.inChat(alice, 'scicomp commands');
    hop.hold();
    try {
      const t0 = Date.now();
      const { res, body } = await t.click(alice, card, 'deny', { value: 'req-held' });
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(res.status).toBe(200);
      expect(JSON.stringify(body)).toContain('could not take that just now');
    } finally {
      hop.release();
    }
  }, 30_000);
});
