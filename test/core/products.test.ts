import { describe, expect, it } from 'vitest';
import { UserInputError } from '../../src/core/errors.js';
import type { ParameterSpec } from '../../src/core/ports.js';
import {
  allowedValuesFor,
  compilePattern,
  hideNoEchoDefault,
  maskSecrets,
  MASK,
  noEchoKeys,
  pathLabel,
  pickLaunchPath,
  productKind,
  provisionedName,
  usageLines,
  validateParameters,
} from '../../src/core/products.js';

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

  it('leaves out a NoEcho parameter with a default the person did not give: AWS applies the template\'s, the bot never holds it', () => {
    const spec = hideNoEchoDefault({ key: 'DbPassword', noEcho: true, defaultValue: '****', allowedPattern: '.{8,}' });
    expect(spec).toEqual({ key: 'DbPassword', noEcho: true, hasDefault: true, allowedPattern: '.{8,}' });
    expect(validateParameters('RDS', [spec, ...ec2], {})).toEqual({ InstanceType: 't3.micro', AmiId: 'ami-0abc1234', VolumeSize: '30' });
    expect(validateParameters('RDS', [spec], { DbPassword: 'correct horse battery' })).toEqual({ DbPassword: 'correct horse battery' });
    expect(() => validateParameters('RDS', [spec], { DbPassword: 'short' })).toThrow(/DbPassword/);
    // Without a default it is still required; other parameters keep theirs.
    expect(() => validateParameters('RDS', [hideNoEchoDefault({ key: 'DbPassword', noEcho: true })], {})).toThrow(/DbPassword is required/);
    expect(hideNoEchoDefault(ec2[0]!)).toBe(ec2[0]);
  });
});

describe('CloudFormation (Java) patterns', () => {
  it.each([
    '[a-z0-9]{6,16}+',
    '[a-z]++',
    '(?>ab|a)c',
    '\\p{javaLowerCase}+',
    '\\p{IsLatin}+',
    '[\\P{Lower}x]',
    '\\Aabc\\z',
    '(?i)abc',
    '[a-z&&[^aeiou]]+',
    '[a-z[0-9]]+',
    '\\v',
  ])('cannot check %s: the check is skipped, reported once, and the value goes on', (pattern) => {
    expect(compilePattern(pattern)).toBeUndefined();
    const specs: ParameterSpec[] = [{ key: 'UserName', allowedPattern: pattern, minLength: 3 }];
    const warned: string[] = [];
    const warn = (key: string, p: string) => warned.push(`${key} ${p}`);
    expect(validateParameters('P', specs, { UserName: 'jdoe42' }, {}, { warn })).toEqual({ UserName: 'jdoe42' });
    expect(validateParameters('P', specs, { UserName: 'other' }, {}, { warn })).toEqual({ UserName: 'other' });
    expect(warned).toEqual([`UserName ${pattern}`]);
    // The other constraints still hold.
    expect(() => validateParameters('P', specs, { UserName: 'ab' }, {}, { warn })).toThrow(/at least 3 characters/);
  });

  it.each([
    ['[a-zA-Z0-9\\-_]+', 'a-b_c', 'a b'],
    ['[\\w-.]+', 'a.b-c', 'a b'],
    ['\\Q1.2\\E(\\.\\d+)?', '1.2.3', '1x2'],
    ['\\x{41}+', 'AA', 'B'],
    ['[]a]+', ']a', 'b'],
    ['\\@?[a-z]+\\#?', '@ab#', 'ab##'],
    ['\\p{L}+', 'été', 'e1'],
    ['\\pL+', 'été', 'e1'],
    ['\\p{Lower}+', 'abc', 'été'],
    ['[\\p{Upper}\\p{Digit}]+', 'A1', 'a1'],
    ['\\P{Alpha}+', '12', 'a'],
    ['\\p{Punct}+', '$+<~', 'a'],
  ])('reads %s as Java does', (pattern, ok, bad) => {
    const re = compilePattern(pattern);
    expect(re).toBeDefined();
    expect(re!.test(ok)).toBe(true);
    expect(re!.test(bad)).toBe(false);
  });

  it('compiles each pattern once', () => {
    expect(compilePattern('ami-[0-9a-f]{8,17}')).toBe(compilePattern('ami-[0-9a-f]{8,17}'));
  });
});

describe('list parameters', () => {
  const list: ParameterSpec[] = [
    { key: 'RPackages', type: 'CommaDelimitedList', defaultValue: 'tidyverse, shiny', allowedValues: ['tidyverse', 'shiny', 'bioconductor'] },
    { key: 'Subnets', type: 'List<AWS::EC2::Subnet::Id>', defaultValue: 'subnet-0a1b2c3d', allowedPattern: 'subnet-[0-9a-f]{8,17}' },
    { key: 'Ports', type: 'List<Number>', defaultValue: '80', minValue: 1, maxValue: 65535 },
  ];

  it('checks allowed values, patterns and numbers per trimmed element, and keeps the product\'s own default', () => {
    expect(validateParameters('R', list, {})).toEqual({ RPackages: 'tidyverse, shiny', Subnets: 'subnet-0a1b2c3d', Ports: '80' });
    expect(validateParameters('R', list, { RPackages: 'tidyverse,bioconductor', Subnets: 'subnet-0a1b2c3d, subnet-0e1f2a3b', Ports: '80,443' }).RPackages).toBe('tidyverse,bioconductor');
    expect(() => validateParameters('R', list, { RPackages: 'tidyverse,ggplot,dplyr' })).toThrow(
      /RPackages: "ggplot", "dplyr" are not allowed. Choose from: tidyverse, shiny, bioconductor \(several, comma-separated\)/,
    );
    expect(() => validateParameters('R', list, { Subnets: 'subnet-0a1b2c3d,vpc-1' })).toThrow(/Subnets: "vpc-1" does not match the required pattern/);
    expect(() => validateParameters('R', list, { Ports: '80,70000' })).toThrow(/Ports: 70000 is above the maximum of 65535/);
  });

  it('narrows per element by policy', () => {
    const policy = { RPackages: { allowedValues: ['tidyverse', 'shiny', 'matlab'] } };
    expect(allowedValuesFor(list[0]!, policy.RPackages)).toEqual(['tidyverse', 'shiny']);
    expect(validateParameters('R', list, { RPackages: 'shiny,tidyverse' }, policy).RPackages).toBe('shiny,tidyverse');
    expect(() => validateParameters('R', list, { RPackages: 'shiny,bioconductor' }, policy)).toThrow(/"bioconductor" is not allowed by policy/);
  });

  it('leaves String and SSM parameter types whole', () => {
    const whole: ParameterSpec[] = [{ key: 'Name', type: 'AWS::SSM::Parameter::Value<List<String>>', allowedValues: ['a,b'] }];
    expect(validateParameters('R', whole, { Name: 'a,b' }).Name).toBe('a,b');
  });
});

describe('launch paths', () => {
  const slash = (words: string) => `/scicomp ${words}`;
  const paths = [
    { id: 'lp-research', name: 'Research Computing' },
    { id: 'lp-teaching', name: 'Teaching' },
  ];

  it('takes the policy\'s path, else the one named, else the only one', () => {
    expect(pickLaunchPath('R', paths, slash, 'teaching').id).toBe('lp-teaching');
    expect(pickLaunchPath('R', paths, slash, 'lp-research', 'Research Computing').id).toBe('lp-research');
    expect(pickLaunchPath('R', paths, slash, undefined, 'lp-teaching').id).toBe('lp-teaching');
    expect(pickLaunchPath('R', paths, slash, undefined, 'research computing').id).toBe('lp-research');
    expect(pickLaunchPath('R', [paths[1]!], slash).id).toBe('lp-teaching');
  });

  it('asks when several paths are left to choose, and refuses unknown ones', () => {
    expect(() => pickLaunchPath('R', paths, slash)).toThrow(/R can be launched through 2 launch paths: "Research Computing", "Teaching". Say which with path=/);
    expect(() => pickLaunchPath('R', paths, (w) => w)).toThrow(expect.objectContaining({ hint: 'launch "R" <name> path="Research Computing" key=value …, or launch with no arguments for a form.' }));
    expect(() => pickLaunchPath('R', paths, slash, undefined, 'Labs')).toThrow(/R has no launch path "Labs". Launch paths: "Research Computing", "Teaching"/);
    expect(() => pickLaunchPath('R', paths, slash, 'Labs')).toThrow(/catalog policy launches R through the launch path "Labs", which it does not have.*Ask IT/);
    expect(() => pickLaunchPath('R', paths, slash, 'Teaching', 'Research Computing')).toThrow(/through the launch path "Teaching"; leave out path=/);
  });

  it('labels unnamed or same-named paths with their ids', () => {
    const twins = [{ id: 'lp-1', name: 'Shared' }, { id: 'lp-2', name: 'Shared' }, { id: 'lp-3' }];
    expect(twins.map((p) => pathLabel(p, twins))).toEqual(['Shared (lp-1)', 'Shared (lp-2)', 'unnamed (lp-3)']);
    expect(pickLaunchPath('R', twins, slash, undefined, 'Shared (lp-2)').id).toBe('lp-2');
  });

  it('shows usage instructions one a line', () => {
    expect(usageLines([{ type: 'schedule', value: ' Stopped at night. ' }, { type: 'x', value: '' }])).toEqual(['schedule: Stopped at night.']);
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
