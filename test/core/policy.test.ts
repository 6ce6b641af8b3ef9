import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PolicyError, loadPolicy, parsePolicy } from '../../src/core/policy.js';

const base = readFileSync('manifests/catalog.yaml', 'utf8');

describe('catalog policy', () => {
  it('loads the shipped manifest', async () => {
    const p = await loadPolicy('manifests/catalog.yaml');
    expect(p.doc.approvals.expiryHours).toBe(72);
    expect(p.productRule('EC2 Linux').roles).toContain('researcher');
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
});
