// Real Service Catalog shapes through Slack's own door: Java-only patterns, list parameters, several launch paths.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LaunchOptions, ProvisionInput } from '../../src/core/ports.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually, Harness } from '../support/harness.js';
import { policyText } from '../support/policy.js';
import { parsePolicy } from '../../src/core/policy.js';

const ALICE = 'UALICE';
// A pattern CloudFormation (Java) accepts and JavaScript cannot compile: a possessive quantifier.
const JAVA_ONLY = '[a-z0-9]{3,16}+';

/** The sandbox, with the Synapse bucket's user name constrained by a Java-only pattern as a real template may be. */
class JavaPatternCatalog extends SandboxCatalog {
  override async launchOptions(productId: string, versionId: string, pathId?: string): Promise<LaunchOptions> {
    const o = await super.launchOptions(productId, versionId, pathId);
    return { ...o, parameters: o.parameters.map((p) => (p.key === 'SynapseUserName' ? { ...p, allowedPattern: JAVA_ONLY } : p)) };
  }
}

let h: Harness;
let sandbox: JavaPatternCatalog;
const logged: string[] = [];

beforeAll(async () => {
  sandbox = new JavaPatternCatalog({ provisionMs: 200 });
  const log = pino({ level: 'warn' }, new Writable({ write: (chunk: Buffer, _enc, done) => (logged.push(chunk.toString()), done()) }));
  h = await Harness.start({ catalog: sandbox, extra: { log } });
});

afterAll(async () => {
  await dropPrefix(h.app);
  await h.close();
});

async function reply(responseId: string, what: string, harness = h): Promise<string> {
  return eventually(() => harness.replies(responseId).join('\n'), what);
}

async function provisioned(name: string, catalog: SandboxCatalog = sandbox) {
  return eventually(async () => (await catalog.searchProvisioned()).find((p) => p.name === name), `${name} provisioned`);
}

async function rstudioPaths(catalog: SandboxCatalog = sandbox) {
  const product = (await catalog.listProducts()).find((p) => p.name === 'EC2 RStudio')!;
  const version = product.versions.at(-1)!;
  const { paths } = await catalog.launchOptions(product.id, version.id);
  return { research: paths![0]!.id, teaching: paths![1]!.id };
}

describe('an AllowedPattern JavaScript cannot compile', () => {
  it('is left to Service Catalog: the launch goes ahead, and the pattern is logged once', async () => {
    const first = await h.command(ALICE, `launch "S3 Synapse Bucket" syn1 SynapseUserName=jdoe42`);
    expect(await reply(first.responseId, 'launch reply')).toContain('Launching ualice-syn1');
    await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-syn1 is ready')), 'syn1 ready');
    const second = await h.command(ALICE, `launch "S3 Synapse Bucket" syn2 SynapseUserName=other`);
    expect(await reply(second.responseId, 'launch reply')).toContain('Launching ualice-syn2');
    await provisioned('ualice-syn2');
    const warnings = logged.filter((l) => l.includes(JSON.stringify(JAVA_ONLY).slice(1, -1)));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ product: 'S3 Synapse Bucket', parameter: 'SynapseUserName', pattern: JAVA_ONLY });
    expect(h.replies(first.responseId).join('\n')).not.toContain('not answering');
  });

  it('still applies the parameter\'s other constraints', async () => {
    const { responseId } = await h.command(ALICE, 'launch "S3 Synapse Bucket" syn3 SynapseUserName=ab');
    expect(await reply(responseId, 'refusal')).toContain('SynapseUserName: must be at least 3 characters');
  });
});

describe('list parameters', () => {
  it('takes several allowed values, and the product\'s own default with a space after the comma', async () => {
    const provision = vi.spyOn(sandbox, 'provision');
    try {
      const { responseId } = await h.command(ALICE, 'launch "EC2 RStudio" lists path="Research Computing" RPackages=tidyverse,bioconductor');
      expect(await reply(responseId, 'launch reply')).toContain('Launching ualice-lists');
      const defaults = await h.command(ALICE, 'launch "EC2 RStudio" defaults path="Research Computing"');
      expect(await reply(defaults.responseId, 'launch reply')).toContain('Launching ualice-defaults');
      expect(provision.mock.calls.map(([input]) => input.parameters.RPackages)).toEqual(['tidyverse,bioconductor', 'tidyverse, shiny']);
    } finally {
      provision.mockRestore();
    }
    await provisioned('ualice-lists');
    await provisioned('ualice-defaults');
  });

  it('names each element that is not allowed, and asks AWS nothing', async () => {
    const provision = vi.spyOn(sandbox, 'provision');
    try {
      const { responseId } = await h.command(ALICE, 'launch "EC2 RStudio" badlist path="Research Computing" RPackages=tidyverse,ggplot2');
      expect(await reply(responseId, 'refusal')).toContain('RPackages: \\"ggplot2\\" is not allowed. Choose from: tidyverse, shiny, bioconductor, data.table (several, comma-separated)');
      expect(provision).not.toHaveBeenCalled();
    } finally {
      provision.mockRestore();
    }
  });
});

describe('a product with several launch paths', () => {
  it('from the command line: asks which, naming them and how to choose', async () => {
    const provision = vi.spyOn(sandbox, 'provision');
    try {
      const { responseId } = await h.command(ALICE, 'launch "EC2 RStudio" which');
      const text = await reply(responseId, 'question');
      expect(text).toContain('EC2 RStudio can be launched through 2 launch paths: \\"Research Computing\\", \\"Teaching\\". Say which with path=');
      const unknown = await h.command(ALICE, 'launch "EC2 RStudio" which path=Labs');
      expect(await reply(unknown.responseId, 'refusal')).toContain('EC2 RStudio has no launch path \\"Labs\\"');
      // The teaching portfolio narrows the instance types.
      const narrowed = await h.command(ALICE, 'launch "EC2 RStudio" which path=teaching InstanceType=r5.xlarge');
      expect(await reply(narrowed.responseId, 'refusal')).toContain('InstanceType: \\"r5.xlarge\\" is not allowed');
      expect(provision).not.toHaveBeenCalled();
    } finally {
      provision.mockRestore();
    }
  });

  it('launches through the path named, and tells its usage instructions when ready', async () => {
    const { teaching } = await rstudioPaths();
    const provision = vi.spyOn(sandbox, 'provision');
    try {
      const { responseId } = await h.command(ALICE, 'launch "EC2 RStudio" class path=Teaching');
      expect(await reply(responseId, 'launch reply')).toContain('Launching ualice-class');
      expect(provision.mock.calls[0]![0]).toMatchObject({ pathId: teaching, parameters: { InstanceType: 't3.medium' } } satisfies Partial<ProvisionInput>);
    } finally {
      provision.mockRestore();
    }
    const ready = await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-class is ready')), 'ready DM');
    expect(ready).toContain('Teaching instances are stopped every night at 22:00 UTC.');
    expect(ready).toContain('RStudio Server listens on port 8787');
  });

  it('launches through the path the policy names, refuses another one, and applies approval rules to each list element', async () => {
    const pinned = await Harness.start({
      catalog: sandbox,
      policy: parsePolicy(
        policyText()
          .replace('# launchPath: Teaching', 'launchPath: Teaching')
          .replace('- { parameter: InstanceType, in: [r5.xlarge] }', '- { parameter: RPackages, in: [bioconductor] }'),
        'pinned.yaml',
      ),
    });
    try {
      const { teaching } = await rstudioPaths();
      const provision = vi.spyOn(sandbox, 'provision');
      try {
        const { responseId } = await pinned.command(ALICE, 'launch "EC2 RStudio" pinned');
        expect(await reply(responseId, 'launch reply', pinned)).toContain('Launching ualice-pinned');
        expect(provision.mock.calls[0]![0].pathId).toBe(teaching);
        const other = await pinned.command(ALICE, 'launch "EC2 RStudio" pinned2 path="Research Computing"');
        expect(await reply(other.responseId, 'refusal', pinned)).toContain('The catalog policy launches EC2 RStudio through the launch path \\"Teaching\\"; leave out path=');
        // An approval rule on a list parameter matches any of its elements.
        const approval = await pinned.command(ALICE, 'launch "EC2 RStudio" pkgs RPackages=shiny,bioconductor');
        expect(await reply(approval.responseId, 'request filed', pinned)).toContain('IT will decide in the approvals channel');
        const posted = await eventually(() => pinned.slack.of('chat.postMessage').find((c) => JSON.stringify(c.body).includes('ualice-pkgs') && c.body.channel !== 'DUALICE'), 'approval request');
        expect(JSON.stringify(posted.body)).toContain('RPackages=bioconductor needs IT approval');
        expect(provision).toHaveBeenCalledTimes(1);
      } finally {
        provision.mockRestore();
      }
    } finally {
      await dropPrefix(pinned.app);
      await pinned.close();
    }
  });
});

describe('the launch form for several launch paths and list parameters', () => {
  type Block = { type: string; block_id?: string; dispatch_action?: boolean; text?: { text: string }; element?: Record<string, unknown> };

  function modal(type: 'block_actions' | 'view_submission', state: Record<string, Record<string, unknown>>, action?: { id: string; value: string }, metadata = '{}') {
    // Shapes of real block_actions-from-a-modal and view_submission payloads (api.slack.com/reference/interaction-payloads).
    const view = { id: 'VPATHS', hash: `h${Math.random()}`, callback_id: 'scicomp:launch', private_metadata: metadata, state: { values: state }, type: 'modal' };
    const user = { id: ALICE, username: 'ualice', team_id: 'T0001' };
    return type === 'block_actions'
      ? { type, user, view, team: { id: 'T0001' }, api_app_id: 'A1', token: 't', trigger_id: '1.2.3', container: { type: 'view', view_id: 'VPATHS' },
          actions: [{ type: 'static_select', action_id: action!.id, block_id: action!.id, selected_option: { text: { type: 'plain_text', text: action!.value }, value: action!.value }, action_ts: `${Date.now() / 1000}` }] }
      : { type, user, view, team: { id: 'T0001' }, api_app_id: 'A1', token: 't', trigger_id: '1.2.4' };
  }

  const select = (value: string) => ({ type: 'static_select', selected_option: { value } });

  async function redrawn(before: number, has: string): Promise<Block[]> {
    const update = await eventually(() => h.slack.of('views.update').slice(before).find((c) => JSON.stringify(c.body).includes(has)), `form with ${has}`);
    return (update.body.view as { blocks: Block[] }).blocks;
  }

  it('asks for the launch path first, then draws that path\'s parameters, and launches what it says', async () => {
    const { teaching } = await rstudioPaths();
    let before = h.slack.of('views.update').length;
    await h.interaction(modal('block_actions', { product: { product: select('EC2 RStudio') } }, { id: 'product', value: 'EC2 RStudio' }));
    let blocks = await redrawn(before, 'choose one to see its parameters');
    const path = blocks.find((b) => b.block_id === 'path')!;
    expect(path.dispatch_action).toBe(true);
    expect((path.element!.options as { value: string }[]).map((o) => o.value)).toEqual(['Research Computing', 'Teaching']);
    expect(blocks.some((b) => b.block_id === 'InstanceType')).toBe(false);

    before = h.slack.of('views.update').length;
    const chosen = { product: { product: select('EC2 RStudio') }, path: { path: select('Teaching') } };
    await h.interaction(modal('block_actions', chosen, { id: 'path', value: 'Teaching' }));
    blocks = await redrawn(before, 'RPackages');
    expect(blocks[0]!.text!.text).toContain('Teaching instances are stopped every night');
    expect((blocks.find((b) => b.block_id === 'InstanceType')!.element!.options as unknown[]).length).toBe(2);
    expect(blocks.find((b) => b.block_id === 'path')!.element).toMatchObject({ initial_option: { value: 'Teaching' } });
    const packages = blocks.find((b) => b.block_id === 'RPackages')!.element!;
    expect(packages).toMatchObject({ type: 'multi_static_select', initial_options: [{ value: 'tidyverse' }, { value: 'shiny' }] });
    expect((packages.options as unknown[]).length).toBe(4);

    const provision = vi.spyOn(sandbox, 'provision');
    try {
      const state = {
        ...chosen,
        name: { name: { type: 'plain_text_input', value: 'formpath' } },
        InstanceType: { InstanceType: select('t3.large') },
        RPackages: { RPackages: { type: 'multi_static_select', selected_options: [{ value: 'tidyverse' }, { value: 'bioconductor' }] } },
      };
      const res = await h.interaction(modal('view_submission', state, undefined, JSON.stringify({ productId: 'x', pathId: teaching })));
      expect(res.status).toBe(200);
      await eventually(() => provision.mock.calls.length > 0, 'provision');
      expect(provision.mock.calls[0]![0]).toMatchObject({ name: 'ualice-formpath', pathId: teaching, parameters: { InstanceType: 't3.large', RPackages: 'tidyverse,bioconductor' } });
    } finally {
      provision.mockRestore();
    }
    await eventually(() => h.dms(ALICE).find((m) => m.includes('ualice-formpath is ready')), 'ready DM');
  });
});
