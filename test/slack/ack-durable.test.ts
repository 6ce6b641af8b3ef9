// A slash command is answered 200 only once Redis holds it; while Redis does not answer, the ack says it was not taken,
// and a write that lands after that answer does not run.
import { afterEach, describe, expect, it } from 'vitest';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually, Harness } from '../support/harness.js';
import { RedisHop } from '../support/redis-hop.js';

let h: Harness | undefined;
let hop: RedisHop | undefined;

afterEach(async () => {
  hop?.release();
  if (h) {
    await dropPrefix(h.app);
    await h.close();
  }
  await hop?.close();
  h = undefined;
  hop = undefined;
});

async function inboxText(app: Harness['app']): Promise<string> {
  // The entries are sealed: the user id, outside the seal, says whose interaction it is.
  return JSON.stringify(await app.redis.xrange(app.inbox.key, '-', '+'));
}

/** A web process whose Redis is reached through a new hop (`hop`), which lets every byte through for now. */
async function onHop(): Promise<Harness> {
  hop = new RedisHop();
  const url = await hop.start();
  return Harness.start({ catalog: new SandboxCatalog(), workers: false, env: { REDIS_URL: url } });
}

/** `onHop`, answered once while Redis answers (its people and conversations known), then with Redis hung. */
async function heldAfterWarming(): Promise<Harness> {
  const warmed = await onHop();
  expect((await warmed.command('UWARM', 'help')).res.status).toBe(200);
  hop!.hold();
  return warmed;
}

describe('acking a slash command', () => {
  it('answers 200 once Redis holds it; while Redis hangs, says "not taken" in time, and the late write never lands', async () => {
    h = await onHop();
    const ok = await h.command('UFIRST', 'help');
    expect(ok.res.status).toBe(200);
    expect(await ok.res.text()).toBe('');
    expect(await inboxText(h.app)).toContain('UFIRST');

    hop!.hold();
    const t0 = Date.now();
    const refused = await h.command('ULATE', 'help');
    const elapsed = Date.now() - t0;
    expect(refused.res.status).toBe(200);
    const body = (await refused.res.json()) as { response_type: string; text: string };
    expect(body.response_type).toBe('ephemeral');
    expect(body.text).toContain('could not take that just now');
    // Within Slack's 3 s, with room for the trip back.
    expect(elapsed).toBeLessThan(2900);

    // Redis answers again: the held write reaches it now, past its deadline, and is refused there. A command after it,
    // on the same connection, is written after it: once that one is in, the held one has had its turn.
    hop!.release();
    const after = await h.command('UAFTER', 'help');
    expect(after.res.status).toBe(200);
    const inbox = await inboxText(h.app);
    expect(inbox).toContain('UAFTER');
    expect(inbox).not.toContain('ULATE');
  }, 15_000);

  it('a click that must read Redis before its ack (a Deny opens its form) is acked in time, and told nothing was done', async () => {
    h = await heldAfterWarming();
    const t0 = Date.now();
    const { res, responseId } = await h.click('UIT', 'deny', 'req-held');
    expect(res.status).toBe(200);
    // Within Slack's 3 s, with room for the trip back.
    expect(Date.now() - t0).toBeLessThan(2900);
    await eventually(() => h!.replies(responseId).some((r) => r.includes('could not take that just now')), 'told nothing was done');
  }, 15_000);

  it('`launch` alone opens its form at once, and is acked only once Redis holds the job that fills it in', async () => {
    h = await heldAfterWarming();
    const t0 = Date.now();
    const { res } = await h.command('UFORM', 'launch');
    expect(Date.now() - t0).toBeLessThan(2900);
    expect(((await res.json()) as { text: string }).text).toContain('could not take that just now');
    // The form it opened says so too, instead of loading for ever.
    expect(h.slack.of('views.open')).toHaveLength(1);
    await eventually(() => h!.slack.of('views.update').some((c) => JSON.stringify(c.body).includes('could not take that just now')), 'the form saying nothing was done');
  }, 15_000);

  it('a product picked in the launch form is acked in time while Redis hangs, and the form says nothing was done', async () => {
    h = await heldAfterWarming();
    const view = { id: 'VPICK', hash: 'h1', callback_id: 'scicomp:launch', private_metadata: '{}', state: { values: { product: { product: { type: 'static_select', selected_option: { value: 'EC2 Linux' } } } } }, type: 'modal' };
    const picked = { type: 'static_select', action_id: 'product', block_id: 'product', selected_option: { text: { type: 'plain_text', text: 'EC2 Linux' }, value: 'EC2 Linux' }, action_ts: `${Date.now() / 1000}` };
    const t0 = Date.now();
    const res = await h.interaction({ type: 'block_actions', user: { id: 'UPICK', username: 'upick', team_id: 'T0001' }, view, team: { id: 'T0001' }, api_app_id: 'A1', token: 't', trigger_id: '1.2.3', container: { type: 'view', view_id: 'VPICK' }, actions: [picked] });
    expect(res.status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(2900);
    await eventually(() => h!.slack.of('views.update').some((c) => c.body.view_id === 'VPICK' && JSON.stringify(c.body).includes('could not take that just now')), 'the form saying nothing was done');
  }, 15_000);

  it('says "not taken" when Redis cannot be reached at all', async () => {
    h = undefined;
    const away = await Harness.start({ catalog: new SandboxCatalog(), workers: false, env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    try {
      const { res } = await away.command('UAWAY', 'help');
      expect(res.status).toBe(200);
      expect(((await res.json()) as { text: string }).text).toContain('nothing was done');
    } finally {
      away.app.close().catch(() => {});
    }
  }, 15_000);
});
