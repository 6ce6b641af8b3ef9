import { describe, expect, it } from 'vitest';
import { parseCommand as parseFor, resolveCommand, tokenize } from '../../src/core/command.js';
import type { Person } from '../../src/core/context.js';
import { UserInputError } from '../../src/core/errors.js';

/** Commands as Slack names them, in what the person is told. */
const parseCommand = (text: string) => parseFor(text, (words) => `/scicomp ${words}`);

describe('tokenize', () => {
  it('keeps quoted product names together, including Slack’s typographic quotes', () => {
    expect(tokenize('launch "EC2 Linux" box')).toEqual(['launch', 'EC2 Linux', 'box']);
    expect(tokenize('launch \u201CS3 Private Encrypted Bucket\u201D data')).toEqual(['launch', 'S3 Private Encrypted Bucket', 'data']);
  });

  it('joins key="quoted value"', () => {
    expect(tokenize('launch p n Note="two words"')).toEqual(['launch', 'p', 'n', 'Note=two words']);
  });
});

describe('parseCommand', () => {
  it('parses launch with product, name and parameters', () => {
    expect(parseCommand('launch "EC2 Linux" analysis InstanceType=t3.large VolumeSize=100')).toEqual({
      verb: 'launch',
      product: 'EC2 Linux',
      name: 'analysis',
      params: { InstanceType: 't3.large', VolumeSize: '100' },
    });
  });

  it('treats an empty text as help and verbs case-insensitively', () => {
    expect(parseCommand('')).toEqual({ verb: 'help' });
    expect(parseCommand('LIST')).toEqual({ verb: 'list' });
  });

  it('parses the one-argument verbs', () => {
    expect(parseCommand('terminate jdoe-box')).toEqual({ verb: 'terminate', name: 'jdoe-box' });
    expect(parseCommand('transfer box <@U123|bob>')).toEqual({ verb: 'transfer', name: 'box', to: '<@U123|bob>' });
  });

  it.each([
    ['frobnicate', /not a scicomp command/],
    ['status', /Usage: \/scicomp status <name>/],
    ['status a b', /Usage/],
    ['update box', /Say what to change: \/scicomp update <name> key=value/],
    ['update box InstanceType=t3.large InstanceType=m5.large', /given twice/],
    ['launch "EC2 Linux" box extra', /could not place the word after the name/],
    ['launch "EC2 Linux" A=1 box', /A word comes after the key=value/],
  ])('refuses %j with a specific message', (text, message) => {
    expect(() => parseCommand(text)).toThrow(UserInputError);
    expect(() => parseCommand(text)).toThrow(message);
  });

  it.each([
    ['DbPassword=s3cret launch', /"DbPassword=…" is not a scicomp command/],
    ['launch "EC2 Notebook" nb DbPassword= s3cret', /A word comes after the key=value/],
    ['launch "EC2 Notebook" DbPassword s3cret', /could not place the word after the name/],
  ])('never quotes a word that may be a NoEcho value: %j', (text, message) => {
    expect(() => parseCommand(text)).toThrow(message);
    expect(() => parseCommand(text)).not.toThrow(/s3cret/);
  });
});

describe('resolveCommand', () => {
  const bob: Person = { email: 'bob@synapse.org', name: 'Bob', username: 'bob', handles: [{ platform: 'slack', userId: 'UBOB' }] };
  /** The platform's look-up: knows bob by mention, @handle or email, refuses anything else. */
  const find = async (text: string): Promise<Person> => {
    if (['<@UBOB>', '@bob', 'bob@synapse.org', 'UBOB'].includes(text)) return bob;
    throw new UserInputError(`"${text}" is not a user.`);
  };

  it('hands the core persons, not the words that named them', async () => {
    expect(await resolveCommand(parseCommand('transfer box <@UBOB>'), find)).toEqual({ verb: 'transfer', name: 'box', to: bob });
    expect(await resolveCommand(parseCommand('offboard bob@synapse.org'), find)).toEqual({ verb: 'offboard', user: bob });
    expect(await resolveCommand(parseCommand('list'), find)).toEqual({ verb: 'list' });
  });

  it('refuses a command naming no one the platform knows', async () => {
    await expect(resolveCommand(parseCommand('transfer box nobody'), find)).rejects.toThrow('"nobody" is not a user.');
    await expect(resolveCommand(parseCommand('offboard @nobody'), find)).rejects.toThrow(UserInputError);
  });

  it('reads an audit target as a person when it holds an @ or the platform knows it, else as a product', async () => {
    expect(await resolveCommand(parseCommand('audit @bob'), find)).toEqual({ verb: 'audit', target: { person: bob } });
    expect(await resolveCommand(parseCommand('audit UBOB'), find)).toEqual({ verb: 'audit', target: { person: bob } });
    expect(await resolveCommand(parseCommand('audit jdoe-box'), find)).toEqual({ verb: 'audit', target: { product: 'jdoe-box' } });
    expect(await resolveCommand(parseCommand('audit'), find)).toEqual({ verb: 'audit' });
    // A name with an @ is a person: a wrong one is said so, not searched for as a product.
    await expect(resolveCommand(parseCommand('audit @nobody'), find)).rejects.toThrow('"@nobody" is not a user.');
  });
});

describe('parseCommand, named by the channel', () => {
  it('tells a person the command as their channel names it', () => {
    expect(() => parseFor('status', (w) => w)).toThrow(/^Usage: status <name>$/);
    const refused = (() => {
      try {
        parseFor('frobnicate', (w) => w);
      } catch (err) {
        return err as UserInputError;
      }
    })();
    expect(refused?.hint).toMatch(/^Try help\. Commands:/);
  });
});
