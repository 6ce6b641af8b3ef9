import { afterAll, describe, expect, it } from 'vitest';
import type { AdaptiveCard, CardElement, ChoiceSetInput, Container, ExecuteAction, FactSet, RichTextBlock, TextBlock, TextInput } from '../../../src/adapters/teams/card-types.js';
import {
  FORM_CHANGE_VERB,
  FORM_SUBMIT_VERB,
  INPUT_ID_PREFIX,
  PEOPLE_DATASET,
  escapeMarkdown,
  formValuesFromInvoke,
  readInvoke,
  renderCard,
  renderForm,
  renderMessage,
} from '../../../src/adapters/teams/render.js';
import type { Form, FormInput, Message } from '../../../src/core/message.js';

// Every card drawn here is checked against the Adaptive Card 1.5 vocabulary at the end.
const drawn: AdaptiveCard[] = [];
const card = (m: Message) => keep(renderCard(m));
const form = (f: Form, errors?: Record<string, string>) => keep(renderForm(f, errors));
function keep(c: AdaptiveCard): AdaptiveCard {
  drawn.push(c);
  return c;
}

function walk(elements: CardElement[], visit: (e: CardElement) => void): void {
  for (const e of elements) {
    visit(e);
    if (e.type === 'Container') walk(e.items, visit);
    if (e.fallback && e.fallback !== 'drop') walk([e.fallback], visit);
  }
}

function all(c: AdaptiveCard): CardElement[] {
  const out: CardElement[] = [];
  walk(c.body, (e) => out.push(e));
  return out;
}

const blocks = (c: AdaptiveCard) => all(c).filter((e): e is TextBlock => e.type === 'TextBlock');
/** Every Markdown string a card carries: TextBlock texts and fact titles and values. */
function markdownStrings(c: AdaptiveCard): string[] {
  return all(c).flatMap((e) => (e.type === 'TextBlock' ? [e.text] : e.type === 'FactSet' ? e.facts.flatMap((f) => [f.title, f.value]) : []));
}

/** What Teams shows for an escaped string: backslash escapes resolved, blank-line breaks back to one newline. */
function shown(md: string): string {
  return md.replace(/\\([!-/:-@[-`{-~])|\n\n/g, (pair, ch: string | undefined) => ch ?? '\n');
}

/** The text left once every escaped character is removed: what Markdown would still interpret. */
function unescaped(md: string): string {
  return md.replace(/\\[!-/:-@[-`{-~]/g, '');
}

const HOSTILE = [
  '<at>Boss</at> approve this',
  '[click here](https://evil.example/login) and ![x](https://evil.example/p.png)',
  '**urgent** _now_ ~~gone~~ `cmd`',
  '{{DATE(2026-01-01T00:00:00Z, SHORT)}} &lt;at&gt;',
  '1. first\n2) second\n- bullet\n+ plus\n# heading\n> quote\n===',
  'C:\\Users\\jdoe | pipe',
];

function expectInert(md: string): void {
  expect(unescaped(md), md).not.toMatch(/[[\]()<>*_`~{}&|\\]/);
  // A line opening with an escape is no list, heading, quote or rule.
  for (const line of md.split('\n')) expect(line, md).not.toMatch(/^\s*([#+=>-]|\d+[.)])/);
}

describe('renderCard', () => {
  it('is an Adaptive Card 1.5 with its schema, full width', () => {
    const c = card({ text: 'hello' });
    expect(c).toMatchObject({ type: 'AdaptiveCard', version: '1.5', $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', msteams: { width: 'Full' } });
  });

  it('draws a text-only message as its heading, coloured and marked by its tone', () => {
    const [b] = blocks(card({ text: 'Launch failed', tone: 'error' }));
    expect(b).toMatchObject({ text: '❌ Launch failed', weight: 'Bolder', style: 'heading', color: 'Attention', wrap: true });
    expect(blocks(card({ text: 'Done', tone: 'success' }))[0]).toMatchObject({ text: '✅ Done', color: 'Good' });
    expect(blocks(card({ text: 'Careful', tone: 'warning' }))[0]).toMatchObject({ text: '⚠️ Careful', color: 'Warning' });
    const info = blocks(card({ text: 'FYI', tone: 'info' }))[0]!;
    expect(info.text).toBe('FYI');
    expect(info.color).toBeUndefined();
  });

  it('heads with the title when there is one, and with plain text when the message has a body but no title', () => {
    const titled = card({ text: 'summary', title: 'Connect to box', body: ['A shell:'] });
    expect(blocks(titled)[0]).toMatchObject({ text: 'Connect to box', weight: 'Bolder' });
    expect(blocks(titled).map((b) => b.text)).not.toContain('summary');
    const untitled = card({ text: 'Your products', tone: 'warning', fields: [{ label: 'a', value: 'b' }] });
    expect(untitled.body[0]).toMatchObject({ type: 'TextBlock', text: '⚠️ Your products', color: 'Warning' });
    expect((untitled.body[0] as TextBlock).weight).toBeUndefined();
  });

  it('draws body paragraphs as wrapped text, and their `code` spans as monospace runs', () => {
    const c = card({ text: 't', title: 'T', body: ['First line\nsecond line', 'Run `aws sso login` then `list`.'] });
    expect(c.body[1]).toEqual({ type: 'TextBlock', text: 'First line\n\nsecond line', wrap: true });
    const rich = c.body[2] as RichTextBlock;
    expect(rich.type).toBe('RichTextBlock');
    expect(rich.inlines).toEqual([
      { type: 'TextRun', text: 'Run ' },
      { type: 'TextRun', text: 'aws sso login', fontType: 'Monospace' },
      { type: 'TextRun', text: ' then ' },
      { type: 'TextRun', text: 'list', fontType: 'Monospace' },
      { type: 'TextRun', text: '.' },
    ]);
  });

  it('draws fields as a FactSet', () => {
    const c = card({ text: 't', title: 'jdoe-box', fields: [{ label: 'Status', value: 'AVAILABLE' }, { label: 'InstanceId', value: 'i-0abc' }] });
    expect(c.body.find((e) => e.type === 'FactSet')).toEqual({
      type: 'FactSet',
      facts: [
        { title: 'Status', value: 'AVAILABLE' },
        { title: 'InstanceId', value: 'i-0abc' },
      ],
    });
  });

  it('draws code as monospace, wrapped lines on a shaded block, with a leading prose line kept as prose', () => {
    const profile = '[profile service-catalog]\nregion = us-east-1\ncredential_process = "helper" "token"';
    const windows = 'aws ssm start-session --parameters "{\\"portNumber\\":[\\"80\\"]}"';
    const c = card({ text: 't', title: 'Connect', code: ['aws ssm start-session --target i-1', 'The same from Windows cmd:\n' + windows, profile] });
    const code = c.body.filter((e): e is Container => e.type === 'Container');
    expect(code).toHaveLength(3);
    for (const block of code) {
      expect(block.style).toBe('emphasis');
      for (const line of block.items) expect(line).toMatchObject({ type: 'TextBlock', fontType: 'Monospace', wrap: true });
    }
    expect(code[0]!.items.map((l) => shown((l as TextBlock).text))).toEqual(['aws ssm start-session --target i-1']);
    // The label is prose above the block; the Windows quoting survives escaping exactly.
    const label = c.body[c.body.indexOf(code[1]!) - 1] as TextBlock;
    expect(label).toMatchObject({ type: 'TextBlock', text: 'The same from Windows cmd:' });
    expect(label.fontType).toBeUndefined();
    expect(code[1]!.items.map((l) => shown((l as TextBlock).text))).toEqual([windows]);
    // A profile starting with "[" is all code, one block per line.
    expect(code[2]!.items.map((l) => shown((l as TextBlock).text))).toEqual(profile.split('\n'));
    expect(code[2]!.items.slice(1).every((l) => l.spacing === 'None')).toBe(true);
  });

  it('draws context as small subtle text', () => {
    const c = card({ text: 't', title: 'T', context: ['Needs the AWS CLI v2.', 'Second note'] });
    const small = blocks(c).filter((b) => b.size === 'Small');
    expect(small.map((b) => b.text)).toEqual(['Needs the AWS CLI v2.', 'Second note']);
    for (const b of small) expect(b).toMatchObject({ isSubtle: true, wrap: true });
  });

  it('draws actions as Action.Execute: verb = the action id, data = its value, styles mapped', () => {
    const c = card({
      text: 'Terminate jdoe-box?',
      actions: [
        { id: 'terminate.confirm', label: 'Terminate', value: 'cf-1', style: 'danger' },
        { id: 'approve', label: 'Approve', value: 'req-1', style: 'primary' },
        { id: 'keep', label: 'Keep', value: 'pp-1' },
      ],
    });
    expect(c.actions).toEqual([
      { type: 'Action.Execute', title: 'Terminate', verb: 'terminate.confirm', data: { value: 'cf-1' }, style: 'destructive' },
      { type: 'Action.Execute', title: 'Approve', verb: 'approve', data: { value: 'req-1' }, style: 'positive' },
      { type: 'Action.Execute', title: 'Keep', verb: 'keep', data: { value: 'pp-1' } },
    ]);
    expect(card({ text: 'no buttons' }).actions).toBeUndefined();
  });

  it('renderMessage gives the card as an attachment and the plain text as the summary', () => {
    const m: Message = { text: 'jdoe-box is ready', tone: 'success' };
    expect(renderMessage(m)).toEqual({ summary: 'jdoe-box is ready', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: renderCard(m) }] });
  });
});

describe('escaping user-controlled text', () => {
  it('leaves no Markdown to interpret in any part of a message, and shows the text as typed', () => {
    for (const evil of HOSTILE) {
      const c = card({ text: evil, title: evil, body: [evil], fields: [{ label: evil, value: evil }], code: [evil, `aws ${evil}`], context: [evil] });
      const strings = markdownStrings(c);
      expect(strings.length).toBeGreaterThanOrEqual(6);
      for (const md of strings) expectInert(md);
      // Every drawing shows the original text (icons and line splits aside).
      const title = blocks(c)[0]!.text;
      expect(shown(title)).toBe(evil);
      const facts = (c.body.find((e) => e.type === 'FactSet') as FactSet).facts[0]!;
      expect(shown(facts.title)).toBe(evil);
      expect(shown(facts.value)).toBe(evil);
    }
  });

  it('turns neither a link nor a mention into one', () => {
    const md = escapeMarkdown('[invoice](https://evil.example) <at>Alice</at>');
    expect(md).toBe('\\[invoice\\]\\(https://evil.example\\) \\<at\\>Alice\\</at\\>');
    expect(md).not.toMatch(/(^|[^\\])\[/);
    expect(md).not.toMatch(/(^|[^\\])</);
  });

  it('keeps bold markers literal', () => {
    expect(escapeMarkdown('**free** __money__')).toBe('\\*\\*free\\*\\* \\_\\_money\\_\\_');
  });

  it('escapes list and heading starts only at the start of a line', () => {
    expect(escapeMarkdown('1. one\n- two\njdoe-box 2.5')).toBe('1\\. one\n\\- two\njdoe-box 2.5');
  });

  it('escapes user text inside forms too (intro, errors), while labels and choices stay plain text', () => {
    const f: Form = { id: 'deny', title: '<at>x</at>', intro: '[a](https://evil)', inputs: [{ key: 'reason', label: 'Reason', kind: 'text' }], state: 'r' };
    const c = form(f, { reason: '**bad** [x](https://evil)' });
    for (const md of markdownStrings(c)) expectInert(md);
  });

  it('leaves code spans in runs, which are never read as Markdown, as typed', () => {
    const c = card({ text: 't', title: 'T', body: ['Type `[x](https://e)` **not** bold'] });
    const rich = c.body[1] as RichTextBlock;
    expect(rich.inlines.map((r) => r.text).join('')).toBe('Type [x](https://e) **not** bold');
  });
});

const picker: FormInput = { key: 'product', label: 'Product', kind: 'select', options: ['EC2 Linux', 'S3 Private Encrypted Bucket'], dispatch: true };
const launch: Form = {
  id: 'launch',
  title: 'Launch a product',
  submitLabel: 'Launch',
  intro: 'EC2 Linux v1.0. No approval needed.',
  inputs: [
    { ...picker, initial: 'EC2 Linux' },
    { key: 'name', label: 'Name', kind: 'text', optional: true, hint: 'Your username is added in front.' },
    { key: 'InstanceType', label: 'InstanceType', kind: 'select', options: ['t3.micro', 't3.large'], initial: 't3.micro', optional: true, hint: 'EC2 instance type' },
    { key: 'VolumeSize', label: 'VolumeSize', kind: 'text', initial: '100', hint: 'GiB' },
    { key: 'KeyName', label: 'KeyName', kind: 'text' },
  ],
  state: '{"productId":"prod-1","versionId":"pa-1"}',
};
const deny: Form = { id: 'deny', title: 'Deny request', submitLabel: 'Deny', intro: 'The reason goes to the requester.', inputs: [{ key: 'reason', label: 'Reason', kind: 'text' }], state: 'req-9' };

function input(c: AdaptiveCard, key: string) {
  const found = c.body.find((e) => 'id' in e && e.id === `${INPUT_ID_PREFIX}${key}`);
  if (!found) throw new Error(`no input ${key}`);
  return found as TextInput | ChoiceSetInput;
}

describe('renderForm', () => {
  it('draws each input with its label, initial value and hint', () => {
    const c = form(launch);
    expect(c.body[0]).toMatchObject({ type: 'TextBlock', text: 'Launch a product', weight: 'Bolder' });
    expect(c.body[1]).toMatchObject({ type: 'TextBlock', text: 'EC2 Linux v1.0. No approval needed.' });
    expect(input(c, 'product')).toMatchObject({ type: 'Input.ChoiceSet', label: 'Product', style: 'compact', value: 'EC2 Linux', choices: [{ title: 'EC2 Linux', value: 'EC2 Linux' }, { title: 'S3 Private Encrypted Bucket', value: 'S3 Private Encrypted Bucket' }] });
    expect(input(c, 'name')).toMatchObject({ type: 'Input.Text', label: 'Name (optional)', placeholder: 'Your username is added in front.' });
    expect(input(c, 'InstanceType')).toMatchObject({ type: 'Input.ChoiceSet', label: 'InstanceType (optional)', value: 't3.micro' });
    // A hint the placeholder cannot show (a select, or a text input with a value) is small print under the input.
    const after = (key: string) => c.body[c.body.indexOf(input(c, key)) + 1] as TextBlock;
    expect(after('InstanceType')).toMatchObject({ type: 'TextBlock', text: 'EC2 instance type', size: 'Small', isSubtle: true });
    expect(input(c, 'VolumeSize')).toMatchObject({ type: 'Input.Text', value: '100' });
    expect((input(c, 'VolumeSize') as TextInput).placeholder).toBeUndefined();
    expect(after('VolumeSize')).toMatchObject({ text: 'GiB', size: 'Small' });
  });

  it('puts a "Show parameters" button after a select that re-draws the form, and marks nothing required there', () => {
    const c = form(launch);
    const next = c.body[c.body.indexOf(input(c, 'product')) + 1];
    expect(next).toEqual({ type: 'ActionSet', actions: [{ type: 'Action.Execute', title: 'Show parameters', verb: `${FORM_CHANGE_VERB}launch`, data: { state: launch.state } }] });
    // The card refuses any Action.Execute while a required input is empty: the re-draw must stay clickable.
    for (const e of all(c)) if (e.type === 'Input.Text' || e.type === 'Input.ChoiceSet') expect(e.isRequired, e.id).toBe(false);
  });

  it('submits with Action.Execute form-submit:<id> carrying the state, and has no submit when the form has no submit label', () => {
    expect(form(launch).actions).toEqual([{ type: 'Action.Execute', title: 'Launch', verb: `${FORM_SUBMIT_VERB}launch`, data: { state: launch.state }, style: 'positive' }]);
    const first: Form = { id: 'launch', title: 'Launch a product', intro: 'Choose a product to see its parameters.', inputs: [picker], state: '{}' };
    expect(form(first).actions).toBeUndefined();
  });

  it('marks required inputs of a form without re-draw, with a message', () => {
    const c = form(deny);
    expect(input(c, 'reason')).toMatchObject({ type: 'Input.Text', label: 'Reason', isRequired: true, errorMessage: 'Reason is required.' });
  });

  it('makes long selects a type-ahead list', () => {
    const options = Array.from({ length: 40 }, (_, n) => `ami-${n}`);
    const c = form({ id: 'f', title: 'F', inputs: [{ key: 'ImageId', label: 'ImageId', kind: 'select', options }], state: '' });
    expect(input(c, 'ImageId')).toMatchObject({ style: 'filtered' });
    expect((input(c, 'ImageId') as ChoiceSetInput).choices).toHaveLength(40);
  });

  it('draws a multi-select kind as isMultiSelect, keeping only known initial values', () => {
    const multi = { key: 'Subnets', label: 'Subnets', kind: 'multiselect', options: ['a', 'b', 'c'], initial: 'a, c,zzz' } as unknown as FormInput;
    const c = form({ id: 'f', title: 'F', submitLabel: 'Go', inputs: [multi], state: '' });
    expect(input(c, 'Subnets')).toMatchObject({ type: 'Input.ChoiceSet', isMultiSelect: true, value: 'a,c' });
    // A single select drops an initial value that is not an option.
    const single = form({ id: 'f', title: 'F', inputs: [{ key: 'k', label: 'K', kind: 'select', options: ['a'], initial: 'zzz' }], state: '' });
    expect((input(single, 'k') as ChoiceSetInput).value).toBeUndefined();
    expect((input(single, 'k') as ChoiceSetInput).isMultiSelect).toBeUndefined();
  });

  it('draws a person input as the Teams people picker, falling back to an email box', () => {
    const c = form({ id: 'offboard-transfer', title: 'Transfer to…', submitLabel: 'Transfer', inputs: [{ key: 'to', label: 'New owner', kind: 'user' }], state: 'r|pp' });
    const people = input(c, 'to') as ChoiceSetInput;
    expect(people).toMatchObject({ type: 'Input.ChoiceSet', label: 'New owner', choices: [], 'choices.data': { type: 'Data.Query', dataset: PEOPLE_DATASET }, isRequired: true });
    expect(PEOPLE_DATASET).toBe('graph.microsoft.com/users');
    expect(people.fallback).toMatchObject({ type: 'Input.Text', id: `${INPUT_ID_PREFIX}to`, style: 'email', isRequired: true });
  });

  it('draws validation errors in the card: a summary, the input marked, the message under it', () => {
    const c = form(deny, { reason: 'Say why, in a few words.', other: 'The request was already decided.' });
    const summary = c.body.find((e) => e.type === 'TextBlock' && e.color === 'Attention' && e.weight === 'Bolder') as TextBlock;
    expect(shown(summary.text)).toBe('Reason: Say why, in a few words.\nThe request was already decided.');
    expect(c.body.indexOf(summary)).toBeLessThan(c.body.indexOf(input(c, 'reason')));
    expect(input(c, 'reason')).toMatchObject({ isRequired: true, errorMessage: 'Say why, in a few words.' });
    expect(c.body[c.body.indexOf(input(c, 'reason')) + 1]).toMatchObject({ type: 'TextBlock', text: 'Say why, in a few words.', color: 'Attention', size: 'Small' });
    // With no errors there is no attention text at all.
    expect(blocks(form(deny)).some((b) => b.color === 'Attention')).toBe(false);
  });

  it('marks an erroneous input in a re-drawing form without making it required', () => {
    const c = form(launch, { VolumeSize: 'must be at most 16384' });
    expect(input(c, 'VolumeSize')).toMatchObject({ isRequired: false, errorMessage: 'must be at most 16384' });
  });
});

/** The data Teams sends for a click: the button's data with every input's value merged in by input id. */
function invokeData(c: AdaptiveCard, button: ExecuteAction, typed: Record<string, string>): Record<string, unknown> {
  const data: Record<string, unknown> = { ...button.data };
  for (const e of all(c)) if ((e.type === 'Input.Text' || e.type === 'Input.ChoiceSet') && !(e.id in data)) data[e.id] = typed[e.id.slice(INPUT_ID_PREFIX.length)] ?? e.value ?? '';
  return data;
}

describe('reading invokes back', () => {
  it('round-trips a submitted form into the input keys, empty inputs undefined', () => {
    const c = form(launch);
    const data = invokeData(c, c.actions![0]!, { KeyName: 'my-key', name: '' });
    expect(formValuesFromInvoke(data)).toEqual({ product: 'EC2 Linux', name: undefined, InstanceType: 't3.micro', VolumeSize: '100', KeyName: 'my-key' });
    expect(readInvoke({ action: { type: 'Action.Execute', verb: c.actions![0]!.verb, data } })).toEqual({
      kind: 'form-submit',
      formId: 'launch',
      state: launch.state,
      values: { product: 'EC2 Linux', name: undefined, InstanceType: 't3.micro', VolumeSize: '100', KeyName: 'my-key' },
    });
  });

  it('reads the re-draw button of a form with the chosen value', () => {
    const c = form(launch);
    const button = (c.body.find((e) => e.type === 'ActionSet') as { actions: ExecuteAction[] }).actions[0]!;
    const data = invokeData(c, button, { product: 'S3 Private Encrypted Bucket' });
    expect(readInvoke({ action: { type: 'Action.Execute', verb: button.verb, data } })).toMatchObject({ kind: 'form-change', formId: 'launch', state: launch.state, values: { product: 'S3 Private Encrypted Bucket' } });
  });

  it('keeps an input named like the data a button carries apart from it', () => {
    const f: Form = { id: 'f', title: 'F', submitLabel: 'Go', inputs: [{ key: 'state', label: 'State', kind: 'text' }, { key: 'value', label: 'Value', kind: 'text' }], state: 'S-1' };
    const c = form(f);
    const data = invokeData(c, c.actions![0]!, { state: 'typed state', value: 'typed value' });
    expect(readInvoke({ action: { type: 'Action.Execute', verb: 'form-submit:f', data } })).toEqual({ kind: 'form-submit', formId: 'f', state: 'S-1', values: { state: 'typed state', value: 'typed value' } });
  });

  it('joins a multi-select into a comma string, and ignores what no input drew', () => {
    expect(formValuesFromInvoke({ 'input:Subnets': 'a,c', state: 'x', value: 'y', evil: 'z' })).toEqual({ Subnets: 'a,c' });
    expect(formValuesFromInvoke({ 'input:Subnets': ['a', 'c'], 'input:n': 3, 'input:o': { nested: true } })).toEqual({ Subnets: 'a,c', n: '3', o: undefined });
    expect(formValuesFromInvoke(null)).toEqual({});
    expect(formValuesFromInvoke('input:x')).toEqual({});
  });

  it('reads a button click as the action id and its value', () => {
    const c = card({ text: 'Idle', actions: [{ id: 'idle.snooze', label: 'Snooze 24 h', value: 'pp-1' }] });
    const a = c.actions![0]!;
    expect(readInvoke({ action: { type: a.type, verb: a.verb, data: a.data } })).toEqual({ kind: 'action', actionId: 'idle.snooze', value: 'pp-1' });
  });

  it('refuses invokes this renderer did not draw', () => {
    for (const bad of [
      undefined,
      null,
      {},
      { action: null },
      { action: { type: 'Action.Submit', verb: 'x', data: { value: 'v' } } },
      { action: { type: 'Action.Execute', verb: 7, data: { value: 'v' } } },
      { action: { type: 'Action.Execute', verb: '', data: { value: 'v' } } },
      { action: { type: 'Action.Execute', verb: 'approve' } },
      { action: { type: 'Action.Execute', verb: 'approve', data: { value: 3 } } },
      { action: { type: 'Action.Execute', verb: 'form-submit:', data: { state: 's' } } },
      { action: { type: 'Action.Execute', verb: 'form-submit:launch', data: {} } },
    ]) {
      expect(readInvoke(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });
});

// Adaptive Card 1.5: https://adaptivecards.io/explorer/ (elements, inputs, actions).
const ELEMENTS_1_5 = new Set(['TextBlock', 'Image', 'Media', 'RichTextBlock', 'Table', 'ActionSet', 'Container', 'ColumnSet', 'FactSet', 'ImageSet', 'Input.Text', 'Input.Number', 'Input.Date', 'Input.Time', 'Input.Toggle', 'Input.ChoiceSet']);
const ACTIONS_1_5 = new Set(['Action.OpenUrl', 'Action.Submit', 'Action.ShowCard', 'Action.ToggleVisibility', 'Action.Execute']);

describe('schema sanity', () => {
  afterAll(() => {
    expect(drawn.length).toBeGreaterThan(20);
  });

  it('every card drawn above uses only Adaptive Card 1.5 elements and actions, unique input ids, and survives JSON', () => {
    // Cards drawn in the other describe blocks, plus one of each kind of form here.
    form(launch, { KeyName: 'x' });
    card({ text: 'all', title: 'All', tone: 'warning', body: ['p `c`'], fields: [{ label: 'l', value: 'v' }], code: ['x\n\ny'], context: ['c'], actions: [{ id: 'a', label: 'A', value: 'v' }] });
    for (const c of drawn) {
      expect(c.type).toBe('AdaptiveCard');
      expect(c.version).toBe('1.5');
      expect(c.$schema).toBe('http://adaptivecards.io/schemas/adaptive-card.json');
      expect(JSON.parse(JSON.stringify(c))).toEqual(c);
      const ids: string[] = [];
      const actions: ExecuteAction[] = [...(c.actions ?? [])];
      walk(c.body, (e) => {
        expect(ELEMENTS_1_5.has(e.type), e.type).toBe(true);
        if (e.type === 'RichTextBlock') for (const r of e.inlines) expect(r.type).toBe('TextRun');
        if (e.type === 'ActionSet') actions.push(...e.actions);
        if (e.type === 'TextBlock') expect(e.text).not.toBe('');
      });
      for (const e of c.body) if ((e.type === 'Input.Text' || e.type === 'Input.ChoiceSet') && e.id) ids.push(e.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const a of actions) {
        expect(ACTIONS_1_5.has(a.type), a.type).toBe(true);
        expect(a.verb).not.toBe('');
        expect(a.title).not.toBe('');
      }
    }
  });
});
