// A form the core answers a queued click with (the deny reason, when the click could not be checked at once) opens on
// the click's own Slack trigger, or, once that trigger has expired, comes back as the button that opens it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually, Harness } from '../support/harness.js';
import { APPROVALS_CHANNEL, testPolicy } from '../support/policy.js';
import { buttonClick } from '../support/signed.js';

const ALICE = 'UALICE';
const IT1 = 'UIT1';
const GROUP = 'SITAPPROVERS';

let h: Harness;

beforeAll(async () => {
  h = await Harness.start({ catalog: new SandboxCatalog({ provisionMs: 200 }), policy: testPolicy(72, { userGroup: GROUP }) });
  h.slack.groups[GROUP] = [IT1];
});

afterAll(async () => {
  await dropPrefix(h.app);
  await h.close();
});

/** A launch that needs IT: its request id, once the parent with its buttons is in the approvals channel. */
async function fileRequest(name: string): Promise<string> {
  const { responseId } = await h.command(ALICE, `launch "EC2 Linux" ${name} InstanceType=c5.2xlarge`);
  const text = await eventually(() => h.replies(responseId).join('\n'), 'the request filed');
  const id = /Request ([A-Za-z0-9_-]+) filed/.exec(text)![1]!;
  await eventually(() => h.slack.of('chat.postMessage').find((c) => c.body.channel === APPROVALS_CHANNEL && JSON.stringify(c.body).includes(`"value":"${id}"`)), 'the parent message');
  return id;
}

/** IT1 clicks Deny while Slack cannot say who the approvers are: the web process cannot check the click, so it is queued. */
async function uncheckedDeny(id: string, responseId: string): Promise<string> {
  // Membership as Slack says it now, not as an earlier test's click left it cached.
  await h.app.store.del(h.app.store.key('slack', 'group', GROUP));
  h.slack.failNext('usergroups.users.list', { status: 500, error: 'internal_error' });
  const click = buttonClick({ userId: IT1, actionId: 'scicomp:deny', value: id, responseUrl: h.slack.responseUrl(responseId) }) as { trigger_id: string };
  expect((await h.interaction(click)).status).toBe(200);
  return click.trigger_id;
}

describe('a form answering a queued click', () => {
  it('opens on the trigger of the click itself, not on a made-up one', async () => {
    const id = await fileRequest('formed');
    const opened = h.slack.of('views.open').length;
    const trigger = await uncheckedDeny(id, 'deny-queued');
    const modal = await eventually(() => h.slack.of('views.open').slice(opened)[0], 'the deny modal');
    expect(modal.body.trigger_id).toBe(trigger);
    expect(JSON.stringify(modal.body.view)).toContain('scicomp:deny');
    expect((modal.body.view as { private_metadata: string }).private_metadata).toBe(id);
  });

  it('once the trigger has expired, offers the button again privately; its fresh click opens the form', async () => {
    const id = await fileRequest('expired');
    h.slack.failNext('views.open', { status: 200, error: 'expired_trigger_id' });
    await uncheckedDeny(id, 'deny-late');
    const offer = await eventually(() => h.replies('deny-late').find((r) => r.includes('scicomp:deny')), 'the button offered again');
    expect(offer).toContain(`"value":"${id}"`);
    // Seen by the clicker alone, leaving the approvals parent (the message clicked) as it was.
    expect(offer).toContain('"replace_original":false');
    expect(offer).toContain('"response_type":"ephemeral"');
    const opened = h.slack.of('views.open').length;
    const again = buttonClick({ userId: IT1, actionId: 'scicomp:deny', value: id, responseUrl: h.slack.responseUrl('deny-again') }) as { trigger_id: string };
    expect((await h.interaction(again)).status).toBe(200);
    const modal = await eventually(() => h.slack.of('views.open').slice(opened)[0], 'the deny modal on the fresh click');
    expect(modal.body.trigger_id).toBe(again.trigger_id);
  });
});
