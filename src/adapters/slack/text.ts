// What a person typed after /scicomp, out of Slack's markup: its escaping of &, <, > undone once, mentions kept as <@U…>.

const ENTITY: Record<string, string> = { amp: '&', lt: '<', gt: '>' };

/** One pass, so `&amp;lt;` (a typed `&lt;`) comes back as `&lt;`, never as `<`. */
export function unescapeSlack(text: string): string {
  return text.replace(/&(amp|lt|gt);/g, (_, name: string) => ENTITY[name]!);
}

/** One `<…>` of Slack's markup as text: a user mention stays a mention (the channel resolves it), the rest is what was typed. */
function markup(inner: string): string {
  const bar = inner.indexOf('|');
  const target = bar < 0 ? inner : inner.slice(0, bar);
  const label = bar < 0 ? undefined : inner.slice(bar + 1);
  const user = /^@([UW][A-Z0-9]+)$/.exec(target);
  if (user) return `<@${user[1]}>`;
  if (target.startsWith('#')) return label !== undefined ? `#${unescapeSlack(label)}` : target;
  // <!here>, <!subteam^S…|@group>, <!date^…|fallback>: the words a person sees.
  if (target.startsWith('!')) return unescapeSlack(label ?? `@${target.slice(1)}`);
  if (target.startsWith('mailto:')) return unescapeSlack(target.slice('mailto:'.length));
  // A link: Slack puts what was typed in the label (`example.com`), or sends the typed URL alone.
  return unescapeSlack(label ?? target);
}

/**
 * Slash-command text as typed. Slack escapes every `&`, `<` and `>` a person types, so a raw `<…>` is always Slack's own
 * markup: mentions are taken out of it first, then the escaping is undone once.
 */
export function commandText(raw: string): string {
  return raw.replace(/<([^<>]*)>|[^<]+|</g, (part, inner: string | undefined) => (inner !== undefined ? markup(inner) : unescapeSlack(part)));
}
