// `npm run audit:export -- --since <date> [--out file]`: the audit trail since a date, as JSON lines.
import { createWriteStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { RedisAudit } from '../adapters/redis/audit.js';
import { openAuditTrail } from '../compose.js';
import { ConfigError, loadConfig } from '../config.js';
import { createLogger } from '../log.js';

/** Says so when the trail no longer reaches back to `sinceMs`: entries before its oldest were trimmed by the length cap. */
export async function trimmedNotice(audit: RedisAudit, sinceMs: number, maxLength: number): Promise<string | undefined> {
  const oldest = await audit.oldestMs();
  if (oldest === undefined || oldest <= sinceMs) return undefined;
  return `audit:export: the trail begins at ${new Date(oldest).toISOString()}; anything older was trimmed (SCICOMP_AUDIT_MAXLEN=${maxLength}) or never written`;
}

export async function exportAudit(audit: RedisAudit, sinceMs: number, write: (line: string) => boolean | void): Promise<number> {
  let count = 0;
  for await (const entry of audit.since(sinceMs)) {
    write(`${JSON.stringify(entry)}\n`);
    count++;
  }
  return count;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { since: { type: 'string' }, out: { type: 'string' } } });
  if (!values.since) throw new ConfigError('usage: npm run audit:export -- --since <date, e.g. 2026-11-01> [--out file.jsonl]');
  const sinceMs = Date.parse(values.since);
  if (Number.isNaN(sinceMs)) throw new ConfigError(`--since: "${values.since}" is not a date`);
  const config = loadConfig();
  // The log goes to stderr: stdout may be the export itself.
  const log = createLogger(config.LOG_LEVEL, pino.destination(2));
  const trail = openAuditTrail(config, log);
  const out = values.out ? createWriteStream(values.out) : process.stdout;
  const { audit } = trail;
  const notice = await trimmedNotice(audit, sinceMs, config.SCICOMP_AUDIT_MAXLEN);
  if (notice) process.stderr.write(`${notice}\n`);
  const count = await exportAudit(audit, sinceMs, (l) => out.write(l));
  if (values.out) await new Promise<void>((r) => (out as ReturnType<typeof createWriteStream>).end(r));
  process.stderr.write(`audit:export: ${count} entries since ${new Date(sinceMs).toISOString()}\n`);
  trail.close();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: Error) => {
    process.stderr.write(`audit:export: ${err.message}\n`);
    process.exit(1);
  });
}
