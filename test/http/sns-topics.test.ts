// POST /sns accepts only the topics the alert state says are scicomp's, whichever repository holds it: here the
// in-memory one, so an answer read from Redis directly would be wrong.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryAlertState } from '../../src/adapters/memory/alert-state.js';
import { MemorySnoozes } from '../../src/adapters/memory/snoozes.js';
import { MemoryWiring } from '../../src/adapters/memory/wiring.js';
import { knownTopicsKey } from '../../src/adapters/redis/alert-state.js';
import { systemClock } from '../../src/core/ports.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually, Harness } from '../support/harness.js';
import { alarmMessage, confirmation, notification, sign, verifierForTests } from '../support/sns.js';

const OURS = 'arn:aws:sns:us-east-1:111122223333:scicomp-user-jdoe-synapse-org';
/** In Redis's set of topics, where the Redis repository would keep it, but not in the alert state this app runs on. */
const STRAY = 'arn:aws:sns:us-east-1:111122223333:scicomp-user-stray-synapse-org';
const OWNER = { platform: 'slack' as const, userId: 'UJDOE', email: 'jdoe@synapse.org' };

const snoozes = new MemorySnoozes(systemClock);
const alertState = new MemoryAlertState({ clock: systemClock, snoozes });
let h: Harness;

beforeAll(async () => {
  h = await Harness.start({
    catalog: new SandboxCatalog(),
    extra: { alertState, snoozes, wiring: new MemoryWiring(), snsVerifier: verifierForTests() },
  });
  await alertState.recordTopic(OURS, OWNER);
  await h.app.store.redis.sadd(knownTopicsKey(h.app.store), STRAY);
});

afterAll(async () => {
  await dropPrefix(h.app);
  await h.close();
});

const post = (body: unknown) =>
  fetch(`${h.url}/sns`, { method: 'POST', headers: { 'content-type': 'text/plain; charset=UTF-8' }, body: JSON.stringify(body) });

describe('POST /sns on the in-memory alert state', () => {
  it('accepts a topic the alert state owns, and its alarm reaches the owner', async () => {
    expect((await post(sign(confirmation(OURS)))).status).toBe(200);
    const res = await post(sign(notification(OURS, alarmMessage({ alarmName: 'scicomp-pp-mem1-cpu-high', state: 'ALARM', value: 97.5 }), 'ALARM')));
    expect(res.status).toBe(200);
    const dm = await eventually(() => h.dms(OWNER.userId).find((m) => m.includes('scicomp-pp-mem1-cpu-high')), 'the alarm DM');
    expect(dm).toContain('97.5 against a threshold of 95');
  });

  it('refuses (403) a topic the alert state does not know, whatever Redis holds', async () => {
    for (const arn of [STRAY, 'arn:aws:sns:us-east-1:999988887777:someone-else']) {
      const res = await post(sign(confirmation(arn)));
      expect([res.status, await res.json()]).toEqual([403, { error: 'unknown topic' }]);
    }
  });
});
