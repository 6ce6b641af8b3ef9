// Bolt wiring: verified Slack requests in, acked at once, the work handed to the run-command queue.
import { App, ExpressReceiver, HTTPModuleFunctions, LogLevel, type AuthorizeSourceData, type BlockAction, type ButtonAction, type ReceiverEvent } from '@slack/bolt';
import type { Logger as BoltLogger } from '@slack/logger';
import type { Application } from 'express';
import type { Logger } from 'pino';
import type { AuditLog } from '../../core/context.js';
import { requestIdFrom } from '../../core/ids.js';
import type { RunPayload } from '../../core/interaction.js';
import type { SecretsPort } from '../../core/ports.js';
import { ACK_WAIT_MS, byDeadline, LATE, queuedInTime } from '../channel.js';
import { formRef, responseUrlAllowed, type ReplyRef } from './chat.js';
import type { Form } from '../../core/message.js';
import { ACTION_PREFIX, formValues, loadingForm, matchOptions, noticeForm, OPTIONS_PREFIX, renderForm } from './render.js';
import { commandText } from './text.js';
import { malformedPayload, MalformedPayloadError, refuseBeforeReading, SLACK_BODY_LIMIT } from './intake.js';

/** Bolt, refusing a verified payload of a shape no listener takes before any listener trips on it. */
class CheckedApp extends App {
  override async processEvent(event: ReceiverEvent): Promise<void> {
    const why = malformedPayload(event.body);
    if (why) throw new MalformedPayloadError(why);
    return super.processEvent(event);
  }
}

export interface SlackAppOptions {
  secrets: SecretsPort;
  /** The one HTTP server's app: POST /slack/events is mounted on it (HTTP mode). */
  web?: Application;
  enqueue: (p: RunPayload) => Promise<void>;
  log: Logger;
  apiUrl?: string;
  /** Socket Mode (development): Slack connects out to us, no public URL needed. */
  appToken?: string;
  /** The core's forms that a click opens at once (deny reason, transfer target), once the core has checked the clicker may. */
  formForAction?: (actionId: string, value: string, userId: string) => Promise<Form | undefined> | Form | undefined;
  /** Where requests refused for a bad signature are recorded; Bolt answers them 401 before any listener runs. */
  audit?: AuditLog;
  /** Option lists too long for a static select, stashed when their form was drawn (see SlackChat). */
  optionList?: (id: string) => Promise<string[] | undefined>;
  /** This installation's workspace (or Enterprise Grid org) and app: requests from any other are refused when set. */
  installation?: { teamId?: string; appId?: string };
}

/** Why a request is not for this installation, or undefined when it is (or nothing is configured). */
export function foreignRequest(installation: SlackAppOptions['installation'], source: Pick<AuthorizeSourceData<boolean>, 'teamId' | 'enterpriseId'>, appId: unknown): string | undefined {
  const team = installation?.teamId;
  if (team && source.teamId !== team && source.enterpriseId !== team) return `team ${source.teamId ?? source.enterpriseId ?? 'unknown'} is not ${team}`;
  if (installation?.appId && appId !== installation.appId) return `app ${typeof appId === 'string' ? appId : 'unknown'} is not ${installation.appId}`;
  return undefined;
}

/** What Bolt logs, and only then, when it answers 401 for a request's signature or timestamp. */
const SIGNATURE_REFUSED = /^Request verification failed \(code: [^,]*, message: (.*)\)$/s;

/** Bolt wants its own logger shape; route it into pino. A refused signature is also audited (see RejectedRequestAudit). */
function boltLogger(log: Logger, rejected?: RejectedRequestAudit): BoltLogger {
  const l = log.child({ component: 'bolt' });
  return {
    // Bolt logs at debug on every request: build the line only when someone reads it.
    debug: (...m: unknown[]) => l.isLevelEnabled('debug') && l.debug(m.join(' ')),
    info: (...m: unknown[]) => l.info(m.join(' ')),
    warn: (...m: unknown[]) => {
      const line = m.join(' ');
      // Bolt's one signal on its 401 path: hooking it costs nothing per genuine request, unlike a middleware would.
      const refused = rejected && SIGNATURE_REFUSED.exec(line);
      if (refused) rejected.record({ reason: refused[1]!.slice(0, 200) });
      l.warn(line);
    },
    error: (...m: unknown[]) => l.error(m.join(' ')),
    setLevel: () => {},
    getLevel: () => LogLevel.INFO,
    setName: () => {},
  };
}

function reply(ref: ReplyRef): RunPayload['reply'] {
  return { platform: 'slack', kind: 'reply', ref: JSON.stringify(ref) };
}

/** `launch` alone opens a form; the trigger expires in 3 s, so the form opens here and fills in from the job. */
export function opensForm(text: string): boolean {
  return /^\s*launch\s*$/i.test(text);
}

/**
 * Audits requests refused for their signature, at most `limit` a window; past that one summary entry counts the rest,
 * so a flood of forged requests cannot push genuine entries out of the length-capped trail.
 */
export class RejectedRequestAudit {
  private windowStart = 0;
  private written = 0;
  private suppressed = 0;
  private flushTimer?: NodeJS.Timeout;

  constructor(
    private readonly audit: AuditLog,
    private readonly log: Logger,
    private readonly o: { limit?: number; windowMs?: number; now?: () => number } = {},
  ) {}

  record(parameters: Record<string, unknown>): void {
    const now = (this.o.now ?? Date.now)();
    const windowMs = this.o.windowMs ?? 60_000;
    if (now - this.windowStart >= windowMs) {
      this.flush();
      this.windowStart = now;
      this.written = 0;
    }
    if (this.written < (this.o.limit ?? 30)) {
      this.written++;
      this.append({ actor: 'unknown', action: 'slack.signature-rejected', target: '/slack/events', parameters, outcome: 'rejected: 401' });
      return;
    }
    this.suppressed++;
    this.flushTimer ??= setTimeout(() => this.flush(), Math.max(1, this.windowStart + windowMs - now)).unref();
  }

  /** The summary of what this window did not write one by one. */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.suppressed === 0) return;
    const count = this.suppressed;
    this.suppressed = 0;
    this.append({ actor: 'unknown', action: 'slack.signature-rejected', target: '/slack/events', parameters: { more: count }, outcome: `rejected: 401 (${count} more, audited together)` });
  }

  private append(entry: Parameters<AuditLog['append']>[0]): void {
    this.audit.append(entry).catch((err: Error) => this.log.error({ err }, 'could not audit a rejected Slack request'));
  }
}

const NOT_TAKEN = ':x: scicomp could not take that just now (its queue is not answering); nothing was done. Please try again in a minute.';

/** The person is told, on the same response URL, that nothing was done (a click's ack cannot carry a message). */
async function tellNotQueued(responseUrl: string, apiUrl: string | undefined): Promise<void> {
  if (!responseUrlAllowed(responseUrl, apiUrl)) return;
  await fetch(responseUrl, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ response_type: 'ephemeral', text: NOT_TAKEN }),
  }).catch(() => undefined);
}

export function createSlackApp(o: SlackAppOptions) {
  /**
   * Acks once Redis holds the interaction: a plain 200 means it will run. If Redis has not taken it within ACK_WAIT_MS
   * (or refused it), `notTaken` answers instead that nothing was done; the inbox's deadline keeps a write that lands
   * later from running it.
   */
  const queueThenAck = async (payload: RunPayload, ack: () => Promise<void>, notTaken: () => Promise<void>, deadline?: number) => {
    if (await queuedInTime(o.enqueue, payload, o.log, deadline)) return ack();
    await notTaken();
  };

  const rejected = o.audit && new RejectedRequestAudit(o.audit, o.log);
  const logger = boltLogger(o.log, rejected);
  const signingSecret = async () => {
    const s = await o.secrets.get('slackSigningSecret');
    if (!s) throw new Error('SLACK_SIGNING_SECRET is not configured');
    return s;
  };
  // Every request passes here before any listener: one from another workspace or app is acked with nothing queued.
  const authorize = async (source: AuthorizeSourceData<boolean>, body?: unknown) => {
    const foreign = foreignRequest(o.installation, source, (body as { api_app_id?: unknown } | undefined)?.api_app_id);
    if (foreign) {
      o.log.warn({ reason: foreign, user: source.userId }, 'refused a Slack request for another installation');
      o.audit
        ?.append({ actor: `slack:${source.userId ?? 'unknown'}`, action: 'slack.foreign-request', target: '/slack/events', parameters: { teamId: source.teamId, enterpriseId: source.enterpriseId }, outcome: `refused: ${foreign}` })
        .catch((err: Error) => o.log.error({ err: err.message }, 'could not audit a refused Slack request'));
      throw new Error(`not this installation: ${foreign}`);
    }
    return { botToken: await o.secrets.get('slackBotToken') };
  };
  const clientOptions = o.apiUrl ? { slackApiUrl: o.apiUrl.replace(/\/?$/, '/') } : undefined;
  // Ahead of Bolt, which reads (and buffers) a whole body before it checks the signature.
  if (o.web && !o.appToken) {
    o.web.post(
      '/slack/events',
      refuseBeforeReading((status, why) => {
        o.log.warn({ status, reason: why }, 'refused a Slack request before reading it');
        if (status === 401) rejected?.record({ reason: why });
      }),
    );
  }
  const receiver = o.appToken
    ? undefined
    : new ExpressReceiver({
        signingSecret,
        endpoints: '/slack/events',
        logger,
        processBeforeResponse: false,
        bodyLimit: SLACK_BODY_LIMIT,
        processEventErrorHandler: async (args) => {
          if (!(args.error instanceof MalformedPayloadError)) return HTTPModuleFunctions.defaultProcessEventErrorHandler(args);
          o.log.warn({ reason: args.error.message }, 'refused a signed Slack payload scicomp does not take');
          args.response.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: args.error.message }));
          return false;
        },
        ...(o.web ? { app: o.web } : {}),
      });
  const app = o.appToken
    ? new CheckedApp({ socketMode: true, appToken: o.appToken, authorize, logger, clientOptions, convoStore: false })
    : // No listener uses Bolt's conversation store; it only costs time on every request.
      new CheckedApp({ receiver, authorize, logger, clientOptions, convoStore: false });

  app.command('/scicomp', async ({ command, ack, client }) => {
    const payload: RunPayload = {
      requestId: requestIdFrom('slack', command.trigger_id),
      platform: 'slack',
      userId: command.user_id,
      reply: reply({ url: command.response_url }),
      interaction: { type: 'command', text: commandText(command.text ?? '') },
    };
    if (opensForm(command.text ?? '')) {
      // The form opens at once (its trigger lives 3 s) and is filled in by the job; acked once Redis holds that job.
      const deadline = Date.now() + ACK_WAIT_MS;
      const opened = await client.views.open({ trigger_id: command.trigger_id, view: loadingForm('Launch a product') as never });
      const view = opened.view?.id;
      if (await queuedInTime(o.enqueue, { ...payload, formRef: view ? formRef({ view }) : undefined }, o.log, deadline)) return ack();
      await ack({ response_type: 'ephemeral', text: NOT_TAKEN });
      if (view) await client.views.update({ view_id: view, view: noticeForm('Launch a product', NOT_TAKEN) as never }).catch(() => undefined);
      return;
    }
    await queueThenAck(payload, ack, () => ack({ response_type: 'ephemeral', text: NOT_TAKEN }));
  });

  app.action<BlockAction<ButtonAction>>(new RegExp(`^${ACTION_PREFIX}`), async ({ action, body, ack, client }) => {
    if (action.type !== 'button') return ack();
    // Everything Redis is asked before the ack shares its one wait: Redis hung, the click is told so within Slack's 3 s.
    const deadline = Date.now() + ACK_WAIT_MS;
    const responseUrl = body.response_url;
    const notTaken = async () => {
      await ack();
      if (responseUrl) await tellNotQueued(responseUrl, o.apiUrl);
    };
    const checked = Promise.resolve(o.formForAction?.(action.action_id.slice(ACTION_PREFIX.length), action.value ?? '', body.user.id)).catch((err: Error) => {
      // The queued click below runs the same checks and tells the user what went wrong.
      o.log.warn({ err, action: action.action_id }, 'could not check a form click');
      return undefined;
    });
    const form = await byDeadline(checked, deadline);
    if (form === LATE) return notTaken();
    if (form) {
      await ack();
      await client.views.open({ trigger_id: body.trigger_id, view: renderForm(form) as never });
      return;
    }
    const clicked = { id: action.action_id.slice(ACTION_PREFIX.length), value: action.value ?? '' };
    await queueThenAck(
      {
        requestId: requestIdFrom('slack', body.user.id, action.action_id, action.action_ts),
        platform: 'slack',
        userId: body.user.id,
        reply: responseUrl ? reply({ url: responseUrl, replace: true }) : { platform: 'slack', kind: 'user', userId: body.user.id },
        interaction: { type: 'action', ...clicked },
        // Should the core answer with a form after all, the job may still open it with this trigger, or offer this button again.
        formRef: formRef({ trigger: body.trigger_id, at: Date.now(), reopen: clicked }),
      },
      ack,
      notTaken,
      deadline,
    );
  });

  // The product and launch-path pickers in the launch form: a change re-draws the form with that choice's parameters.
  app.action(/^(product|path)$/, async ({ body, ack, client }) => {
    if (body.type !== 'block_actions' || !body.view) return ack();
    const view = body.view;
    const formId = view.callback_id.slice(ACTION_PREFIX.length);
    await queueThenAck(
      {
        requestId: requestIdFrom('slack', view.id, view.hash ?? '', (body.actions[0] as { action_ts?: string }).action_ts ?? ''),
        platform: 'slack',
        userId: body.user.id,
        reply: { platform: 'slack', kind: 'user', userId: body.user.id },
        interaction: { type: 'form-change', formId, values: formValues(view.state as never) },
        formRef: formRef({ view: view.id }),
      },
      ack,
      // The form is not redrawn: it says so, for the person to choose again.
      async () => {
        await ack();
        await client.views.update({ view_id: view.id, view: noticeForm('Launch a product', NOT_TAKEN) as never }).catch(() => undefined);
      },
    );
  });

  app.view(new RegExp(`^${ACTION_PREFIX}`), async ({ view, body, ack }) => {
    const values = formValues(view.state as never);
    if (view.callback_id === `${ACTION_PREFIX}launch` && !values.product) {
      await ack({ response_action: 'errors', errors: { product: 'Choose a product.' } });
      return;
    }
    await queueThenAck(
      {
        requestId: requestIdFrom('slack', view.id, view.hash ?? ''),
        platform: 'slack',
        userId: body.user.id,
        reply: { platform: 'slack', kind: 'user', userId: body.user.id },
        interaction: { type: 'form-submit', formId: view.callback_id.slice(ACTION_PREFIX.length), values, state: view.private_metadata ?? '' },
      },
      () => ack(),
      // The form stays open with what was typed, the reason under its first input, for the person to submit again.
      async () => {
        const first = Object.keys(view.state.values ?? {})[0];
        await (first ? ack({ response_action: 'errors', errors: { [first]: NOT_TAKEN } }) : ack());
      },
    );
  });

  // A long select (over 100 values) asks as the person types; answered from Redis at once, never from AWS.
  app.options(new RegExp(`^${OPTIONS_PREFIX}`), async ({ options, ack }) => {
    const id = options.action_id.slice(OPTIONS_PREFIX.length);
    const list = (await o.optionList?.(id)) ?? [];
    await ack({ options: matchOptions(list, options.value ?? '') });
  });

  app.error(async (err) => {
    o.log.error({ err }, 'slack listener failed');
  });

  return { app, receiver };
}
