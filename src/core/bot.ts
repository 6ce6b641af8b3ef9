// The one entry point of the core: a command, a click or a form submission in, a platform-neutral answer out.
import { cachedProducts } from './catalog-cache.js';
import type { Command, Verb } from './command.js';
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

/** The command of one verb, e.g. `CommandOf<'status'>` is `{ verb: 'status'; name: string }`. */
export type CommandOf<V extends Verb> = Extract<Command, { verb: V }>;
export type VerbHandler<V extends Verb> = (cmd: CommandOf<V>, ctx: Ctx, deps: CoreDeps) => Promise<Answer>;
/** Every verb's handler: a verb added to Command and not handled here does not compile. */
export type VerbHandlers = { [V in Verb]: VerbHandler<V> };
export type ActionHandler = (value: string, ctx: Ctx, deps: CoreDeps) => Promise<Answer>;
export type FormHandler = (values: Record<string, string | undefined>, state: string, ctx: Ctx, deps: CoreDeps) => Promise<Answer>;

/** What a capability (approvals, alerts) adds to the core: its verbs, buttons and forms, and how a launch reaches IT. */
export interface Extensions {
  verbs?: Partial<VerbHandlers>;
  actions?: Record<string, ActionHandler>;
  forms?: Record<string, FormHandler>;
  routeApproval?: ApprovalRouter;
  routeUpdate?: UpdateApprovalRouter;
}

export interface Handlers {
  verbs: VerbHandlers;
  actions: Record<string, ActionHandler>;
  forms: Record<string, FormHandler>;
}

type CoreVerb = 'help' | 'products' | 'launch' | 'list' | 'status' | 'connect' | 'update' | 'terminate';

/** The core's own verbs: what to launch and the lifecycle of what one owns. */
export function coreVerbs(routeApproval?: ApprovalRouter): Pick<VerbHandlers, CoreVerb> {
  return {
    help: async (cmd, ctx, deps) => ({ message: help(cmd.topic, deps.channels.commands(ctx.actor.platform)) }),
    products: async (_cmd, ctx, deps) => ({ message: await products(ctx, deps) }),
    launch: async (cmd, ctx, deps) => {
      if (!cmd.product && !cmd.name && Object.keys(cmd.params).length === 0) return { form: await launchForm(ctx, deps) };
      return { message: await launch(cmd, ctx, deps, routeApproval) };
    },
    list: async (_cmd, ctx, deps) => ({ message: await list(ctx, deps) }),
    status: async (cmd, ctx, deps) => ({ message: await status(cmd.name, ctx, deps) }),
    connect: async (cmd, ctx, deps) => ({ message: await connect(cmd.name, ctx, deps) }),
    update: async (cmd, ctx, deps) => ({ message: await update(cmd.name, cmd.params, ctx, deps) }),
    terminate: async (cmd, ctx, deps) => ({ message: await terminate(cmd.name, ctx, deps) }),
  };
}

/** The core's own buttons: the answer to "are you sure?" of an update or a termination (an update may go to IT). */
export function coreActions(routeUpdate?: UpdateApprovalRouter): Record<string, ActionHandler> {
  return {
    confirm: async (value, ctx, deps) => ({ message: await decideConfirmation(value, true, ctx, deps, routeUpdate) }),
    cancel: async (value, ctx, deps) => ({ message: await decideConfirmation(value, false, ctx, deps, routeUpdate) }),
  };
}

/** The core's own form: launch. */
export function coreForms(routeApproval?: ApprovalRouter): Record<string, FormHandler> {
  return {
    launch: async (values, state, ctx, deps) => {
      const req = formToRequest(values, await cachedProducts(deps), JSON.parse(state || '{}') as LaunchFormState);
      return { message: await launch(req, ctx, deps, routeApproval) };
    },
  };
}

/** One verb's handler called with its own command: the table's type ties the two together. */
function run<V extends Verb>(verbs: VerbHandlers, verb: V, cmd: CommandOf<V>, ctx: Ctx, deps: CoreDeps): Promise<Answer> {
  return verbs[verb](cmd, ctx, deps);
}

export class Bot {
  constructor(
    readonly deps: CoreDeps,
    private readonly handlers: Handlers,
  ) {}

  async command(cmd: Command, ctx: Ctx): Promise<Answer> {
    return run(this.handlers.verbs, cmd.verb, cmd, ctx, this.deps);
  }

  async action(id: string, value: string, ctx: Ctx): Promise<Answer> {
    const handler = Object.hasOwn(this.handlers.actions, id) ? this.handlers.actions[id] : undefined;
    if (!handler) throw new UserInputError('That button is no longer understood; run the command again.');
    return handler(value, ctx, this.deps);
  }

  /** A change of the product or launch-path picker re-draws the launch form for that choice. */
  async formChange(formId: string, values: Record<string, string | undefined>, ctx: Ctx): Promise<Answer> {
    if (formId !== 'launch') throw new UserInputError('That form is no longer understood; run the command again.');
    const products = await cachedProducts(this.deps);
    const productId = products.find((p) => p.name === values.product)?.id;
    return { form: await launchForm(ctx, this.deps, productId, values) };
  }

  async formSubmit(formId: string, values: Record<string, string | undefined>, state: string, ctx: Ctx): Promise<Answer> {
    const handler = Object.hasOwn(this.handlers.forms, formId) ? this.handlers.forms[formId] : undefined;
    if (!handler) throw new UserInputError('That form is no longer understood; run the command again.');
    return handler(values, state, ctx, this.deps);
  }
}
