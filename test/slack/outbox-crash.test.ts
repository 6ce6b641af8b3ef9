// A worker that dies after Slack took an alert but before it wrote that down: the replica that takes the job over finds
// the alert in the DM's history (by the outbox id in its metadata) and does not post it again.
import { afterEach, describe, expect, it } from 'vitest';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually, Harness } from '../support/harness.js';
import { SlackApi } from '../support/slack-api.js';
import { notification, sign, verifierForTests } from '../support/sns.js';

const ALICE = 'UALICE';
const TOPIC = 'arn:aws:sns:us-east-1:111122223333:scicomp-user-ualice-synapse-org';
const harnesses: Harness[] = [];
let slack: SlackApi | undefined;

afterEach(async () => {
  if (harnesses.at(-1)) await dropPrefix(harnesses.at(-1)!.app);
  for (const h of harnesses.splice(0)) await h.close();
  await slack?.close();
  slack = undefined;
});

/** A worker on a shared prefix and Slack: a lease of 1.5 s (not 2 min), and a shutdown that hands jobs back at once. */
async function worker(prefix: string): Promise<Harness> {
  const h = await Harness.start({
    catalog: new SandboxCatalog({ provisionMs: 100 }),
    slack,
    prefix,
    env: { OUTBOX_LEASE_MS: '1500', SHUTDOWN_TIMEOUT_MS: '200', CHANNEL_INTERVAL_MS: '50' },
    extra: { snsVerifier: verifierForTests() },
  });
  harnesses.push(h);
  return h;
}

async function notify(h: Harness, text: string): Promise<void> {
  const res = await fetch(`${h.url}/sns`, { method: 'POST', headers: { 'content-type': 'text/plain; charset=UTF-8' }, body: JSON.stringify(sign(notification(TOPIC, text))) });
  expect(res.status).toBe(200);
}

const postsWith = (text: string) => slack!.of('chat.postMessage').filter((c) => c.body.channel === `D${ALICE}` && JSON.stringify(c.body).includes(text));

describe('a worker killed between posting an alert and recording it', () => {
  it('the worker that takes the job over finds the alert in Slack and does not post it again', async () => {
    slack = await new SlackApi().start();
    const prefix = `crash${Math.random().toString(36).slice(2, 10)}`;
    const doomed = await worker(prefix);
    await doomed.app.deps.alertState.recordTopic(TOPIC, { platform: 'slack', userId: ALICE, email: 'ualice@synapse.org' });
    // Its Slack calls reach Slack; the first post never comes back: the process is dead from that moment on.
    const chat = doomed.app.channels.chat('slack')!;
    const post = chat.post.bind(chat);
    chat.post = async (...args: Parameters<typeof post>) => {
      await post(...args);
      return new Promise(() => {});
    };
    await notify(doomed, 'Disk almost full on the shared scratch volume');
    await eventually(() => postsWith('Disk almost full').length === 1, 'the alert in Slack');
    // Its jobs go back to the queue, as a dead worker's do when their locks expire.
    await doomed.close();

    const survivor = await worker(prefix);
    await eventually(async () => ((await survivor.app.queues.sns.getJobCounts('completed')).completed ?? 0) > 0, 'the job taken over and finished', 15_000);
    expect(postsWith('Disk almost full')).toHaveLength(1);
    expect(slack.of('conversations.history')[0]?.body).toMatchObject({ channel: `D${ALICE}`, include_all_metadata: 'true' });

    // The DM is not held up: the next alert goes out, once.
    await notify(survivor, 'Second notice for the scratch volume');
    await eventually(() => postsWith('Second notice').length === 1, 'the next alert');
    expect(postsWith('Disk almost full')).toHaveLength(1);
  });
});
