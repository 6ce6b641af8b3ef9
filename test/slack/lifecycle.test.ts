// A researcher's whole day through Slack's own door: signed slash commands and clicks in, recorded Web API calls out.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UpstreamError } from '../../src/core/errors.js';
import type { CatalogPort } from '../../src/core/ports.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually, Harness, SIGNING_SECRET } from '../support/harness.js';
import { sign, slashCommandBody } from '../support/signed.js';

const ALICE = 'UALICE';
const BOB = 'UBOB';

let h: Harness;
let sandbox: SandboxCatalog;

beforeAll(async () => {
  sandbox = new SandboxCatalog({ provisionMs: 300 });
  h = await Harness.start({ catalog: sandbox });
  // Alice's instance, which most tests below list, inspect, update or are refused: launched once, before any of them.
  const { responseId } = await h.command(ALICE, 'launch "EC2 Linux" box InstanceType=t3.large');
  await reply(responseId, 'launch reply');
  await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-box is ready')), 'ualice-box ready');
});

afterAll(async () => {
  await dropPrefix(h.app);
  await h.close();
});

async function reply(responseId: string, what: string): Promise<string> {
  return eventually(() => h.replies(responseId).join('\n'), what);
}

function confirmationId(text: string): string {
  const body = JSON.parse(text) as { blocks: { type: string; elements?: { action_id: string; value: string }[] }[] };
  const button = body.blocks.flatMap((b) => b.elements ?? []).find((e) => e.action_id === 'scicomp:confirm');
  if (!button) throw new Error(`no confirm button in ${text}`);
  return button.value;
}

describe('help and products', () => {
  it('answers help privately', async () => {
    const { res, responseId } = await h.command(ALICE, 'help');
    expect(res.status).toBe(200);
    const text = await reply(responseId, 'help reply');
    expect(text).toContain('scicomp commands');
    expect(text).toContain('/scicomp launch [product] [name] [key=value …]');
    expect(JSON.parse(h.replies(responseId)[0]!).response_type).toBe('ephemeral');
  });

  it('lists products with versions and approval', async () => {
    const { responseId } = await h.command(ALICE, 'products');
    const text = await reply(responseId, 'products reply');
    expect(text).toContain('EC2 Linux');
    expect(text).toContain('v1.1.0');
    expect(text).toContain('approval when InstanceType is m5.xlarge/c5.2xlarge or VolumeSize &gt; 500');
    expect(text).toContain('S3 Private Encrypted Bucket');
  });
});

describe('launch, list, status, connect', () => {
  it('provisions and reports progress and outputs in the DM', async () => {
    const { responseId } = await h.command(ALICE, 'launch "EC2 Linux" fresh InstanceType=t3.large');
    expect(await reply(responseId, 'launch reply')).toContain('Launching ualice-fresh');
    const done = await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-fresh is ready')), 'ready message in DM');
    expect(done).toMatch(/InstanceId/);
    expect(done).toMatch(/aws ssm start-session --profile service-catalog --target i-[0-9a-f]{17}/);
    const mine = (await sandbox.searchProvisioned()).filter((p) => p.name === 'ualice-fresh');
    expect(mine).toHaveLength(1);
    expect(mine[0]!.tags).toMatchObject({ OwnerEmail: 'ualice@synapse.org', Department: 'Research', Project: 'scicomp' });
  });

  it('lists only the caller’s own products', async () => {
    const { responseId } = await h.command(ALICE, 'list');
    expect(await reply(responseId, 'list')).toContain('ualice-box');
    const bob = await h.command(BOB, 'list');
    const text = await reply(bob.responseId, 'bob list');
    expect(text).toContain('You have no provisioned products');
    expect(text).not.toContain('ualice-box');
  });

  it('shows status with outputs and the last record', async () => {
    const { responseId } = await h.command(ALICE, 'status box');
    const text = await reply(responseId, 'status');
    expect(text).toContain('AVAILABLE');
    expect(text).toContain('PROVISION_PRODUCT SUCCEEDED');
    expect(text).toContain('InstanceId');
    // What watches it, as SPEC's status lists: its alarms and the owner's spend.
    expect(text).toContain('CPU &gt; 95 %, idle &lt; 5 %, memory &gt; 85 %, disk &gt; 80 %');
    expect(text).toMatch(/Your spend this month\*\\n\$\d+\.\d\d of \$500\.00/);
    const snoozed = await h.command(ALICE, 'snooze box 2h');
    await reply(snoozed.responseId, 'snoozed');
    expect(await reply((await h.command(ALICE, 'status box')).responseId, 'status after snooze')).toContain('snoozed until');
  });

  it('hands out the SSM commands and profile', async () => {
    const { responseId } = await h.command(ALICE, 'connect ualice-box');
    const text = await reply(responseId, 'connect');
    expect(text).toMatch(/aws ssm start-session --profile service-catalog --target i-[0-9a-f]{17}/);
    expect(text).toContain(`--document-name AWS-StartPortForwardingSession --parameters '{\\"portNumber\\":[\\"80\\"],\\"localPortNumber\\":[\\"9090\\"]}'`);
    expect(text).toContain('credential_process');
  });

  it('reports a failed provision with the record’s errors', async () => {
    const { responseId } = await h.command(ALICE, 'launch "EC2 Linux" will-fail');
    await reply(responseId, 'launch reply');
    const failed = await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-will-fail') && m.includes('failed')), 'failure DM');
    expect(failed).toMatch(/CFN|Resource creation failed|InsufficientInstanceCapacity/);
  });

  it('answers for another user’s product exactly as for one that does not exist, in every verb', async () => {
    const answer = async (text: string) => {
      const { responseId } = await h.command(BOB, text);
      return (JSON.parse((await reply(responseId, text)).split('\n')[0]!) as { text: string }).text;
    };
    for (const verb of ['status', 'connect', 'update', 'terminate', 'transfer', 'snooze']) {
      const rest = verb === 'update' ? ' InstanceType=t3.small' : verb === 'transfer' ? ` <@${ALICE}>` : verb === 'snooze' ? ' 2h' : '';
      const theirs = await answer(`${verb} ualice-box${rest}`);
      const missing = await answer(`${verb} ualice-nothing${rest}`);
      expect(theirs, verb).toContain('You have no product called');
      expect(theirs, verb).toBe(missing.replace('ualice-nothing', 'ualice-box'));
    }
    expect((await sandbox.searchProvisioned()).find((p) => p.name === 'ualice-box')?.status).toBe('AVAILABLE');
  });
});

describe('validation before any AWS call', () => {
  it.each([
    ['launch "EC2 Lunix" x', 'There is no product called \\"EC2 Lunix\\"'],
    ['launch "EC2 Linux" x InstanceType=x1.32xlarge', 'InstanceType: \\"x1.32xlarge\\" is not allowed by policy'],
    ['launch "EC2 Linux" x VolumeSize=4', 'VolumeSize: 4 is below the minimum of 8'],
    ['launch "EC2 Linux" x OwnerEmail=eve@evil.org', 'OwnerEmail is a reserved tag'],
    ['launch "EC2 Linux" x version=v0.9', 'EC2 Linux has no version \\"v0.9\\"'],
    ['launch "S3 Private Encrypted Bucket" data S3UserARNs=arn:aws:iam::123456789012:user/a,jdoe', '\\"jdoe\\" is not an IAM user or role ARN'],
    ['launch "S3 Synapse Bucket" syn', 'SynapseUserName is required'],
    ['launch "HPC Cluster" my_cluster', 'is not a valid cluster name'],
    ['launch "EC2 Linux" box', 'You already have a product called ualice-box'],
  ])('%s', async (text, message) => {
    const before = (await sandbox.searchProvisioned()).length;
    // The sandbox validates too, as AWS would: only a call count shows the bot refused before asking AWS.
    const provision = vi.spyOn(sandbox, 'provision');
    try {
      const { responseId } = await h.command(ALICE, text);
      expect(await reply(responseId, 'refusal')).toContain(message);
      expect(provision).not.toHaveBeenCalled();
    } finally {
      provision.mockRestore();
    }
    expect((await sandbox.searchProvisioned()).length).toBe(before);
  });
});

describe('update and terminate ask first', () => {
  // An instance of their own: an update changes its last record, which the status test above reads on ualice-box.
  beforeAll(async () => {
    const { responseId } = await h.command(ALICE, 'launch "EC2 Linux" spare InstanceType=t3.large');
    await reply(responseId, 'launch reply');
    await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-spare is ready')), 'ualice-spare ready');
  });

  it('update warns that the instance is replaced, and runs only on confirmation', async () => {
    const { responseId } = await h.command(ALICE, 'update spare InstanceType=t3.medium');
    const ask = await reply(responseId, 'confirmation');
    expect(ask).toContain('replaces');
    expect(ask).toContain('will be lost');
    const before = (await sandbox.searchProvisioned()).find((p) => p.name === 'ualice-spare')!;
    expect(before.lastRecordId).toBeDefined();
    const click = await h.click(ALICE, 'confirm', confirmationId(ask));
    expect(click.res.status).toBe(200);
    expect(await reply(click.responseId, 'update started')).toContain('Updating ualice-spare');
    await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-spare is updated')), 'updated DM');
    const after = (await sandbox.searchProvisioned()).find((p) => p.name === 'ualice-spare')!;
    expect(after.lastRecordId).not.toBe(before.lastRecordId);
  });

  it('a second click on a used confirmation does nothing', async () => {
    const { responseId } = await h.command(ALICE, 'update spare InstanceType=t3.small');
    const id = confirmationId(await reply(responseId, 'confirmation'));
    const cancel = await h.click(ALICE, 'cancel', id);
    expect(await reply(cancel.responseId, 'cancelled')).toContain('Cancelled: ualice-spare is unchanged');
    const again = await h.click(ALICE, 'confirm', id);
    expect(await reply(again.responseId, 'expired')).toContain('expired or was already used');
  });

  it('only the requester may confirm', async () => {
    const { responseId } = await h.command(ALICE, 'terminate spare');
    const id = confirmationId(await reply(responseId, 'confirmation'));
    const bob = await h.click(BOB, 'confirm', id);
    expect(await reply(bob.responseId, 'refusal')).toContain('Only the person who asked can confirm this');
    expect((await sandbox.searchProvisioned()).some((p) => p.name === 'ualice-spare')).toBe(true);
  });

  it('terminating a bucket explains the 30-day archive', async () => {
    const launch = await h.command(ALICE, 'launch "S3 Private Encrypted Bucket" data');
    await reply(launch.responseId, 'launch');
    await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-data is ready')), 'bucket ready');
    const { responseId } = await h.command(ALICE, 'terminate data');
    const ask = await reply(responseId, 'confirmation');
    expect(ask).toContain('archives the bucket for 30 days');
    expect(ask).toContain('/scicomp restore ualice-data');
    const click = await h.click(ALICE, 'confirm', confirmationId(ask));
    await reply(click.responseId, 'terminating');
    const done = await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-data is terminated')), 'terminated DM');
    expect(done).toMatch(/archived until \d{4}-\d{2}-\d{2}/);
    expect((await sandbox.searchProvisioned()).some((p) => p.name === 'ualice-data')).toBe(false);
  });
});

describe('the launch form', () => {
  it('opens a modal at once and fills it with the products', async () => {
    const opened = h.slack.of('views.open').length;
    await h.command(ALICE, 'launch');
    await eventually(() => h.slack.of('views.open').length > opened, 'views.open');
    const update = await eventually(() => h.slack.of('views.update').find((c) => JSON.stringify(c.body).includes('EC2 Linux')), 'views.update with products');
    const view = update.body.view as { blocks: { block_id?: string; dispatch_action?: boolean }[] };
    expect(view.blocks.find((b) => b.block_id === 'product')?.dispatch_action).toBe(true);
  });
});

describe('the launch form, picked and submitted', () => {
  function viewPayload(type: 'block_actions' | 'view_submission', state: Record<string, Record<string, unknown>>, metadata = '{}') {
    // Shapes of real block_actions-from-a-modal and view_submission payloads (api.slack.com/reference/interaction-payloads).
    const view = { id: 'VFORM1', hash: `h${Math.random()}`, callback_id: 'scicomp:launch', private_metadata: metadata, state: { values: state }, type: 'modal' };
    const user = { id: ALICE, username: 'ualice', team_id: 'T0001' };
    return type === 'block_actions'
      ? { type, user, view, team: { id: 'T0001' }, api_app_id: 'A1', token: 't', trigger_id: '1.2.3', container: { type: 'view', view_id: 'VFORM1' },
          actions: [{ type: 'static_select', action_id: 'product', block_id: 'product', selected_option: { text: { type: 'plain_text', text: 'EC2 Notebook' }, value: 'EC2 Notebook' }, action_ts: `${Date.now() / 1000}` }] }
      : { type, user, view, team: { id: 'T0001' }, api_app_id: 'A1', token: 't', trigger_id: '1.2.4' };
  }

  it('draws the chosen product’s parameters: allowed values as selects, defaults prefilled, descriptions as hints', async () => {
    const before = h.slack.of('views.update').length;
    const res = await h.interaction(viewPayload('block_actions', { product: { product: { type: 'static_select', selected_option: { value: 'EC2 Notebook' } } } }));
    expect(res.status).toBe(200);
    const update = await eventually(() => h.slack.of('views.update').slice(before).find((c) => JSON.stringify(c.body).includes('NotebookVolumeSize')), 'form for EC2 Notebook');
    expect(update.body.view_id).toBe('VFORM1');
    const blocks = (update.body.view as { blocks: { block_id?: string; element?: Record<string, unknown>; hint?: { text: string } }[] }).blocks;
    const type = blocks.find((b) => b.block_id === 'InstanceType')!;
    expect(type.element).toMatchObject({ type: 'static_select', initial_option: { value: 't3.medium' } });
    expect((type.element!.options as unknown[]).length).toBe(4);
    expect(blocks.find((b) => b.block_id === 'NotebookVolumeSize')!.element).toMatchObject({ type: 'plain_text_input', initial_value: '50' });
    expect(type.hint?.text).toContain('EC2 instance type');
  });

  it('launches what the form says', async () => {
    const state = {
      product: { product: { type: 'static_select', selected_option: { value: 'EC2 Notebook' } } },
      name: { name: { type: 'plain_text_input', value: 'nb' } },
      InstanceType: { InstanceType: { type: 'static_select', selected_option: { value: 't3.large' } } },
      NotebookVolumeSize: { NotebookVolumeSize: { type: 'plain_text_input', value: '60' } },
    };
    const res = await h.interaction(viewPayload('view_submission', state));
    expect(res.status).toBe(200);
    await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-nb is ready')), 'notebook ready');
    const nb = (await sandbox.searchProvisioned()).find((p) => p.name === 'ualice-nb');
    expect(nb?.productName).toBe('EC2 Notebook');
  });

  it('a parameter with more than 100 allowed values is searched as you type, answered without AWS', async () => {
    // An AMI list longer than a static select can hold, put where the form reads launch options from.
    const nb = (await sandbox.listProducts()).find((p) => p.name === 'EC2 Notebook')!;
    const version = nb.versions.filter((v) => v.active).at(-1)!;
    const id = { productId: nb.id, versionId: version.id };
    const options = (await h.app.deps.catalogCache.launchOptions(id)) ?? (await sandbox.launchOptions(nb.id, version.id));
    const amis = Array.from({ length: 150 }, (_, i) => `ami-${String(i).padStart(4, '0')}`);
    await h.app.deps.catalogCache.saveLaunchOptions(id, { ...options, parameters: [...options.parameters, { key: 'NotebookAmi', type: 'String', allowedValues: amis, defaultValue: 'ami-0042' }] }, 10 * 60_000);
    const before = h.slack.of('views.update').length;
    await h.interaction(viewPayload('block_actions', { product: { product: { type: 'static_select', selected_option: { value: 'EC2 Notebook' } } } }));
    const update = await eventually(() => h.slack.of('views.update').slice(before).find((c) => JSON.stringify(c.body).includes('NotebookAmi')), 'form with the AMI list');
    const blocks = (update.body.view as { blocks: { block_id?: string; element?: { type: string; action_id: string; initial_option?: { value: string } } }[] }).blocks;
    const ami = blocks.find((b) => b.block_id === 'NotebookAmi')!.element!;
    expect(ami.type).toBe('external_select');
    expect(ami.initial_option?.value).toBe('ami-0042');
    const listOptions = vi.spyOn(sandbox, 'launchOptions');
    try {
      // A real block_suggestion payload (api.slack.com/reference/block-kit/block-elements#external_select).
      const res = await h.interaction({
        type: 'block_suggestion', user: { id: ALICE }, team: { id: 'T0001' }, api_app_id: 'A1', token: 't',
        action_id: ami.action_id, block_id: 'NotebookAmi', value: 'ami-01', view: { id: 'VFORM1', callback_id: 'scicomp:launch' },
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { options: { value: string }[] };
      expect(body.options.map((o) => o.value)).toEqual(amis.filter((a) => a.includes('ami-01')));
      const all = (await (await h.interaction({ type: 'block_suggestion', user: { id: ALICE }, team: { id: 'T0001' }, api_app_id: 'A1', token: 't', action_id: ami.action_id, block_id: 'NotebookAmi', value: '' })).json()) as { options: unknown[] };
      expect(all.options).toHaveLength(100);
      expect(listOptions).not.toHaveBeenCalled();
    } finally {
      listOptions.mockRestore();
      // The options as they were: later tests see no AMI list.
      await h.app.deps.catalogCache.saveLaunchOptions(id, options, 10 * 60_000);
    }
  });

  it('keeps the modal open when no product is chosen', async () => {
    const res = await h.interaction(viewPayload('view_submission', {}));
    expect(await res.json()).toEqual({ response_action: 'errors', errors: { product: 'Choose a product.' } });
  });
});

describe('request authenticity', () => {
  const jobs = async () => Object.values(await h.app.queues.command.getJobCounts()).reduce((a, b) => a + b, 0);

  /** A genuine request sent after the refused one: once it is answered, anything the refused one queued would show. */
  async function genuineAfter(): Promise<void> {
    const { responseId } = await h.command(ALICE, 'help');
    await reply(responseId, 'the genuine request');
  }

  it('refuses a forged signature and does nothing', async () => {
    const before = await jobs();
    const body = slashCommandBody({ userId: ALICE, text: 'launch "EC2 Linux" forged', responseUrl: h.slack.responseUrl('forged') });
    const res = await h.post('/slack/events', body, sign('not-the-secret', body));
    expect(res.status).toBe(401);
    await genuineAfter();
    expect(await jobs()).toBe(before + 1);
    expect(h.replies('forged')).toEqual([]);
    expect((await sandbox.searchProvisioned()).some((p) => p.name.includes('forged'))).toBe(false);
  });

  it('refuses a stale (replayed) timestamp and does nothing', async () => {
    const before = await jobs();
    const body = slashCommandBody({ userId: ALICE, text: 'launch "EC2 Linux" stale', responseUrl: h.slack.responseUrl('stale') });
    const res = await h.post('/slack/events', body, sign(SIGNING_SECRET, body, Math.floor(Date.now() / 1000) - 600));
    expect(res.status).toBe(401);
    await genuineAfter();
    expect(await jobs()).toBe(before + 1);
    expect(h.replies('stale')).toEqual([]);
    expect((await sandbox.searchProvisioned()).some((p) => p.name.includes('stale'))).toBe(false);
  });
});

describe('one request, one provision', () => {
  let flaky: Harness;
  let real: SandboxCatalog;
  let provisionCalls: { token: string }[];
  let loseNextResponse = false;
  let throttleNextTerminate = false;

  beforeAll(async () => {
    real = new SandboxCatalog({ provisionMs: 200 });
    provisionCalls = [];
    // AWS accepts the provision but the answer is lost (a timeout): the job must retry into the same provision.
    const catalog: CatalogPort = Object.assign(Object.create(real) as CatalogPort, {
      provision: async (input: Parameters<CatalogPort['provision']>[0]) => {
        provisionCalls.push({ token: input.token });
        const out = await real.provision(input);
        if (loseNextResponse) {
          loseNextResponse = false;
          throw new UpstreamError('ProvisionProduct: socket hang up', true);
        }
        return out;
      },
      terminate: async (input: Parameters<CatalogPort['terminate']>[0]) => {
        if (throttleNextTerminate) {
          throttleNextTerminate = false;
          throw new UpstreamError('TerminateProvisionedProduct: ThrottlingException', true);
        }
        return real.terminate(input);
      },
    });
    flaky = await Harness.start({ catalog });
  });

  afterAll(async () => {
    await dropPrefix(flaky.app);
    await flaky.close();
  });

  it('a retry after a lost answer carries on with the same ProvisionToken, not a name clash', async () => {
    const earlier = provisionCalls.length;
    loseNextResponse = true;
    const { responseId } = await flaky.command(ALICE, 'launch "EC2 Linux" retried', 'trigger-retried');
    const answer = await eventually(() => flaky.replies(responseId).join('\n'), 'launch reply', 15_000);
    expect(answer).toContain('Launching ualice-retried');
    expect(answer).not.toContain('already have');
    await eventually(() => flaky.dms(ALICE).find((m) => m.includes('ualice-retried is ready')), 'ready DM', 15_000);
    const calls = provisionCalls.slice(earlier);
    expect(calls).toHaveLength(2);
    expect(calls[0]!.token).toBe(calls[1]!.token);
    expect(calls[0]!.token).toMatch(/^launch-/);
    expect((await real.searchProvisioned()).filter((p) => p.name === 'ualice-retried')).toHaveLength(1);
    expect(flaky.dms(ALICE).filter((m) => m.includes('ualice-retried is ready'))).toHaveLength(1);
  });

  it('a throttled terminate is retried, not lost with its confirmation', async () => {
    const launched = await flaky.command(ALICE, 'launch "EC2 Linux" throttled');
    await eventually(() => flaky.replies(launched.responseId).join('\n'), 'launch reply');
    await eventually(() => flaky.dms(ALICE).find((m) => m.includes('ualice-throttled is ready')), 'ready DM', 15_000);
    const { responseId } = await flaky.command(ALICE, 'terminate throttled');
    const ask = await eventually(() => flaky.replies(responseId).join('\n'), 'confirmation');
    throttleNextTerminate = true;
    const click = await flaky.click(ALICE, 'confirm', confirmationId(ask));
    const answer = await eventually(() => flaky.replies(click.responseId).join('\n'), 'terminate reply', 15_000);
    expect(answer).toContain('Terminating ualice-throttled');
    await eventually(() => flaky.dms(ALICE).find((m) => m.includes('ualice-throttled is terminated')), 'terminated DM', 15_000);
  });

  it('the same Slack trigger delivered twice is one provision', async () => {
    const calls = provisionCalls.length;
    const first = await flaky.command(ALICE, 'launch "EC2 Linux" twice', 'trigger-twice');
    const second = await flaky.command(ALICE, 'launch "EC2 Linux" twice', 'trigger-twice');
    expect([first.res.status, second.res.status]).toEqual([200, 200]);
    await eventually(() => flaky.dms(ALICE).find((m) => m.includes('ualice-twice is ready')), 'ready DM', 15_000);
    expect(provisionCalls.length - calls).toBe(1);
    expect((await real.searchProvisioned()).filter((p) => p.name === 'ualice-twice')).toHaveLength(1);
  });
});
