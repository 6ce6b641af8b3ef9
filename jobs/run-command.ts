// Runs one user interaction (command, click, form) through the core off the HTTP path, and answers privately.
import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Store } from '../src/adapters/redis/store.js';
import type { Answer, Bot } from '../src/core/bot.js';
import { parseCommand, type Command } from '../src/core/command.js';
import type { AuditLog, Ctx, Outbox } from '../src/core/context.js';
import { resolveActor } from '../src/core/directory.js';
import { UpstreamError, UserInputError, isUserFacing } from '../src/core/errors.js';
import type { Message } from '../src/core/message.js';
import type { Policy } from '../src/core/policy.js';
import type { Address, ChatPort, Platform } from '../src/core/ports.js';
import { QUEUE } from './queues.js';

export const name = QUEUE.command;

export type Interaction =
  | { type: 'command'; text: string }
  | { type: 'action'; id: string; value: string }
  | { type: 'form-change'; formId: string; values: Record<string, string | undefined> }
  | { type: 'form-submit'; formId: string; values: Record<string, string | undefined>; state: string };

export interface RunPayload {
  requestId: string;
  platform: Platform;
  userId: string;
  reply: Address;
  interaction: Interaction;
  /** A form already open on the user's screen (Slack view id) that the answer's form replaces. */
  formRef?: string;
}
export type Payload = RunPayload;

export interface Deps {
  bot: Bot;
  chats: Partial<Record<Platform, ChatPort>>;
  outbox: Outbox;
  store: Store;
  audit: AuditLog;
  policy: () => Policy;
  log: Logger;
}

export function errorMessage(err: UserInputError | Error): Message {
  const hint = err instanceof UserInputError && err.hint ? [err.hint] : undefined;
  return { text: err.message, tone: 'error', context: hint };
}

function describe(i: Interaction): { action: string; target?: string; cmd?: Command } {
  switch (i.type) {
    case 'command': {
      try {
        const cmd = parseCommand(i.text);
        const target = 'name' in cmd ? cmd.name : 'product' in cmd ? cmd.product : undefined;
        return { action: `command.${cmd.verb}`, target, cmd };
      } catch {
        return { action: 'command.invalid', target: i.text.slice(0, 80) };
      }
    }
    case 'action':
      return { action: `click.${i.id}`, target: i.value };
    default:
      return { action: `${i.type}.${i.formId}` };
  }
}

async function answer(p: RunPayload, ctx: Ctx, bot: Bot): Promise<Answer> {
  const i = p.interaction;
  switch (i.type) {
    case 'command':
      return bot.command(parseCommand(i.text), ctx);
    case 'action':
      return bot.action(i.id, i.value, ctx);
    case 'form-change':
      return bot.formChange(i.formId, i.values, ctx);
    case 'form-submit':
      return bot.formSubmit(i.formId, i.values, i.state, ctx);
  }
}

export async function process(job: Job<Payload>, deps: Deps): Promise<string> {
  const p = job.data;
  const chat = deps.chats[p.platform];
  if (!chat) throw new UnrecoverableError(`no chat adapter for ${p.platform}`);
  const reply = (message: Message, suffix = 'reply') => deps.outbox.send({ key: `${suffix}:${p.requestId}`, to: p.reply, message });
  const { action, target } = describe(p.interaction);
  const who = `${p.platform}:${p.userId}`;
  try {
    const actor = await resolveActor(p.platform, p.userId, { chat, store: deps.store, policy: deps.policy });
    const result = await answer(p, { actor, requestId: p.requestId, reply: p.reply }, deps.bot);
    if (result.form) {
      if (p.formRef) await chat.updateForm(p.formRef, result.form);
      else await chat.openForm(p.requestId, result.form);
    }
    if (result.message) await reply(result.message);
    await deps.audit.append({ actor: who, action, target, outcome: 'ok', requestId: p.requestId });
    return 'ok';
  } catch (err) {
    if (isUserFacing(err)) {
      await reply(errorMessage(err));
      await deps.audit.append({ actor: who, action, target, outcome: `refused: ${err.message}`, requestId: p.requestId });
      return 'refused';
    }
    const attempts = job.opts.attempts ?? 1;
    const retryable = err instanceof UpstreamError ? err.retryable : true;
    if (retryable && job.attemptsMade + 1 < attempts) throw err;
    deps.log.error({ err, requestId: p.requestId, action }, 'interaction failed');
    await reply({ text: 'AWS or the chat platform is not answering right now, so nothing was done. Please try again in a few minutes.', tone: 'error' }, 'failure');
    await deps.audit.append({ actor: who, action, target, outcome: `failed: ${(err as Error).name}`, requestId: p.requestId });
    throw new UnrecoverableError((err as Error).message);
  }
}
