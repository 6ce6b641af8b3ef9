// The subset of Adaptive Card 1.5 (plus Teams' people picker and width) that scicomp draws, as types.
// The `adaptivecards` package in node_modules is the 1.2 renderer (no Action.Execute), so these are written out.

export const ADAPTIVE_CARD_SCHEMA = 'http://adaptivecards.io/schemas/adaptive-card.json';
export const ADAPTIVE_CARD_VERSION = '1.5';
export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

export type Spacing = 'None' | 'Small' | 'Default' | 'Medium' | 'Large' | 'ExtraLarge' | 'Padding';
export type TextColor = 'Default' | 'Dark' | 'Light' | 'Accent' | 'Good' | 'Warning' | 'Attention';
export type TextSize = 'Default' | 'Small' | 'Medium' | 'Large' | 'ExtraLarge';
export type TextWeight = 'Default' | 'Lighter' | 'Bolder';
export type FontType = 'Default' | 'Monospace';
export type ContainerStyle = 'default' | 'emphasis' | 'good' | 'attention' | 'warning' | 'accent';

interface ElementBase {
  id?: string;
  spacing?: Spacing;
  separator?: boolean;
  isVisible?: boolean;
  /** What a host that cannot draw this element shows instead. */
  fallback?: CardElement | 'drop';
}

/** Text in Teams' Markdown subset: anything a user wrote must be escaped first. */
export interface TextBlock extends ElementBase {
  type: 'TextBlock';
  text: string;
  wrap?: boolean;
  color?: TextColor;
  size?: TextSize;
  weight?: TextWeight;
  fontType?: FontType;
  isSubtle?: boolean;
  maxLines?: number;
  style?: 'default' | 'heading';
}

/** A run of literal text: no Markdown is applied inside it. */
export interface TextRun {
  type: 'TextRun';
  text: string;
  color?: TextColor;
  size?: TextSize;
  weight?: TextWeight;
  fontType?: FontType;
  isSubtle?: boolean;
  italic?: boolean;
}

export interface RichTextBlock extends ElementBase {
  type: 'RichTextBlock';
  inlines: TextRun[];
}

export interface Fact {
  title: string;
  value: string;
}

export interface FactSet extends ElementBase {
  type: 'FactSet';
  facts: Fact[];
}

export interface Container extends ElementBase {
  type: 'Container';
  items: CardElement[];
  style?: ContainerStyle;
  bleed?: boolean;
}

export interface ActionSet extends ElementBase {
  type: 'ActionSet';
  actions: CardAction[];
}

interface InputBase extends ElementBase {
  id: string;
  /** Plain text shown above the input (no Markdown). */
  label?: string;
  isRequired?: boolean;
  errorMessage?: string;
}

export interface TextInput extends InputBase {
  type: 'Input.Text';
  placeholder?: string;
  value?: string;
  isMultiline?: boolean;
  maxLength?: number;
  style?: 'text' | 'tel' | 'url' | 'email' | 'password';
  regex?: string;
}

export interface Choice {
  title: string;
  value: string;
}

/** Choices fetched as the user types: Teams' `graph.microsoft.com/users` dataset is the people picker. */
export interface DataQuery {
  type: 'Data.Query';
  dataset: string;
  count?: number;
}

export interface ChoiceSetInput extends InputBase {
  type: 'Input.ChoiceSet';
  choices: Choice[];
  'choices.data'?: DataQuery;
  /** `filtered` is a type-ahead list (Teams). */
  style?: 'compact' | 'expanded' | 'filtered';
  isMultiSelect?: boolean;
  placeholder?: string;
  /** The chosen value; several are comma-separated. */
  value?: string;
  wrap?: boolean;
}

export type InputElement = TextInput | ChoiceSetInput;
export type CardElement = TextBlock | RichTextBlock | FactSet | Container | ActionSet | InputElement;

/** What a button carries back besides the inputs: the core's action value, or a form's state. */
export interface ExecuteData {
  value?: string;
  state?: string;
}

/** Universal action: Teams answers it with an `adaptiveCard/action` invoke carrying `verb` and `data` (inputs merged in). */
export interface ExecuteAction {
  type: 'Action.Execute';
  title: string;
  verb: string;
  data?: ExecuteData;
  style?: 'default' | 'positive' | 'destructive';
  associatedInputs?: 'auto' | 'none';
}

export type CardAction = ExecuteAction;

export interface AdaptiveCard {
  type: 'AdaptiveCard';
  $schema: typeof ADAPTIVE_CARD_SCHEMA;
  version: typeof ADAPTIVE_CARD_VERSION;
  body: CardElement[];
  actions?: CardAction[];
  /** Shown by hosts that cannot draw cards, and in notifications. */
  fallbackText?: string;
  msteams?: { width?: 'Full' };
}

export interface CardAttachment {
  contentType: typeof ADAPTIVE_CARD_CONTENT_TYPE;
  content: AdaptiveCard;
}
