// The console's launch form, driven the way a person at the prompt does: numbers typed, one or several.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleChannel } from '../../../src/adapters/console/channel.js';
import { CONSOLE_USER, ConsoleChat } from '../../../src/adapters/console/chat.js';
import type { RunPayload } from '../../../src/core/interaction.js';
import { newRequestId } from '../../../src/core/ids.js';
import { SandboxCatalog } from '../../../src/sandbox/catalog.js';
import { dropPrefix, eventually, Harness } from '../../support/harness.js';

let h: Harness;
const out: string[] = [];
const chat = new ConsoleChat((t) => out.push(t));

beforeAll(async () => {
  h = await Harness.start({ catalog: new SandboxCatalog({ provisionMs: 200 }), extra: { channels: [new ConsoleChannel({ chat })] } });
});

afterAll(async () => {
  await dropPrefix(h.app);
  await h.close();
});

/** What `startConsole` queues for a line typed at the prompt. */
async function type(text: string): Promise<void> {
  const interaction = /^\d+(\s*,\s*\d+)*$/.test(text) ? chat.choose(text) : { type: 'command' as const, text };
  if (!interaction) throw new Error(`no choice ${text}`);
  const payload: RunPayload = { requestId: newRequestId(), platform: 'console', userId: CONSOLE_USER, reply: { platform: 'console', kind: 'reply', ref: 'console' }, interaction };
  await h.app.inbox.push(payload);
}

async function nextForm(after: number, has: string): Promise<string> {
  return eventually(() => out.slice(after).find((t) => t.startsWith('── form:') && t.includes(has)), `a form with ${has}`);
}

function choiceOf(form: string, option: string): string {
  return /\[(\d+)\]/.exec(form.split('\n').find((l) => new RegExp(`\\] ${option}( \\(chosen\\))?$`).test(l))!)![1]!;
}

describe('the console launch form', () => {
  it('asks for the launch path, then takes several list values as comma-separated numbers', async () => {
    await type('launch');
    let form = await nextForm(0, 'Choose a product');
    let seen = out.length;
    await type(choiceOf(form, 'EC2 RStudio'));
    form = await nextForm(seen, 'choose one to see its parameters');
    seen = out.length;
    await type(choiceOf(form, 'Teaching'));
    form = await nextForm(seen, 'RPackages');
    expect(form).toContain('Teaching instances are stopped every night');
    expect(form).toContain('Launch it with: /scicomp launch "EC2 RStudio" <name> path=Teaching RPackages=tidyverse,shiny');
    seen = out.length;
    await type(`${choiceOf(form, 'tidyverse')},${choiceOf(form, 'bioconductor')}`);
    form = await nextForm(seen, 'RPackages');
    expect(form).toContain('Launch it with: /scicomp launch "EC2 RStudio" <name> path=Teaching RPackages=tidyverse,bioconductor key=value …');
    expect(form).toMatch(/\] bioconductor \(chosen\)/);
  });
});
