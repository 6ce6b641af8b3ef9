// Runs one user interaction (command, click, form) through the core off the HTTP path, and answers privately.
import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Answer, Bot } from '../src/core/bot.js';
import type { Channels, CommandText } from '../src/core/channel.js';
import { parseCommand, resolveCommand, tokenize, VERBS, type RawCommand } from '../src/core/command.js';
import type { AuditLog, Ctx, Outbox, People } from '../src/core/context.js';
import { UpstreamError, UserInputError, isUserFacing } from '../src/core/errors.js';
import type { Interaction, Payload, QueuedPayload, RunPayload } from '../src/core/interaction.js';
import type { Message } from '../src/core/message.js';
import type { Sealer } from '../src/core/sealed.js';
import { QUEUE } from './queues.js';

export const name = QUEUE.command;

export type { Interaction, Payload, QueuedPayload, RunPayload };

export async function sealPayload(p: RunPayload, sealer: Sealer): Promise<QueuedPayload> {
  const { interaction, ...rest } = p;
  return { ...rest, sealed: await sealer.seal(JSON.stringify(interaction)) };
}

async function openPayload(p: Payload, sealer: Sealer): Promise<RunPayload> {
  if (!('sealed' in p)) return p;
  const { sealed, ...rest } = p;
  return { ...rest, interaction: JSON.parse(await sealer.open(sealed)) as Interaction };
}

export interface Deps {
  bot: Bot;
  channels: Channels;
  outbox: Outbox;
  /** Resolves who acts, and the people a command names, before the core sees them. */
  people: People;
  audit: AuditLog;
  log: Logger;
  sealer: Sealer;
}

export function errorMessage(err: UserInputError | Error): Message {
  const hint = err instanceof UserInputError && err.hint ? [err.hint] : undefined;
  return { text: err.message, tone: 'error', context: hint };
}

interface Described {
  action: string;
  target?: string;
  parameters?: Record<string, unknown>;
  cmd?: RawCommand;
}

/**
 * What an unparsable command is recorded as: its verb and parameter keys. Unparsed, nothing tells which of its values
 * are NoEcho, so no value (nor any other word of it) is recorded.
 */
export function outlineOfInvalid(text: string): { verb: string; keys: string[] } {
  const [first, ...rest] = tokenize(text.trim());
  const verb = VERBS.find((v) => v === first?.toLowerCase()) ?? 'unknown';
  return { verb, keys: rest.flatMap((t) => /^([A-Za-z][A-Za-z0-9_.:-]*)=/.exec(t)?.[1] ?? []) };
}

function describe(i: Interaction, say: CommandText): Described {
  switch (i.type) {
    case 'command': {
      try {
        const cmd = parseCommand(i.text, say);
        const target = 'name' in cmd ? cmd.name : 'product' in cmd ? cmd.product : undefined;
        return { action: `command.${cmd.verb}`, target, cmd };
      } catch {
        return { action: 'command.invalid', parameters: outlineOfInvalid(i.text) };
      }
    }
    case 'action':
      return { action: `click.${i.id}`, target: i.value };
    default:
      return { action: `${i.type}.${i.formId}` };
  }
}

async function answer(p: RunPayload, ctx: Ctx, bot: Bot, people: People, say: CommandText): Promise<Answer> {
  const i = p.interaction;
  switch (i.type) {
    case 'command':
      return bot.command(await resolveCommand(parseCommand(i.text, say), (text) => people.find(p.platform, text)), ctx);
    case 'action':
      return bot.action(i.id, i.value, ctx);
    case 'form-change':
      return bot.formChange(i.formId, i.values, ctx);
    case 'form-submit':
      return bot.formSubmit(i.formId, i.values, i.state, ctx);
  }
}

export async function process(job: Job<Payload>, deps: Deps): Promise<string> {
  const q = job.data;
  const channel = deps.channels.get(q.platform);
  if (!channel) throw new UnrecoverableError(`no chat channel for ${q.platform}`);
  const reply = (message: Message, suffix = 'reply') => deps.outbox.send({ key: `${suffix}:${q.requestId}`, to: q.reply, message });
  const who = `${q.platform}:${q.userId}`;
  // Until it is opened (a data key Secrets Manager cannot give just now is retried), all that is known is that one came.
  let described: Described = { action: 'interaction' };
  let actorEmail: string | undefined;
  const audit = (outcome: string) =>
    deps.audit.append({ actor: who, actorEmail, action: described.action, target: described.target, parameters: described.parameters, outcome, requestId: q.requestId });
  try {
    const p = await openPayload(q, deps.sealer);
    described = describe(p.interaction, channel.commandText);
    const actor = await deps.people.actor(p.platform, p.userId);
    actorEmail = actor.email;
    const result = await answer(p, { actor, requestId: p.requestId, reply: p.reply }, deps.bot, deps.people, channel.commandText);
    // Whoever acted sees the form; a channel that needs a trigger or an open view kept it in formRef.
    if (result.form) await channel.chat.showForm({ userId: p.userId, reply: p.reply, ref: p.formRef }, result.form);
    if (result.message) await reply(result.message);
    await audit('ok');
    return 'ok';
  } catch (err) {
    if (isUserFacing(err)) {
      await reply(errorMessage(err));
      // A parse error may quote any word of the command: the outline (verb and keys) is all an invalid one leaves.
      await audit(described.action === 'command.invalid' ? 'refused: not a valid command' : `refused: ${err.message}`);
      return 'refused';
    }
    const attempts = job.opts.attempts ?? 1;
    const retryable = err instanceof UpstreamError ? err.retryable : true;
    if (retryable && job.attemptsMade + 1 < attempts) throw err;
    deps.log.error({ err, requestId: q.requestId, action: described.action }, 'interaction failed');
    await reply({ text: 'AWS or the chat platform is not answering right now, so nothing was done. Please try again in a few minutes.', tone: 'error' }, 'failure');
    await audit(`failed: ${(err as Error).name}`);
    throw new UnrecoverableError((err as Error).message);
  }
}
