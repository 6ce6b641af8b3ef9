// checkAgainstPolicy: the one policy check launch and update both go through, judged on what the product would run with.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkAgainstPolicy } from '../../src/core/admission.js';
import { NotAuthorizedError, UserInputError } from '../../src/core/errors.js';
import { parsePolicy } from '../../src/core/policy.js';
import { sandboxProducts } from '../../src/sandbox/catalog.js';

const policy = parsePolicy(readFileSync('manifests/catalog.yaml', 'utf8').replace('users: {}', 'users:\n  guest@synapse.org: { role: guest }'));
const specs = sandboxProducts().find((p) => p.name === 'EC2 Linux')!.parameters;
const researcher = { email: 'any@synapse.org', handles: [{ platform: 'slack' as const, userId: 'UANY' }] };
const guest = { email: 'guest@synapse.org', handles: [{ platform: 'slack' as const, userId: 'UGUEST' }] };
const linux = (requested: Record<string, string>, current?: Record<string, string>) => ({
  productName: 'EC2 Linux',
  specs,
  requested,
  update: current ? { name: 'jdoe-box', current } : undefined,
});
const small = { InstanceType: 't3.micro', AmiId: 'ami-0c02fb55956c7d316', VolumeSize: '30' };

describe('checkAgainstPolicy', () => {
  it('a launch: every parameter, defaults filled, and the approval reason', () => {
    expect(checkAgainstPolicy(linux({}), researcher, policy)).toEqual({ parameters: small, reason: undefined });
    expect(checkAgainstPolicy(linux({ InstanceType: 'c5.2xlarge' }), researcher, policy).reason).toBe('InstanceType=c5.2xlarge needs IT approval');
  });

  it('an update is judged on the product it would make: the current parameters with the changes', () => {
    expect(checkAgainstPolicy(linux({ InstanceType: 'c5.2xlarge', VolumeSize: '1000' }, small), researcher, policy)).toEqual({
      parameters: { InstanceType: 'c5.2xlarge', VolumeSize: '1000' },
      reason: 'InstanceType=c5.2xlarge needs IT approval',
    });
    expect(checkAgainstPolicy(linux({ VolumeSize: '600' }, small), researcher, policy).reason).toBe('VolumeSize above 500 needs IT approval');
    // A change that is harmless alone, to a product approved as large, still makes a large product.
    expect(checkAgainstPolicy(linux({ VolumeSize: '40' }, { ...small, InstanceType: 'c5.2xlarge' }), researcher, policy).reason).toBe('InstanceType=c5.2xlarge needs IT approval');
    expect(checkAgainstPolicy(linux({ VolumeSize: '40' }, small), researcher, policy)).toEqual({ parameters: { VolumeSize: '40' }, reason: undefined });
  });

  it('a current value it does not know counts against the update where a rule names it (fail closed)', () => {
    expect(checkAgainstPolicy(linux({ AmiId: 'ami-0123456789abcdef0' }, {}), researcher, policy).reason).toBe('the current InstanceType is not known to scicomp, so IT must check it');
    expect(checkAgainstPolicy(linux({ InstanceType: 't3.small' }, { AmiId: small.AmiId }), researcher, policy).reason).toBe('the current VolumeSize is not known to scicomp, so IT must check it');
    // Changed, the unknown ones are known: the result is judged as any other.
    expect(checkAgainstPolicy(linux({ InstanceType: 't3.small', VolumeSize: '40' }, {}), researcher, policy).reason).toBeUndefined();
  });

  it('refuses a role that may not use the product, for an update as for a launch', () => {
    expect(() => checkAgainstPolicy(linux({}), guest, policy)).toThrow(new NotAuthorizedError('Your role (guest) may not launch EC2 Linux. Ask IT if you need it.'));
    expect(() => checkAgainstPolicy(linux({ VolumeSize: '40' }, small), guest, policy)).toThrow(NotAuthorizedError);
    expect(() => checkAgainstPolicy(linux({ VolumeSize: '40' }, small), guest, policy)).toThrow('Your role (guest) may not use EC2 Linux, so jdoe-box cannot be changed');
  });

  it('refuses values the policy narrows away, in the changes and in what the product keeps', () => {
    expect(() => checkAgainstPolicy(linux({ InstanceType: 'c5.4xlarge' }, small), researcher, policy)).toThrow(UserInputError);
    const narrower = parsePolicy(readFileSync('manifests/catalog.yaml', 'utf8').replace('allowedValues: [t3.micro, t3.small, t3.medium, t3.large, m5.large, m5.xlarge, c5.2xlarge]', 'allowedValues: [t3.small, t3.medium]'));
    expect(() => checkAgainstPolicy(linux({ VolumeSize: '40' }, small), researcher, narrower)).toThrow(
      'jdoe-box runs with settings the policy no longer allows: InstanceType: "t3.micro" is not allowed by policy. Choose one of: t3.small, t3.medium. Change them in the same update.',
    );
    expect(checkAgainstPolicy(linux({ VolumeSize: '40', InstanceType: 't3.small' }, small), researcher, narrower).reason).toBeUndefined();
  });
});
