// Parses the words of a command (after the slash command in Slack, a message to the bot in Teams) into one typed command.
import type { CommandText } from './channel.js';
import type { Person } from './context.js';
import { UserInputError } from './errors.js';

/** A command as typed: the people it names are still words (a mention, @handle or email) only their platform can resolve. */
export type RawCommand =
  | { verb: 'help'; topic?: string }
  | { verb: 'products' }
  | { verb: 'launch'; product?: string; name?: string; params: Record<string, string> }
  | { verb: 'list' }
  | { verb: 'status'; name: string }
  | { verb: 'connect'; name: string }
  | { verb: 'update'; name: string; params: Record<string, string> }
  | { verb: 'terminate'; name: string }
  | { verb: 'transfer'; name: string; to: string }
  | { verb: 'restore'; name: string }
  | { verb: 'budget' }
  | { verb: 'snooze'; name: string; duration: string }
  | { verb: 'approvals' }
  | { verb: 'offboard'; user: string }
  | { verb: 'audit'; target?: string }
  | { verb: 'reload' };

/** What `audit` is asked about: a person's entries, or a product's. */
export type AuditTarget = { person: Person } | { product: string };

/** A command with the people it names resolved to persons, as the core handles it. */
export type Command =
  | Exclude<RawCommand, { verb: 'transfer' | 'offboard' | 'audit' }>
  | { verb: 'transfer'; name: string; to: Person }
  | { verb: 'offboard'; user: Person }
  | { verb: 'audit'; target?: AuditTarget };

export type Verb = RawCommand['verb'];

export const VERBS: readonly Verb[] = [
  'help', 'products', 'launch', 'list', 'status', 'connect', 'update', 'terminate',
  'transfer', 'restore', 'budget', 'snooze', 'approvals', 'offboard', 'audit', 'reload',
];

/** Splits on white space, keeping "quoted phrases" (straight or typographic quotes) together, also inside key="a value". */
export function tokenize(text: string): string[] {
  const normalised = text.replace(/[\u201C\u201D\u201E\u00AB\u00BB]/g, '"').replace(/[\u2018\u2019]/g, "'");
  const tokens: string[] = [];
  let current = '';
  let inToken = false;
  let quote: string | undefined;
  for (const ch of normalised) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inToken = true;
    } else if (/\s/.test(ch)) {
      if (inToken) tokens.push(current);
      current = '';
      inToken = false;
    } else {
      current += ch;
      inToken = true;
    }
  }
  if (inToken) tokens.push(current);
  return tokens;
}

const KEY_VALUE = /^([A-Za-z][A-Za-z0-9_.:-]*)=(.*)$/s;

function splitParams(tokens: string[]): { positional: string[]; params: Record<string, string> } {
  const positional: string[] = [];
  const params: Record<string, string> = {};
  for (const token of tokens) {
    const kv = KEY_VALUE.exec(token);
    if (kv) {
      const [, key, value] = kv as unknown as [string, string, string];
      if (key in params) throw new UserInputError(`${key} is given twice.`);
      params[key] = value;
    } else {
      if (Object.keys(params).length > 0) {
        // Not quoted back: a value typed apart from its key (`Password= s3cret`) may be a NoEcho one.
        throw new UserInputError('A word comes after the key=value parameters; put the product and name first, and quote values with spaces.');
      }
      positional.push(token);
    }
  }
  return { positional, params };
}

function usage(say: CommandText, verb: Verb, form: string): UserInputError {
  return new UserInputError(`Usage: ${say(`${verb} ${form}`)}`, say(`help ${verb}`));
}

/** `text` is what the person typed after the command's name; `say` names commands in what they are told, as their channel does. */
export function parseCommand(text: string, say: CommandText): RawCommand {
  const exactly = (verb: Verb, positional: string[], params: Record<string, string>, count: number, form: string): string[] => {
    if (positional.length !== count || Object.keys(params).length > 0) throw usage(say, verb, form);
    return positional;
  };
  const [first, ...rest] = tokenize(text.trim());
  const verb = (first ?? 'help').toLowerCase();
  const { positional, params } = splitParams(rest);
  switch (verb) {
    case 'help':
      return positional[0] ? { verb, topic: positional[0].toLowerCase() } : { verb };
    case 'products':
    case 'list':
    case 'budget':
    case 'approvals':
    case 'reload':
      exactly(verb, positional, params, 0, '');
      return { verb };
    case 'launch': {
      if (positional.length > 2) {
        throw new UserInputError(
          `launch takes a product, a name, then key=value parameters; I could not place the ${positional.length - 2 === 1 ? 'word' : `${positional.length - 2} words`} after the name.`,
          `Quote product names that contain spaces: ${say('launch "EC2 Linux" my-box InstanceType=t3.large')}`,
        );
      }
      return { verb, product: positional[0], name: positional[1], params };
    }
    case 'status':
    case 'connect':
    case 'terminate':
    case 'restore': {
      const [name] = exactly(verb, positional, params, 1, verb === 'restore' ? '<bucket>' : '<name>');
      return { verb, name: name! };
    }
    case 'update': {
      if (positional.length !== 1) throw usage(say, verb, '<name> key=value …');
      if (Object.keys(params).length === 0) throw new UserInputError(`Say what to change: ${say('update <name> key=value …')}`);
      return { verb, name: positional[0]!, params };
    }
    case 'transfer': {
      const [name, to] = exactly(verb, positional, params, 2, '<name> <@user>');
      return { verb, name: name!, to: to! };
    }
    case 'snooze': {
      const [name, duration] = exactly(verb, positional, params, 2, '<name> <duration, e.g. 24h>');
      return { verb, name: name!, duration: duration! };
    }
    case 'offboard': {
      const [user] = exactly(verb, positional, params, 1, '<@user>');
      return { verb, user: user! };
    }
    case 'audit': {
      if (positional.length > 1 || Object.keys(params).length > 0) throw usage(say, verb, '[<@user>|<name>]');
      return positional[0] ? { verb, target: positional[0] } : { verb };
    }
    default:
      // A key=value typed first is named by its key alone: its value may be a NoEcho one.
      throw new UserInputError(`"${KEY_VALUE.test(first ?? '') ? `${first!.split('=')[0]}=…` : first}" is not a scicomp command.`, `Try ${say('help')}. Commands: ${VERBS.join(', ')}.`);
  }
}

/**
 * Resolves the people a command names through `find` (the platform's own look-up, which refuses no one or several). An
 * audit target is a person when it holds an @ (product names never do) or the platform knows it as one; otherwise a product.
 */
export async function resolveCommand(cmd: RawCommand, find: (text: string) => Promise<Person>): Promise<Command> {
  switch (cmd.verb) {
    case 'transfer':
      return { ...cmd, to: await find(cmd.to) };
    case 'offboard':
      return { ...cmd, user: await find(cmd.user) };
    case 'audit': {
      const { target } = cmd;
      if (target === undefined) return { verb: 'audit' };
      if (target.includes('@')) return { verb: 'audit', target: { person: await find(target) } };
      try {
        return { verb: 'audit', target: { person: await find(target) } };
      } catch (err) {
        if (err instanceof UserInputError) return { verb: 'audit', target: { product: target } };
        throw err;
      }
    }
    default:
      return cmd;
  }
}
