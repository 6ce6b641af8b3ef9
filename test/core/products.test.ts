import { describe, expect, it } from 'vitest';
import { UserInputError } from '../../src/core/errors.js';
import type { ParameterSpec } from '../../src/core/ports.js';
import { allowedValuesFor, maskSecrets, MASK, noEchoKeys, productKind, provisionedName, validateParameters } from '../../src/core/products.js';

const ec2: ParameterSpec[] = [
  { key: 'InstanceType', defaultValue: 't3.micro', allowedValues: ['t3.micro', 't3.large', 'm5.xlarge'] },
  { key: 'AmiId', defaultValue: 'ami-0abc1234', allowedPattern: 'ami-[0-9a-f]{8,17}', constraintDescription: 'Must be an AMI id.' },
  { key: 'VolumeSize', type: 'Number', defaultValue: '30', minValue: 8, maxValue: 1000 },
];
const bucket: ParameterSpec[] = [{ key: 'S3UserARNs', defaultValue: '' }];
const synapse: ParameterSpec[] = [{ key: 'SynapseUserName', minLength: 3, maxLength: 64, allowedPattern: '[a-zA-Z0-9._-]+' }];

describe('validateParameters', () => {
  it('fills defaults and keeps given values', () => {
    expect(validateParameters('EC2 Linux', ec2, { InstanceType: 't3.large' })).toEqual({ InstanceType: 't3.large', AmiId: 'ami-0abc1234', VolumeSize: '30' });
  });

  it.each([
    [{ InstanceType: 'x1.32xlarge' }, /InstanceType: "x1.32xlarge" is not allowed. Choose one of: t3.micro, t3.large, m5.xlarge/],
    [{ AmiId: 'ami-XYZ' }, /does not match the required pattern.*Must be an AMI id/],
    [{ VolumeSize: '4' }, /below the minimum of 8/],
    [{ VolumeSize: '2000' }, /above the maximum of 1000/],
    [{ VolumeSize: 'big' }, /"big" is not a number/],
    [{ InstanceTyp: 't3.large' }, /InstanceTyp is not a parameter of EC2 Linux. Did you mean InstanceType\?/],
    [{ OwnerEmail: 'me@x.org' }, /OwnerEmail is a reserved tag/],
    [{ department: 'Physics' }, /Department is a reserved tag/],
  ])('refuses %j', (given, message) => {
    expect(() => validateParameters('EC2 Linux', ec2, given)).toThrow(message);
  });

  it('lists every problem at once', () => {
    expect(() => validateParameters('EC2 Linux', ec2, { VolumeSize: '1', Project: 'x' })).toThrow(/please fix these:\n• .*\n• /s);
  });

  it('narrows allowed values by policy', () => {
    expect(() => validateParameters('EC2 Linux', ec2, { InstanceType: 'm5.xlarge' }, { InstanceType: { allowedValues: ['t3.micro'] } })).toThrow(
      /not allowed by policy/,
    );
  });

  it('lets policy narrow the product\'s allowed values but never widen them', () => {
    const wider = { InstanceType: { allowedValues: ['t3.micro', 'x1.32xlarge'] } };
    expect(() => validateParameters('EC2 Linux', ec2, { InstanceType: 'x1.32xlarge' }, wider)).toThrow(/"x1.32xlarge" is not allowed by policy. Choose one of: t3.micro\./);
    expect(validateParameters('EC2 Linux', ec2, { InstanceType: 't3.micro' }, wider).InstanceType).toBe('t3.micro');
    expect(allowedValuesFor(ec2[0]!, wider.InstanceType)).toEqual(['t3.micro']);
  });

  it('lets a policy list narrow a parameter without one, but not past the product\'s pattern or limits', () => {
    const policy = { AmiId: { allowedValues: ['ami-0abc1234', 'not-an-ami'] }, VolumeSize: { allowedValues: ['30', '5000'] } };
    expect(allowedValuesFor(ec2[1]!, policy.AmiId)).toEqual(['ami-0abc1234']);
    expect(allowedValuesFor(ec2[2]!, policy.VolumeSize)).toEqual(['30']);
    expect(() => validateParameters('EC2 Linux', ec2, { AmiId: 'not-an-ami' }, policy)).toThrow(/AmiId: "not-an-ami" is not allowed by policy. Choose one of: ami-0abc1234\./);
    expect(() => validateParameters('EC2 Linux', ec2, { VolumeSize: '5000' }, policy)).toThrow(/VolumeSize: "5000" is not allowed by policy. Choose one of: 30\./);
    expect(() => validateParameters('EC2 Linux', ec2, { AmiId: 'ami-deadbeefdeadbeef' }, policy)).toThrow(/not allowed by policy/);
  });

  it('never shows a NoEcho value in a validation message', () => {
    const secret: ParameterSpec[] = [
      { key: 'DbPassword', noEcho: true, minLength: 12, allowedPattern: '[A-Za-z0-9]+' },
      { key: 'Pin', noEcho: true, type: 'Number', minValue: 1000 },
      { key: 'S3UserARNs', noEcho: true, defaultValue: '' },
    ];
    for (const given of <Record<string, string>[]>[{ DbPassword: 'hunter2!' }, { DbPassword: 'hunter2' }, { Pin: '42' }, { Pin: 'abc' }, { S3UserARNs: 'hunter2' }]) {
      const full: Record<string, string> = { DbPassword: 'longenoughpassword', Pin: '1234', ...given };
      expect(() => validateParameters('Db', secret, full)).toThrow(UserInputError);
      try {
        validateParameters('Db', secret, full);
      } catch (err) {
        expect((err as Error).message).not.toMatch(/hunter2|42|abc/);
      }
    }
    expect(noEchoKeys(secret)).toEqual(['DbPassword', 'Pin', 'S3UserARNs']);
    expect(maskSecrets({ DbPassword: 'x', Size: '3', S3UserARNs: '' }, ['DbPassword', 'S3UserARNs'])).toEqual({ DbPassword: MASK, Size: '3', S3UserARNs: '' });
  });

  it('checks S3UserARNs: comma separated ARNs, no white space', () => {
    const ok = 'arn:aws:iam::123456789012:user/jdoe,arn:aws:iam::123456789012:role/analyst';
    expect(validateParameters('S3', bucket, { S3UserARNs: ok }).S3UserARNs).toBe(ok);
    expect(() => validateParameters('S3', bucket, { S3UserARNs: 'arn:aws:iam::123456789012:user/a, arn:aws:iam::123456789012:user/b' })).toThrow(/no spaces/);
    expect(() => validateParameters('S3', bucket, { S3UserARNs: 'jdoe' })).toThrow(/"jdoe" is not an IAM user or role ARN/);
  });

  it('requires parameters without a default', () => {
    expect(() => validateParameters('S3 Synapse Bucket', synapse, {})).toThrow(/SynapseUserName is required/);
    expect(() => validateParameters('S3 Synapse Bucket', synapse, { SynapseUserName: 'ab' })).toThrow(/at least 3 characters/);
  });

  it('checks only the given parameters for an update', () => {
    expect(validateParameters('S3 Synapse Bucket', synapse, {}, {}, { partial: true })).toEqual({});
  });
});

describe('names', () => {
  it('carries the owner', () => {
    expect(provisionedName('bucket', 'jdoe', 'data', 'abc123')).toBe('jdoe-data');
    expect(provisionedName('bucket', 'jdoe', 'jdoe-data', 'abc123')).toBe('jdoe-data');
    expect(provisionedName('instance', 'jdoe', undefined, 'abc123')).toBe('jdoe-instance-abc123');
  });

  it('refuses bad cluster and product names', () => {
    expect(() => provisionedName('cluster', 'jdoe', 'my_cluster', 'x')).toThrow(UserInputError);
    expect(() => provisionedName('cluster', 'jdoe', 'my_cluster', 'x')).toThrow(/not a valid cluster name/);
    expect(() => provisionedName('instance', 'jdoe', 'has space', 'x')).toThrow(/not a valid name/);
    expect(provisionedName('cluster', 'jdoe', 'hpc-1', 'x')).toBe('jdoe-hpc-1');
  });

  it('infers kinds from product names', () => {
    expect(productKind('S3 Private Encrypted Bucket')).toBe('bucket');
    expect(productKind('HPC Cluster')).toBe('cluster');
    expect(productKind('EC2 Notebook')).toBe('instance');
  });
});
