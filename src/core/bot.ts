// The one entry point of the core: a command, a click or a form submission in, a platform-neutral answer out.
import { cachedProducts } from './catalog-cache.js';
import type { Command } from './command.js';
import type { CoreDeps, Ctx } from './context.js';
import { UserInputError } from './errors.js';
import { help, products } from './help.js';
import { formToRequest, launch, launchForm, type ApprovalRouter, type LaunchFormState } from './launch.js';
import { connect, decideConfirmation, list, status, terminate, update, type UpdateApprovalRouter } from './lifecycle.js';
import type { Form, Message } from './message.js';

/** What a handler answers: a private message, a form to show, or both. */
export interface Answer {
  message?: Message;
  form?: Form;
}

/** Verbs added by later capabilities (approvals, alerts) register here, keeping this dispatcher closed for edits. */
export type VerbHandler = (cmd: Command, ctx: Ctx, deps: CoreDeps) => Promise<Answer>;
export type ActionHandler = (value: string, ctx: Ctx, deps: CoreDeps) => Promise<Answer>;

export type FormHandler = (values: Record<string, string | undefined>, state: string, ctx: Ctx, deps: CoreDeps) => Promise<Answer>;

export interface Extensions {
  verbs?: Partial<Record<Command['verb'], VerbHandler>>;
  actions?: Record<string, ActionHandler>;
  forms?: Record<string, FormHandler>;
  routeApproval?: ApprovalRouter;
  routeUpdate?: UpdateApprovalRouter;
}

export class Bot {
  constructor(
    readonly deps: CoreDeps,
    private readonly ext: Extensions = {},
  ) {}

  async command(cmd: Command, ctx: Ctx): Promise<Answer> {
    const extra = this.ext.verbs?.[cmd.verb];
    if (extra) return extra(cmd, ctx, this.deps);
    const d = this.deps;
    switch (cmd.verb) {
      case 'help':
        return { message: help(cmd.topic) };
      case 'products':
        return { message: await products(ctx, d) };
      case 'launch':
        if (!cmd.product && !cmd.name && Object.keys(cmd.params).length === 0) return { form: await launchForm(ctx, d) };
        return { message: await launch(cmd, ctx, d, this.ext.routeApproval) };
      case 'list':
        return { message: await list(ctx, d) };
      case 'status':
        return { message: await status(cmd.name, ctx, d) };
      case 'connect':
        return { message: await connect(cmd.name, ctx, d) };
      case 'update':
        return { message: await update(cmd.name, cmd.params, ctx, d) };
      case 'terminate':
        return { message: await terminate(cmd.name, ctx, d) };
      default:
        throw new UserInputError(`/scicomp ${cmd.verb} is not available yet on this installation.`, '/scicomp help lists what is.');
    }
  }

  async action(id: string, value: string, ctx: Ctx): Promise<Answer> {
    const extra = this.ext.actions?.[id];
    if (extra) return extra(value, ctx, this.deps);
    switch (id) {
      case 'confirm':
      case 'cancel':
        return { message: await decideConfirmation(value, id === 'confirm', ctx, this.deps, this.ext.routeUpdate) };
      default:
        throw new UserInputError('That button is no longer understood; run the command again.');
    }
  }

  /** A change of the product or launch-path picker re-draws the launch form for that choice. */
  async formChange(formId: string, values: Record<string, string | undefined>, ctx: Ctx): Promise<Answer> {
    if (formId !== 'launch') throw new UserInputError('That form is no longer understood; run the command again.');
    const products = await cachedProducts(this.deps);
    const productId = products.find((p) => p.name === values.product)?.id;
    return { form: await launchForm(ctx, this.deps, productId, values) };
  }

  async formSubmit(formId: string, values: Record<string, string | undefined>, state: string, ctx: Ctx): Promise<Answer> {
    const extra = this.ext.forms?.[formId];
    if (extra) return extra(values, state, ctx, this.deps);
    if (formId !== 'launch') throw new UserInputError('That form is no longer understood; run the command again.');
    const products = await cachedProducts(this.deps);
    const req = formToRequest(values, products, JSON.parse(state || '{}') as LaunchFormState);
    return { message: await launch(req, ctx, this.deps, this.ext.routeApproval) };
  }
}
