import { describe, expect, it } from 'vitest';
import { ConsoleChat } from '../../../src/adapters/console/chat.js';
import type { Form } from '../../../src/core/message.js';

const place = { userId: 'console', reply: { platform: 'console' as const, kind: 'reply' as const, ref: 'console' } };

function form(packages?: string): Form {
  return {
    id: 'launch',
    title: 'Launch a product',
    intro: 'EC2 RStudio v1.0.0.',
    inputs: [
      { key: 'product', label: 'Product', kind: 'select', options: ['EC2 Linux', 'EC2 RStudio'], initial: 'EC2 RStudio', dispatch: true },
      { key: 'path', label: 'Launch path', kind: 'select', options: ['Research Computing', 'Teaching'], initial: 'Teaching', dispatch: true },
      { key: 'InstanceType', label: 'InstanceType', kind: 'select', options: ['t3.medium', 't3.large'], initial: 't3.medium' },
      { key: 'RPackages', label: 'RPackages', kind: 'select', multiple: true, options: ['tidyverse', 'shiny', 'bioconductor'], initial: packages },
    ],
    state: '{}',
  };
}

/** The choice number printed in front of `option` among the lines after the one containing `under`. */
function number(text: string, under: string, option: string): string {
  const lines = text.split('\n');
  const line = lines.slice(lines.findIndex((l) => l.includes(under)) + 1).find((l) => new RegExp(`\\] ${option}( \\(chosen\\))?$`).test(l));
  return /\[(\d+)\]/.exec(line ?? '')![1]!;
}

describe('ConsoleChat forms', () => {
  it('picks several options of a list parameter by comma-separated numbers, keeping the choices above', async () => {
    const out: string[] = [];
    const chat = new ConsoleChat((t) => out.push(t));
    await chat.showForm(place, form('tidyverse, shiny'));
    const text = out.join('\n');
    expect(text).toContain('RPackages: several of [now tidyverse, shiny]');
    expect(text).toContain('Type their numbers, comma-separated, to choose several.');
    expect(text).toContain('Launch it with: /scicomp launch "EC2 RStudio" <name> path=Teaching RPackages=tidyverse,shiny key=value …');
    const tidy = number(text, 'RPackages', 'tidyverse');
    const bio = number(text, 'RPackages', 'bioconductor');
    expect(chat.choose(`${tidy}, ${bio}`)).toEqual({
      type: 'form-change',
      formId: 'launch',
      values: { product: 'EC2 RStudio', path: 'Teaching', InstanceType: 't3.medium', RPackages: 'tidyverse,bioconductor' },
    });
    expect(chat.choose(bio)).toMatchObject({ values: { RPackages: 'bioconductor' } });
  });

  it('a launch-path pick carries the product chosen above it, a product pick nothing else', async () => {
    const out: string[] = [];
    const chat = new ConsoleChat((t) => out.push(t));
    await chat.showForm(place, form());
    const text = out.join('\n');
    expect(chat.choose(number(text, 'Launch path:', 'Research Computing'))).toEqual({ type: 'form-change', formId: 'launch', values: { product: 'EC2 RStudio', path: 'Research Computing' } });
    expect(chat.choose(number(text, 'Product:', 'EC2 Linux'))).toEqual({ type: 'form-change', formId: 'launch', values: { product: 'EC2 Linux' } });
    // Several numbers only for options one may pick several of.
    expect(chat.choose(`${number(text, 'Product:', 'EC2 Linux')},${number(text, 'RPackages', 'shiny')}`)).toBeUndefined();
  });
});
