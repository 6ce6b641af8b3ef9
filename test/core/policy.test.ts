import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PolicyError, loadPolicy, parsePolicy, warnUnknownParameters } from '../../src/core/policy.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';

const base = readFileSync('manifests/catalog.yaml', 'utf8');

describe('catalog policy', () => {
  it('loads the shipped manifest', async () => {
    const p = await loadPolicy('manifests/catalog.yaml');
    expect(p.doc.approvals.expiryHours).toBe(72);
    expect(p.productRule('EC2 Linux').roles).toContain('researcher');
  });

  it('limits open requests per person to 5 unless told otherwise, and only to a whole positive number', () => {
    expect(parsePolicy(base.replace(/\n {2}maxOpenPerUser:.*\n/, '\n')).doc.approvals.maxOpenPerUser).toBe(5);
    expect(parsePolicy(base.replace('maxOpenPerUser: 5', 'maxOpenPerUser: 2')).doc.approvals.maxOpenPerUser).toBe(2);
    expect(() => parsePolicy(base.replace('maxOpenPerUser: 5', 'maxOpenPerUser: 0'))).toThrow(/approvals\.maxOpenPerUser/);
  });

  it('decides approval by rule', async () => {
    const p = await loadPolicy('manifests/catalog.yaml');
    expect(p.approvalReason('EC2 Linux', { InstanceType: 't3.micro', VolumeSize: '30' })).toBeUndefined();
    expect(p.approvalReason('EC2 Linux', { InstanceType: 'c5.2xlarge' })).toMatch(/InstanceType=c5.2xlarge needs IT approval/);
    expect(p.approvalReason('HPC Cluster', { MaxNodes: '11' })).toMatch(/MaxNodes above 10/);
    expect(p.approvalSummary('S3 Private Encrypted Bucket')).toBe('no approval needed');
  });

  it('keeps unlisted products for admins', async () => {
    const p = await loadPolicy('manifests/catalog.yaml');
    expect(p.productRule('Something Else').roles).toEqual(['admin']);
  });

  it('names the file, line and field of a schema fault', () => {
    const broken = base.replace('expiryHours: 72', 'expiryHours: soon');
    const line = broken.split('\n').findIndex((l) => l.includes('expiryHours: soon')) + 1;
    expect(() => parsePolicy(broken, 'manifests/catalog.yaml')).toThrow(PolicyError);
    expect(() => parsePolicy(broken, 'manifests/catalog.yaml')).toThrow(new RegExp(`^manifests/catalog.yaml:${line}:\\d+: approvals.expiryHours: `));
  });

  it('names the line of a YAML syntax fault', () => {
    expect(() => parsePolicy('defaults:\n  role: [admin\n', 'x.yaml')).toThrow(/^x.yaml:\d+:\d+: /);
  });

  it('refuses an unknown role', () => {
    const broken = base.replace('roles: [admin, researcher, guest]', 'roles: [admin, wizard]');
    expect(() => parsePolicy(broken, 'c.yaml')).toThrow(/c.yaml:\d+:\d+: products.\d+.roles.1: /);
  });

  /** 1-based line and column of `needle` in `text`, as the error should point at it. */
  function lineCol(text: string, needle: string): string {
    const at = text.indexOf(needle);
    const before = text.slice(0, at).split('\n');
    return `${before.length}:${before.at(-1)!.length + 1}`;
  }

  it('points at a misspelt key on its own line', () => {
    const broken = base.replace('  expiryHours: 72', '  expiryHour: 72');
    expect(lineCol(broken, 'expiryHour:')).toMatch(/^\d+:3$/);
    expect(() => parsePolicy(broken, 'c.yaml')).toThrow(`c.yaml:${lineCol(broken, 'expiryHour:')}: approvals.expiryHour: unknown key`);
  });

  it('points a union fault at the branch that was meant', () => {
    const broken = base.replace('- { parameter: VolumeSize, above: 500 }', '- { parameter: VolumeSize, above: lots }');
    expect(() => parsePolicy(broken, 'c.yaml')).toThrow(
      new RegExp(`^c.yaml:${lineCol(broken, 'lots')}: products.0.approval.when.1.above: Invalid input: expected number, received string$`),
    );
    const typo = base.replace('- { parameter: VolumeSize, above: 500 }', '- { parameter: VolumeSize, abov: 500 }');
    expect(() => parsePolicy(typo, 'c.yaml')).toThrow(`c.yaml:${lineCol(typo, 'abov:')}: products.0.approval.when.1.abov: unknown key`);
    const word = base.replace('    approval:\n      when:\n        - { parameter: VolumeSize, above: 500 }\n  - name: EC2 Notebook', '    approval: sometimes\n  - name: EC2 Notebook');
    expect(() => parsePolicy(word, 'c.yaml')).toThrow(`c.yaml:${lineCol(word, 'sometimes')}: products.1.approval: expected "always" or "never" or an object`);
  });

  it('asks for approval when a number rule meets a value that is not a number, or a parameter the product lacks', () => {
    const p = parsePolicy(base, 'c.yaml');
    expect(p.approvalReason('HPC Cluster', { MaxNodes: 'lots', ComputeInstanceType: 'c5.large' })).toMatch(/MaxNodes is not a number/);
    expect(p.approvalReason('HPC Cluster', { MaxNodes: '', ComputeInstanceType: 'c5.large' })).toMatch(/MaxNodes is not a number/);
    expect(p.approvalReason('HPC Cluster', { MaxNodes: '4', ComputeInstanceType: 'c5.large' })).toBeUndefined();
    const misnamed = parsePolicy(base.replace('- { parameter: VolumeSize, above: 500 }\n  - name: EC2 Notebook', '- { parameter: VolumeSizeGb, above: 500 }\n  - name: EC2 Notebook'), 'c.yaml');
    expect(misnamed.approvalReason('EC2 Windows', { InstanceType: 't3.medium', VolumeSize: '50' })).toMatch(/names VolumeSizeGb, which EC2 Windows does not have/);
  });

  it('looks at every element of a list parameter', () => {
    const p = parsePolicy(base.replace('- { parameter: InstanceType, in: [r5.xlarge] }', '- { parameter: InstanceTypes, in: [r5.xlarge] }'), 'c.yaml');
    expect(p.approvalReason('EC2 RStudio', { InstanceTypes: 't3.large, r5.xlarge' }, { listKeys: ['InstanceTypes'] })).toMatch(/InstanceTypes=r5.xlarge needs IT approval/);
    expect(p.approvalReason('EC2 RStudio', { InstanceTypes: 't3.large,t3.medium' }, { listKeys: ['InstanceTypes'] })).toBeUndefined();
    const sizes = parsePolicy(base, 'c.yaml');
    expect(sizes.approvalReason('EC2 Windows', { VolumeSize: '50,600' }, { listKeys: ['VolumeSize'] })).toMatch(/VolumeSize above 500/);
  });

  it('takes a launch path per product', () => {
    const p = parsePolicy(base.replace('# launchPath: Teaching', 'launchPath: Teaching'), 'c.yaml');
    expect(p.productRule('EC2 RStudio').launchPath).toBe('Teaching');
    expect(p.productRule('EC2 Linux').launchPath).toBeUndefined();
    expect(() => parsePolicy(base.replace('# launchPath: Teaching', 'launchPath: ""'), 'c.yaml')).toThrow(/products.\d+.launchPath/);
  });

  it('warns at load about rules naming a parameter the product lacks', async () => {
    const misnamed = parsePolicy(base.replace('- { parameter: VolumeSize, above: 500 }\n  - name: EC2 Notebook', '- { parameter: VolumeSizeGb, above: 500 }\n  - name: EC2 Notebook'), 'c.yaml');
    const logged: string[] = [];
    await warnUnknownParameters(misnamed, new SandboxCatalog(), (m) => void logged.push(m));
    expect(logged).toEqual([expect.stringContaining('EC2 Windows has no parameter VolumeSizeGb')]);
    expect(await warnUnknownParameters(parsePolicy(base, 'c.yaml'), new SandboxCatalog(), () => {})).toEqual([]);
  });
});
