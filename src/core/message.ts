// Platform-neutral messages and forms: the core answers with these, renderers (Slack, Teams, console) draw them.

export type Tone = 'info' | 'success' | 'warning' | 'error';

export interface Field {
  label: string;
  value: string;
}

export interface Action {
  /** Routes the click back to the core, e.g. `terminate.confirm`. */
  id: string;
  label: string;
  /** Opaque payload carried by the button (a request id, a product id). */
  value: string;
  style?: 'primary' | 'danger';
}

export interface Message {
  /** Plain-text summary: notification text, console output, screen readers. */
  text: string;
  title?: string;
  tone?: Tone;
  /** Paragraphs of plain text; `code` spans are rendered monospace by every renderer. */
  body?: string[];
  fields?: Field[];
  /** Verbatim blocks (commands to copy). */
  code?: string[];
  /** Small print under the message. */
  context?: string[];
  actions?: Action[];
}

export interface FormInput {
  key: string;
  label: string;
  hint?: string;
  /** `user` picks a person on the platform (its value is the user id). */
  kind: 'text' | 'select' | 'user';
  options?: string[];
  /** A select that picks several options; its value is them joined with ",". */
  multiple?: boolean;
  initial?: string;
  optional?: boolean;
  /** A select whose change re-draws the form (the product picker). */
  dispatch?: boolean;
}

export interface Form {
  /** Routes the submission back to the core, e.g. `launch`. */
  id: string;
  title: string;
  submitLabel?: string;
  intro?: string;
  inputs: FormInput[];
  /** Opaque state carried through the form (request id, product id). */
  state: string;
}

export function message(text: string, extra: Omit<Message, 'text'> = {}): Message {
  return { text, ...extra };
}
