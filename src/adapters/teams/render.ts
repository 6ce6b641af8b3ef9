// Draws the core's neutral messages and forms as Adaptive Cards for Teams, and reads their Action.Execute invokes back. Layout only.
import type { Action, Form, FormInput, Message, Tone } from '../../core/message.js';
import {
  ADAPTIVE_CARD_CONTENT_TYPE,
  ADAPTIVE_CARD_SCHEMA,
  ADAPTIVE_CARD_VERSION,
  type AdaptiveCard,
  type CardAttachment,
  type CardElement,
  type ChoiceSetInput,
  type ExecuteAction,
  type InputElement,
  type TextBlock,
  type TextColor,
  type TextRun,
} from './card-types.js';

/** A form's submit button: `form-submit:<form id>`, its state in `data.state`. */
export const FORM_SUBMIT_VERB = 'form-submit:';
/** Cards have no on-change: a select that re-draws its form gets this button beside it. */
export const FORM_CHANGE_VERB = 'form-change:';
/** Input ids carry a prefix, so no input key can shadow the `state` or `value` a button carries in the same data. */
export const INPUT_ID_PREFIX = 'input:';
/** Teams' people picker: the chosen person's Entra (AAD) object id comes back as the value. */
export const PEOPLE_DATASET = 'graph.microsoft.com/users';
/** Longer selects become a type-ahead list. */
const FILTERED_CHOICES_MIN = 10;

const TONE: Record<Tone, { color: TextColor; icon: string }> = {
  info: { color: 'Default', icon: '' },
  success: { color: 'Good', icon: '✅ ' },
  warning: { color: 'Warning', icon: '⚠️ ' },
  error: { color: 'Attention', icon: '❌ ' },
};

/**
 * Escapes text for a TextBlock or Fact, which Teams reads as Markdown: a user's `[x](https://evil)`, `<at>`,
 * `**`, `{{DATE(…)}}` or leading `1.` shows as typed instead of becoming a link, mention, emphasis, date or list.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/[\\`*_~[\](){}<>&|]/g, '\\$&')
    .replace(/^([ \t]*)([#+=-])/gm, '$1\\$2')
    .replace(/^([ \t]*\d+)([.)])/gm, '$1\\$2');
}

/** Escaped, with line breaks kept: a TextBlock needs a blank line to break one. */
function markdown(text: string): string {
  return escapeMarkdown(text).replace(/\n/g, '\n\n');
}

function textBlock(text: string, extra: Omit<TextBlock, 'type' | 'text'> = {}): TextBlock {
  return { type: 'TextBlock', text: markdown(text), wrap: true, ...extra };
}

/** Text in the tone's colour, after its icon. */
function toned(text: string, tone: Tone | undefined, extra: Omit<TextBlock, 'type' | 'text'> = {}): TextBlock {
  const t = TONE[tone ?? 'info'];
  return { type: 'TextBlock', text: `${t.icon}${markdown(text)}`, wrap: true, ...(tone && tone !== 'info' ? { color: t.color } : {}), ...extra };
}

function heading(text: string, tone: Tone | undefined): TextBlock {
  return toned(text, tone, { style: 'heading', size: 'Medium', weight: 'Bolder' });
}

/** A paragraph; its `code` spans are monospace runs, and runs are never read as Markdown, so they need no escaping. */
function paragraph(text: string): CardElement {
  if (!/`[^`\n]+`/.test(text)) return textBlock(text);
  const inlines: TextRun[] = text
    .split(/(`[^`\n]+`)/)
    .filter((part) => part !== '')
    .map((part) => (/^`[^`\n]+`$/.test(part) ? { type: 'TextRun', text: part.slice(1, -1), fontType: 'Monospace' } : { type: 'TextRun', text: part }));
  return { type: 'RichTextBlock', inlines };
}

/** One monospace block per line, on a shaded background: lines stay lines and copy cleanly. */
function codeBlock(code: string): CardElement {
  return {
    type: 'Container',
    style: 'emphasis',
    // A blank line keeps its place; a TextBlock may not be empty.
    items: code.split('\n').map((line, n) => textBlock(line || ' ', { fontType: 'Monospace', spacing: n === 0 ? 'Default' : 'None' })),
  };
}

function execute(a: Action): ExecuteAction {
  const style = a.style === 'primary' ? 'positive' : a.style === 'danger' ? 'destructive' : undefined;
  return { type: 'Action.Execute', title: a.label, verb: a.id, data: { value: a.value }, ...(style ? { style } : {}) };
}

function card(body: CardElement[], actions?: ExecuteAction[]): AdaptiveCard {
  return {
    type: 'AdaptiveCard',
    $schema: ADAPTIVE_CARD_SCHEMA,
    version: ADAPTIVE_CARD_VERSION,
    body,
    ...(actions?.length ? { actions } : {}),
    // Commands and fact tables need the room; Teams draws cards narrow otherwise.
    msteams: { width: 'Full' },
  };
}

export function renderCard(m: Message): AdaptiveCard {
  const body: CardElement[] = [];
  const title = m.title ?? (m.body || m.fields || m.code ? undefined : m.text);
  if (title) body.push(heading(title, m.tone));
  else body.push(toned(m.text, m.tone));
  for (const p of m.body ?? []) body.push(paragraph(p));
  if (m.fields?.length) body.push({ type: 'FactSet', facts: m.fields.map((f) => ({ title: markdown(f.label), value: markdown(f.value) })) });
  for (const c of m.code ?? []) {
    // As in Slack: a leading prose line stays prose, the command goes in the code block.
    const [first, ...rest] = c.split('\n');
    const hasLabel = rest.length > 0 && !/^(aws |\[)/.test(first ?? '');
    if (hasLabel) body.push(textBlock(first!));
    body.push(codeBlock(hasLabel ? rest.join('\n') : c));
  }
  for (const c of m.context ?? []) body.push(textBlock(c, { size: 'Small', isSubtle: true, spacing: 'Small' }));
  return card(body, m.actions?.map(execute));
}

/** A message as the parts of a Teams activity: the card, and its plain text for notifications (never Markdown-rendered text). */
export function renderMessage(m: Message): { summary: string; attachments: CardAttachment[] } {
  return { summary: m.text, attachments: [cardAttachment(renderCard(m))] };
}

export function cardAttachment(content: AdaptiveCard): CardAttachment {
  return { contentType: ADAPTIVE_CARD_CONTENT_TYPE, content };
}

function inputElement(i: FormInput, required: boolean, error: string | undefined): InputElement {
  const id = `${INPUT_ID_PREFIX}${i.key}`;
  const label = i.optional ? `${i.label} (optional)` : i.label;
  const validation = { isRequired: required, ...(error || required ? { errorMessage: error ?? `${i.label} is required.` } : {}) };
  // `multiselect` is read as a plain string so a core that has not added it yet still compiles.
  const kind: string = i.kind;
  if (kind === 'user') {
    return {
      type: 'Input.ChoiceSet',
      id,
      label,
      choices: [],
      'choices.data': { type: 'Data.Query', dataset: PEOPLE_DATASET },
      placeholder: 'Search for a person',
      ...validation,
      // A host without the people picker takes an email or @name instead.
      fallback: { type: 'Input.Text', id, label, placeholder: 'Email address or @name', style: 'email', ...validation },
    };
  }
  if (kind === 'select' || kind === 'multiselect') {
    const options = i.options ?? [];
    const multi = kind === 'multiselect';
    const wanted = i.initial === undefined ? [] : multi ? i.initial.split(',').map((v) => v.trim()) : [i.initial];
    const initial = wanted.filter((v) => options.includes(v)).join(',');
    const choiceSet: ChoiceSetInput = {
      type: 'Input.ChoiceSet',
      id,
      label,
      choices: options.map((o) => ({ title: o, value: o })),
      style: options.length > FILTERED_CHOICES_MIN ? 'filtered' : 'compact',
      placeholder: `Choose ${i.label}`,
      ...(multi ? { isMultiSelect: true } : {}),
      ...(initial ? { value: initial } : {}),
      ...validation,
    };
    return choiceSet;
  }
  return {
    type: 'Input.Text',
    id,
    label,
    ...(i.initial ? { value: i.initial } : i.hint ? { placeholder: i.hint } : {}),
    ...validation,
  };
}

/**
 * A form as a card. `errors` (by input key) are drawn in it: a summary on top, each under its input. A form whose select
 * re-draws it marks no input required, since the card would refuse the re-draw click while a required input is empty.
 */
export function renderForm(f: Form, errors: Record<string, string> = {}): AdaptiveCard {
  const body: CardElement[] = [heading(f.title, undefined)];
  if (f.intro) body.push(paragraph(f.intro));
  const problems = Object.entries(errors).map(([key, message]) => {
    const input = f.inputs.find((i) => i.key === key);
    return input ? `${input.label}: ${message}` : message;
  });
  if (problems.length) body.push(textBlock(problems.join('\n'), { color: 'Attention', weight: 'Bolder' }));
  const redraws = f.inputs.some((i) => i.dispatch);
  for (const i of f.inputs) {
    const error = errors[i.key];
    const element = inputElement(i, !redraws && !i.optional, error);
    body.push(element);
    const hintShown = element.type === 'Input.Text' && !i.initial;
    if (i.hint && !hintShown) body.push(textBlock(i.hint, { size: 'Small', isSubtle: true, spacing: 'Small' }));
    if (error) body.push(textBlock(error, { size: 'Small', color: 'Attention', spacing: 'Small' }));
    if (i.dispatch) {
      body.push({ type: 'ActionSet', actions: [{ type: 'Action.Execute', title: 'Show parameters', verb: `${FORM_CHANGE_VERB}${f.id}`, data: { state: f.state } }] });
    }
  }
  const submit: ExecuteAction[] = f.submitLabel ? [{ type: 'Action.Execute', title: f.submitLabel, verb: `${FORM_SUBMIT_VERB}${f.id}`, data: { state: f.state }, style: 'positive' }] : [];
  return card(body, submit);
}

function asString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map(asString).filter((s) => s !== undefined && s !== '').join(',');
  return undefined;
}

/** An `adaptiveCard/action` invoke's `data` back into the form's input keys; empty inputs are undefined, a multi-select is comma-separated. */
export function formValuesFromInvoke(data: unknown): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  if (typeof data !== 'object' || data === null) return out;
  for (const [id, raw] of Object.entries(data)) {
    if (!id.startsWith(INPUT_ID_PREFIX)) continue;
    const v = asString(raw);
    out[id.slice(INPUT_ID_PREFIX.length)] = v === '' ? undefined : v;
  }
  return out;
}

/** What a click on one of these cards asks for. */
export type CardInvoke =
  | { kind: 'action'; actionId: string; value: string }
  | { kind: 'form-submit' | 'form-change'; formId: string; state: string; values: Record<string, string | undefined> };

/** Reads an `adaptiveCard/action` invoke's `value`; anything not drawn by this renderer is undefined. */
export function readInvoke(value: unknown): CardInvoke | undefined {
  const action = (value as { action?: unknown } | null | undefined)?.action as { type?: unknown; verb?: unknown; data?: unknown } | undefined;
  if (typeof action !== 'object' || action === null || action.type !== 'Action.Execute' || typeof action.verb !== 'string') return undefined;
  const data = (typeof action.data === 'object' && action.data !== null ? action.data : {}) as Record<string, unknown>;
  for (const [prefix, kind] of [
    [FORM_SUBMIT_VERB, 'form-submit'],
    [FORM_CHANGE_VERB, 'form-change'],
  ] as const) {
    if (!action.verb.startsWith(prefix)) continue;
    const formId = action.verb.slice(prefix.length);
    if (!formId || typeof data.state !== 'string') return undefined;
    return { kind, formId, state: data.state, values: formValuesFromInvoke(data) };
  }
  if (!action.verb || typeof data.value !== 'string') return undefined;
  return { kind: 'action', actionId: action.verb, value: data.value };
}
