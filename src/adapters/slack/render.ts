// Draws the core's neutral messages and forms as Slack Block Kit. No logic lives here, only layout.
import { createHash } from 'node:crypto';
import type { Action, Form, FormInput, Message, Tone } from '../../core/message.js';

// Block Kit's limits: section text 3000, field 2000, 10 fields a section, 25 options... 100 for static selects.
const TEXT_MAX = 3000;
const FIELD_MAX = 2000;
const FIELDS_PER_SECTION = 10;
const OPTION_TEXT_MAX = 75;

export const ACTION_PREFIX = 'scicomp:';
/** Block Kit's static_select holds at most 100 options; a longer list is served by the options endpoint. */
export const STATIC_OPTIONS_MAX = 100;
export const OPTIONS_PREFIX = 'scicomp-options:';

/** A long option list's id: the same list always gets the same id, so stashing it twice is harmless. */
export function optionListId(options: string[]): string {
  return createHash('sha256').update(options.join('\u0000')).digest('base64url').slice(0, 22);
}

/** The option lists a form needs served from the options endpoint, by id. */
export function longOptionLists(f: Form): Map<string, string[]> {
  const lists = new Map<string, string[]>();
  for (const i of f.inputs) if (i.kind === 'select' && (i.options?.length ?? 0) > STATIC_OPTIONS_MAX) lists.set(optionListId(i.options!), i.options!);
  return lists;
}

/** What a person typed into an external select, matched against its list (at most 100 shown). */
export function matchOptions(options: string[], typed: string): ReturnType<typeof option>[] {
  const q = typed.trim().toLowerCase();
  return options.filter((o) => o.toLowerCase().includes(q)).slice(0, STATIC_OPTIONS_MAX).map(option);
}

type Block = Record<string, unknown>;

const TONE_ICON: Record<Tone, string> = { info: ':information_source:', success: ':white_check_mark:', warning: ':warning:', error: ':x:' };

/** Slack reads `<…>` as a mention or link and `&` as an entity, in text as in blocks: what people wrote never may. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function mrkdwn(text: string, max = TEXT_MAX) {
  return { type: 'mrkdwn', text: clip(text, max) };
}

function plain(text: string, max = TEXT_MAX) {
  return { type: 'plain_text' as const, text: clip(text, max), emoji: true };
}

function button(a: Action) {
  return { type: 'button', action_id: `${ACTION_PREFIX}${a.id}`, text: plain(a.label, 75), value: a.value, ...(a.style ? { style: a.style } : {}) };
}

export function renderBlocks(m: Message): Block[] {
  const blocks: Block[] = [];
  const icon = m.tone && m.tone !== 'info' ? `${TONE_ICON[m.tone]} ` : '';
  const heading = m.title ?? (m.body || m.fields || m.code ? undefined : m.text);
  if (heading) blocks.push({ type: 'section', text: mrkdwn(`${icon}*${escapeMrkdwn(heading)}*`) });
  else if (!m.title) blocks.push({ type: 'section', text: mrkdwn(`${icon}${escapeMrkdwn(m.text)}`) });
  for (const p of m.body ?? []) blocks.push({ type: 'section', text: mrkdwn(escapeMrkdwn(p)) });
  const fields = m.fields ?? [];
  for (let i = 0; i < fields.length; i += FIELDS_PER_SECTION) {
    blocks.push({
      type: 'section',
      fields: fields.slice(i, i + FIELDS_PER_SECTION).map((f) => mrkdwn(`*${escapeMrkdwn(f.label)}*\n${escapeMrkdwn(f.value)}`, FIELD_MAX)),
    });
  }
  for (const c of m.code ?? []) {
    // A leading prose line stays prose; the command itself goes in a code block so it copies cleanly.
    const [first, ...rest] = c.split('\n');
    const hasLabel = rest.length > 0 && !/^(aws |\[)/.test(first ?? '');
    const label = hasLabel ? `${escapeMrkdwn(first!)}\n` : '';
    const code = hasLabel ? rest.join('\n') : c;
    blocks.push({ type: 'section', text: mrkdwn(`${label}\`\`\`${escapeMrkdwn(code)}\`\`\``) });
  }
  if (m.context?.length) blocks.push({ type: 'context', elements: m.context.map((c) => mrkdwn(escapeMrkdwn(c))) });
  if (m.actions?.length) blocks.push({ type: 'actions', elements: m.actions.map(button) });
  return blocks;
}

export function renderMessage(m: Message): { text: string; blocks: Block[] } {
  // The fallback text is mrkdwn too: escaped, a notification's own words cannot mention @channel or make a link.
  return { text: clip(escapeMrkdwn(m.text), TEXT_MAX), blocks: renderBlocks(m) };
}

function option(value: string) {
  return { text: plain(value, OPTION_TEXT_MAX), value };
}

function inputBlock(i: FormInput): Block {
  const long = i.kind === 'select' && (i.options?.length ?? 0) > STATIC_OPTIONS_MAX;
  const initial = i.initial && i.options?.includes(i.initial) ? { initial_option: option(i.initial) } : {};
  // A multi-select's initial value is its options joined with ",".
  const chosen = i.multiple && i.initial ? i.initial.split(',').map((v) => v.trim()).filter((v) => i.options?.includes(v)) : [];
  const initials = chosen.length > 0 ? { initial_options: chosen.map(option) } : {};
  const element =
    i.kind === 'user'
      ? { type: 'users_select', action_id: i.key, placeholder: plain(`Choose ${i.label}`, 150) }
      : long
      ? {
          type: i.multiple ? 'multi_external_select' : 'external_select',
          action_id: `${OPTIONS_PREFIX}${optionListId(i.options!)}`,
          placeholder: plain(`Type to search ${i.label}`, 150),
          min_query_length: 0,
          ...(i.multiple ? initials : initial),
        }
      : i.kind === 'select'
      ? {
          type: i.multiple ? 'multi_static_select' : 'static_select',
          action_id: i.key,
          placeholder: plain(`Choose ${i.label}`, 150),
          options: (i.options ?? []).map(option),
          ...(i.multiple ? initials : initial),
        }
      : { type: 'plain_text_input', action_id: i.key, ...(i.initial ? { initial_value: i.initial } : {}) };
  return {
    type: 'input',
    block_id: i.key,
    label: plain(i.label, 2000),
    element,
    optional: i.optional ?? false,
    ...(i.dispatch ? { dispatch_action: true } : {}),
    ...(i.hint ? { hint: plain(i.hint, 2000) } : {}),
  };
}

export function renderForm(f: Form): Record<string, unknown> {
  const blocks: Block[] = [];
  if (f.intro) blocks.push({ type: 'section', text: mrkdwn(escapeMrkdwn(f.intro)) });
  blocks.push(...f.inputs.map(inputBlock));
  return {
    type: 'modal',
    callback_id: `${ACTION_PREFIX}${f.id}`,
    private_metadata: f.state,
    title: plain(f.title, 24),
    close: plain('Cancel', 24),
    ...(f.submitLabel ? { submit: plain(f.submitLabel, 24) } : {}),
    blocks,
  };
}

export function loadingForm(title: string): Record<string, unknown> {
  return noticeForm(title, ':hourglass_flowing_sand: Loading products…');
}

/** A modal that only says something (loading, or that nothing was done), with a way to close it. */
export function noticeForm(title: string, text: string): Record<string, unknown> {
  return { type: 'modal', title: plain(title, 24), close: plain('Cancel', 24), blocks: [{ type: 'section', text: mrkdwn(text) }] };
}

type StateValue = {
  type?: string;
  value?: string | null;
  selected_option?: { value: string } | null;
  selected_options?: { value: string }[] | null;
  selected_user?: string | null;
};

/** Reads a modal's state.values back into the form's input keys; a multi-select's options join with ",". */
export function formValues(state: { values?: Record<string, Record<string, StateValue>> } | undefined): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [blockId, actions] of Object.entries(state?.values ?? {})) {
    for (const v of Object.values(actions)) {
      out[blockId] = v.selected_options ? v.selected_options.map((o) => o.value).join(',') : (v.selected_option?.value ?? v.selected_user ?? v.value ?? undefined);
    }
  }
  return out;
}
