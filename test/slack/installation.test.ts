// Requests from another Slack workspace or app, though signed, are acked with nothing queued and audited.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually, Harness } from '../support/harness.js';
import { buttonClick } from '../support/signed.js';

let h: Harness;

beforeAll(async () => {
  h = await Harness.start({ catalog: new SandboxCatalog({ provisionMs: 100 }), env: { SLACK_TEAM_ID: 'T0001', SLACK_APP_ID: 'A123456' } });
});

afterAll(async () => {
  await dropPrefix(h.app);
  await h.close();
});

const refusal = (user: string) =>
  eventually(async () => (await h.app.audit.recent(1000)).find((e) => e.action === 'slack.foreign-request' && e.actor === `slack:${user}`), `refusal of ${user} audited`);

describe('the installation a request is for', () => {
  it('refuses a command from another workspace: acked, nothing queued, audited', async () => {
    const { res, responseId } = await h.command('UFOREIGN1', 'list', undefined, { teamId: 'T0BAD' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect((await refusal('UFOREIGN1')).outcome).toBe('refused: team T0BAD is not T0001');
    // A request of this installation, sent after, is answered; the foreign one never was.
    const ok = await h.command('UHOME', 'list');
    await eventually(() => h.replies(ok.responseId).length > 0, 'home reply');
    expect(h.replies(responseId)).toEqual([]);
    expect(h.slack.of('users.info').some((c) => c.body.user === 'UFOREIGN1')).toBe(false);
  });

  it('refuses a command and a click from another app', async () => {
    const { res, responseId } = await h.command('UFOREIGN2', 'list', undefined, { appId: 'A999' });
    expect(res.status).toBe(200);
    expect((await refusal('UFOREIGN2')).outcome).toBe('refused: app A999 is not A123456');
    const click = await h.interaction(buttonClick({ userId: 'UFOREIGN3', actionId: 'scicomp:confirm', value: 'x', responseUrl: h.slack.responseUrl('foreign-click'), appId: 'A999' }));
    expect(click.status).toBe(200);
    await refusal('UFOREIGN3');
    const ok = await h.command('UHOME', 'list');
    await eventually(() => h.replies(ok.responseId).length > 0, 'home reply');
    expect(h.replies(responseId)).toEqual([]);
    expect(h.replies('foreign-click')).toEqual([]);
  });

  it('checks the ids it is given', () => {
    expect(() => loadConfig({ SLACK_TEAM_ID: 'not-a-team' })).toThrow(/SLACK_TEAM_ID: a Slack team id/);
    expect(() => loadConfig({ SLACK_APP_ID: 'T0001' })).toThrow(/SLACK_APP_ID: a Slack app id/);
    expect(loadConfig({ SLACK_TEAM_ID: 'T0001', SLACK_APP_ID: 'A123456' })).toMatchObject({ SLACK_TEAM_ID: 'T0001', SLACK_APP_ID: 'A123456' });
  });
});
