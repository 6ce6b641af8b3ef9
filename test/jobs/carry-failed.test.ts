// An approved request whose carrying out fails for good: IT, in the request's thread, and the requester hear why, and
// that part of it may be done; the admin feed hears too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserInputError } from '../../src/core/errors.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually, Harness } from '../support/harness.js';
import { APPROVALS_CHANNEL, testPolicy } from '../support/policy.js';

/** The sandbox, except that Service Catalog refuses to change a product's owner, as it does when the role may not. */
class NoOwnerChanges extends SandboxCatalog {
  override async setOwner(): Promise<{ recordId: string }> {
    throw new UserInputError('User is not authorized to perform servicecatalog:UpdateProvisionedProductProperties');
  }
}

let h: Harness;

beforeAll(async () => {
  h = await Harness.start({ catalog: new NoOwnerChanges({ provisionMs: 100 }), policy: testPolicy() });
});

afterAll(async () => {
  await dropPrefix(h.app);
  await h.close();
});

const thread = () => h.slack.calls.filter((c) => c.method === 'chat.postMessage' && c.body.channel === APPROVALS_CHANNEL && c.body.thread_ts).map((c) => JSON.stringify(c.body));

describe('an approved transfer that AWS refuses', () => {
  it('is reported in its thread and to the requester, with the reason', async () => {
    const launch = await h.command('UALICE', 'launch "EC2 Linux" box');
    expect(launch.res.status).toBe(200);
    await eventually(() => h.dms('UALICE').find((m) => m.includes('ualice-box is ready')), 'box ready');
    const asked = await h.command('UALICE', 'transfer ualice-box <@UBOB|bob>');
    const id = /Request ([A-Za-z0-9_-]+) filed/.exec(await eventually(() => h.replies(asked.responseId).join('\n'), 'the request filed'))![1]!;
    await h.click('UIT1', 'approve', id);
    const said = await eventually(() => thread().find((m) => m.includes('could not be finished')), 'the thread told');
    expect(said).toContain('not authorized to perform servicecatalog:UpdateProvisionedProductProperties');
    await eventually(() => h.dms('UALICE').find((m) => m.includes('could not be finished') && m.includes('not authorized')), 'the requester told');
    const audit = await eventually(async () => (await h.app.audit.recent(200)).find((e) => e.action === 'request.failed' && e.target === id), 'audited');
    expect(audit.outcome).toContain('not authorized');
  }, 30_000);
});
