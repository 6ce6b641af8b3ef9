// `help` and `products`: what scicomp can do, and what the caller may launch.
import { cachedProducts } from './catalog-cache.js';
import type { CommandText } from './channel.js';
import type { Verb } from './command.js';
import type { CoreDeps, Ctx } from './context.js';
import type { Message } from './message.js';

const HELP: Partial<Record<Verb, { usage: string; does: string; example?: string }>> = {
  help: { usage: 'help [verb]', does: 'this list, or one verb in detail' },
  products: { usage: 'products', does: 'what you may launch, with versions and whether approval is needed' },
  launch: {
    usage: 'launch [product] [name] [key=value …]',
    does: 'launch a product; with no arguments, opens a form. version=<name> picks a version, path=<name> a launch path; a list parameter takes values joined with ","',
    example: 'launch "EC2 Linux" analysis InstanceType=t3.large VolumeSize=100',
  },
  list: { usage: 'list', does: 'your provisioned products and their state' },
  status: { usage: 'status <name>', does: 'status, outputs and last record of one product', example: 'status jdoe-analysis' },
  connect: { usage: 'connect <name>', does: 'the SSM commands to reach an instance', example: 'connect analysis' },
  update: {
    usage: 'update <name> key=value …',
    does: 'change parameters (an instance is replaced: you confirm first; IT approves what a launch would need approval for)',
    example: 'update analysis InstanceType=m5.large',
  },
  terminate: { usage: 'terminate <name>', does: 'delete a product (you confirm first; buckets are archived 30 days)' },
  transfer: { usage: 'transfer <name> <@user>', does: 'ask IT to give a product to someone else' },
  restore: { usage: 'restore <bucket>', does: 'ask IT to restore a bucket terminated in the last 30 days' },
  budget: { usage: 'budget', does: 'your monthly budget, spend to date and forecast' },
  snooze: { usage: 'snooze <name> <duration>', does: 'mute idle pings for a product', example: 'snooze analysis 24h' },
  approvals: { usage: 'approvals', does: '(IT) pending requests' },
  offboard: { usage: 'offboard <@user>', does: '(IT) everything a user owns, to transfer or terminate' },
  audit: { usage: 'audit [<@user>|<name>]', does: '(IT) recent audit entries' },
  reload: { usage: 'reload', does: '(admin) re-read the catalog policy' },
};

/** Every verb, or one in detail; `say` names commands as the asker's channel does. */
export function help(topic: string | undefined, say: CommandText): Message {
  const entry = topic ? HELP[topic as Verb] : undefined;
  if (entry) {
    return {
      text: `${say(entry.usage)}: ${entry.does}`,
      title: say(entry.usage),
      body: [entry.does],
      code: entry.example ? [say(entry.example)] : undefined,
    };
  }
  const prefix = topic ? [`"${topic}" is not a scicomp command. These are:`] : [];
  return {
    text: 'scicomp: self-service AWS compute. Commands: ' + Object.keys(HELP).join(', '),
    title: 'scicomp commands',
    body: prefix,
    fields: Object.values(HELP).map((h) => ({ label: say(h!.usage), value: h!.does })),
    code: ['launch', 'launch "S3 Private Encrypted Bucket" data', 'list'].map(say),
  };
}

export async function products(ctx: Ctx, deps: CoreDeps): Promise<Message> {
  const policy = deps.policy();
  const role = policy.roleOf(ctx.actor);
  const mine = (await cachedProducts(deps)).filter((p) => policy.productRule(p.name).roles.includes(role));
  if (mine.length === 0) return { text: `Your role (${role}) may not launch any product. Ask IT.`, tone: 'info' };
  return {
    text: `You may launch ${mine.length} product${mine.length === 1 ? '' : 's'}.`,
    title: 'Products you may launch',
    fields: mine.map((p) => ({
      label: p.name,
      value: `${p.versions.filter((v) => v.active).map((v) => v.name).join(', ') || 'no active version'} · ${policy.approvalSummary(p.name)}${p.description ? ` · ${p.description}` : ''}`,
    })),
    context: [`${deps.channels.commandText(ctx.actor.platform, 'launch')} opens a form; ${deps.channels.commandText(ctx.actor.platform, 'help launch')} shows the typed form.`],
  };
}
