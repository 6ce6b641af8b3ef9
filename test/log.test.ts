// Logs: one JSON line per event from the one logger factory, secrets censored by its one redaction list, errors with
// their stack and cause, and a job's lines bound to the job, the request and the person.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamError } from '../src/core/errors.js';
import { createLogger } from '../src/log.js';
import { SandboxCatalog } from '../src/sandbox/catalog.js';
import { eventually, Harness, stopHarness } from './support/harness.js';

/** A destination that keeps each JSON line. */
function lines(): { stream: Writable; read: () => Record<string, unknown>[] } {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, read: () => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

let h: Harness | undefined;
afterEach(async () => {
  await stopHarness(h);
  h = undefined;
});

describe('createLogger', () => {
  it('censors tokens, secrets, passwords, authorization headers, webhook URLs and parameter values', () => {
    const out = lines();
    const log = createLogger('info', out.stream);
    log.info(
      {
        token: 'xoxb-top',
        secret: 'signing-top',
        headers: { authorization: 'Bearer abc', 'x-slack-signature': 'v0=deadbeef' },
        req: { headers: { authorization: 'Basic b3BzOnRva2Vu' } },
        config: { slackFeedWebhookUrl: 'https://hooks.slack.com/services/T/B/SECRET', password: 'hunter2', botToken: 'xoxb-nested' },
        launch: { product: 'EC2 Linux', parameters: { DbPassword: 'noecho-value', InstanceType: 't3.large' } },
        parameters: { ApiKey: 'top-level-noecho' },
        url: 'https://hooks.slack.com/services/T/B/OTHER',
      },
      'with secrets',
    );
    const [line] = out.read();
    const text = JSON.stringify(line);
    for (const secret of ['xoxb-top', 'signing-top', 'Bearer abc', 'deadbeef', 'b3BzOnRva2Vu', 'SECRET', 'hunter2', 'xoxb-nested', 'noecho-value', 't3.large', 'top-level-noecho', 'OTHER']) {
      expect(text).not.toContain(secret);
    }
    // What is not secret stays, and the keys of parameters are kept.
    expect(line).toMatchObject({ msg: 'with secrets', launch: { product: 'EC2 Linux', parameters: { DbPassword: '[redacted]', InstanceType: '[redacted]' } } });
  });

  it('logs an error with its stack and its cause', () => {
    const out = lines();
    const log = createLogger('info', out.stream);
    const cause = new Error('ECONNRESET talking to slack.com');
    log.error({ err: new UpstreamError('Slack could not be reached', true, undefined, { cause }) }, 'post failed');
    const err = out.read()[0]!.err as { type: string; message: string; stack: string; retryable: boolean };
    expect(err.type).toBe('UpstreamError');
    expect(err.message).toContain('Slack could not be reached');
    expect(err.stack).toMatch(/UpstreamError: Slack could not be reached\n\s+at /);
    expect(err.stack).toContain('caused by: Error: ECONNRESET talking to slack.com');
    expect(err.retryable).toBe(true);
  });
});

describe('a job’s log lines', () => {
  it('carry the queue, the job id, the request id and the person, and the error whole', async () => {
    const out = lines();
    const catalog = new SandboxCatalog();
    catalog.searchProvisioned = async () => {
      throw new UpstreamError('Service Catalog answered AccessDeniedException', false, undefined, { cause: new Error('not authorized to perform servicecatalog:SearchProvisionedProducts') });
    };
    h = await Harness.start({ catalog, extra: { log: createLogger('warn', out.stream) } });
    await h.command('ULOGGED', 'list');
    const line = await eventually(() => out.read().find((l) => l.msg === 'interaction failed'), 'the failure logged');
    expect(line).toMatchObject({ queue: 'run-command', jobId: expect.stringMatching(/^cmd-/), requestId: expect.any(String), user: 'slack:ULOGGED', action: 'command.list' });
    const err = line.err as { stack: string };
    expect(err.stack).toContain('UpstreamError: Service Catalog answered AccessDeniedException');
    expect(err.stack).toContain('caused by: Error: not authorized to perform servicecatalog:SearchProvisionedProducts');
    // Every line is one JSON object, and none carries the bot token.
    expect(JSON.stringify(out.read())).not.toContain('xoxb-test-token');
  });
});
