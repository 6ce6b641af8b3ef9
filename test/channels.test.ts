// The core through a channel other than Slack: what a person is told names commands as their own channel does, and the
// outbox paces each channel at its own interval.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRequestId } from '../src/core/ids.js';
import type { Interaction } from '../src/core/interaction.js';
import type { Message } from '../src/core/message.js';
import { SandboxCatalog } from '../src/sandbox/catalog.js';
import { dropPrefix, eventually, Harness } from './support/harness.js';
import { RecordingChannel } from './support/recording-channel.js';

let h: Harness;
/** Slower than Slack's pace in the harness (20 ms), so the outbox is seen to ask the channel. */
const TEAMS_INTERVAL_MS = 300;
const teams = new RecordingChannel('teams', (words) => words, TEAMS_INTERVAL_MS);

beforeAll(async () => {
  h = await Harness.start({ catalog: new SandboxCatalog({ provisionMs: 100 }), extra: { channels: [teams] } });
});

afterAll(async () => {
  await dropPrefix(h.app);
  await h.close();
});

const text = (m: Message) => JSON.stringify(m);

/** What a person on the recording channel did, queued as its door would; resolves with what they were told back. */
async function act(userId: string, interaction: Interaction): Promise<string> {
  const requestId = newRequestId();
  await h.app.inbox.push({ requestId, platform: 'teams', userId, reply: { platform: 'teams', kind: 'reply', ref: userId }, interaction });
  const before = teams.chat.said(userId).length;
  return eventually(() => teams.chat.said(userId).slice(before).map(text).join('\n'), `the answer to ${JSON.stringify(interaction)}`);
}

describe('a channel that names commands by their words alone', () => {
  it('is told help, usage and hints in its own words, never Slack’s slash command', async () => {
    const help = await act('ALEX', { type: 'command', text: 'help' });
    expect(help).toContain('"label":"launch [product] [name] [key=value …]"');
    expect(help).toContain('"code":["launch","launch \\"S3 Private Encrypted Bucket\\" data","list"]');
    const usage = await act('ALEX', { type: 'command', text: 'status' });
    expect(usage).toContain('Usage: status <name>');
    const missing = await act('ALEX', { type: 'command', text: 'status nothing-here' });
    expect(missing).toContain('You have no product called \\"nothing-here\\". See list.');
    for (const said of [help, usage, missing]) expect(said).not.toContain('/scicomp');
  });

  it('while Slack, beside it, still says /scicomp', async () => {
    const { responseId } = await h.command('USLACKER', 'status');
    expect(await eventually(() => h.replies(responseId).join('\n'), 'the Slack answer')).toContain('Usage: /scicomp status &lt;name&gt;');
  });
});

describe('pacing', () => {
  it('holds a conversation to its own channel’s interval, not Slack’s', async () => {
    const to = { platform: 'teams' as const, kind: 'user' as const, userId: 'PACED' };
    await Promise.all(['one', 'two'].map((n) => h.app.queues.outbox.send({ key: `paced:${n}`, to, message: { text: n } })));
    const posts = await eventually(() => {
      const p = teams.chat.posts.filter((x) => x.to.kind === 'user' && x.to.userId === 'PACED');
      return p.length === 2 ? p : undefined;
    }, 'both messages posted');
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(TEAMS_INTERVAL_MS - 5);
  });
});
