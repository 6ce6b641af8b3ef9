// Slack's markup at the edge: command text taken as typed, and what people wrote escaped in every message.
import { describe, expect, it } from 'vitest';
import { feedBody } from '../../../jobs/post-feed.js';
import { renderMessage } from '../../../src/adapters/slack/render.js';
import { commandText } from '../../../src/adapters/slack/text.js';

describe('commandText', () => {
  it('undoes the escaping of &, < and > once', () => {
    expect(commandText('launch x Cmd="a &amp;&amp; b &gt; c &lt; d"')).toBe('launch x Cmd="a && b > c < d"');
    expect(commandText('x=&amp;lt;b&amp;gt;')).toBe('x=&lt;b&gt;');
  });

  it('keeps user mentions as <@U…> and gives back the text of emails, links and channels', () => {
    expect(commandText('transfer box <@U012ABCDEF|ross>')).toBe('transfer box <@U012ABCDEF>');
    expect(commandText('offboard <@W0123>')).toBe('offboard <@W0123>');
    expect(commandText('transfer box <mailto:bob@synapse.org|bob@synapse.org>')).toBe('transfer box bob@synapse.org');
    expect(commandText('launch x Url=<https://a.example/p?q=1&amp;r=2>')).toBe('launch x Url=https://a.example/p?q=1&r=2');
    expect(commandText('launch x Site=<http://example.com|example.com>')).toBe('launch x Site=example.com');
    expect(commandText('audit <#C024BE7LR|general> <!here>')).toBe('audit #general @here');
  });

  it('leaves text without markup alone', () => {
    expect(commandText('launch "EC2 Linux" box InstanceType=t3.large')).toBe('launch "EC2 Linux" box InstanceType=t3.large');
  });
});

describe('escaping what people wrote', () => {
  const hostile = '<!channel> <https://evil.example|Approve here> & co';

  it('escapes the notification text as well as the blocks', () => {
    const out = JSON.stringify(renderMessage({ text: hostile, title: hostile, body: [hostile], fields: [{ label: hostile, value: hostile }], context: [hostile] }));
    expect(out).not.toContain('<!channel>');
    expect(out).not.toContain('<https://');
    expect(renderMessage({ text: hostile }).text).toBe('&lt;!channel&gt; &lt;https://evil.example|Approve here&gt; &amp; co');
  });

  it("escapes the Slack admin feed's webhook post", () => {
    const body = feedBody('slack', [{ type: 'launched', summary: `${hostile} launched x`, key: 'k' }]) as { text: string };
    expect(body.text).not.toContain('<!channel>');
    expect(body.text).toContain('&lt;!channel&gt;');
  });
});
