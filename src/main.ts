// `npm start`: web and workers in one process (--role=web or --role=worker runs one half); built by compose.ts.
import type { Scicomp } from './app.js';
import type { Role } from './compose.js';
import { ConfigError, loadConfig } from './config.js';
import { PolicyError } from './core/policy.js';

const USAGE = `usage: scicomp [--role=all|web|worker]   (node dist/src/main.js in the image, npm start from the source)

  --role=all     web and workers in one process (the default)
  --role=web     the HTTP server only: Slack, POST /sns, GET /healthz
  --role=worker  the queue workers only
  --help         this text

Settings come from the environment (PORT, REDIS_URL, SLACK_*, SCICOMP_*): see README.md, Configuration.
`;

function roleFromArgs(argv: string[]): Role {
  const arg = argv.find((a) => a.startsWith('--role='))?.slice('--role='.length) ?? 'all';
  if (arg !== 'all' && arg !== 'web' && arg !== 'worker') throw new ConfigError(`invalid --role: ${arg} (web, worker or all)`);
  return arg;
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  const config = loadConfig();
  const role = roleFromArgs(process.argv.slice(2));
  // Filled once serve() has built it; a signal before then finds nothing to close.
  const running: { app?: Scicomp } = {};
  let stopping = false;
  const stop = async (signal: string) => {
    const { app } = running;
    if (stopping) {
      // Asked again: whoever sends it wants out now; jobs in hand return to their queues when their locks expire.
      app?.log.warn({ signal }, 'second signal: exiting at once');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    stopping = true;
    app?.log.info({ signal, timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'shutting down: finishing the work in hand (a second signal exits at once)');
    try {
      await app?.close();
    } catch (err) {
      app?.log.error({ err }, 'shutdown did not finish cleanly');
      process.exit(1);
    }
    app?.log.info('shut down');
    process.exit(0);
  };
  // Loaded once the settings are known to be good: --help and a bad setting answer without loading Slack, BullMQ or AWS.
  const { serve } = await import('./compose.js');
  const app = await serve(role, config, { env: process.env, stdinIsTTY: process.stdin.isTTY === true, onConsoleExit: () => void stop('console closed') });
  running.app = app;
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGHUP', () => {
    app.reloadPolicy().catch((err: Error) => app.log.error({ err }, 'catalog policy NOT reloaded; the previous one stays in force'));
  });
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof PolicyError) {
    process.stderr.write(`scicomp: ${err.message}\n`);
  } else {
    // One line (a Secrets Manager or Redis fault at start-up); the stack only when asked for.
    const detail = process.env.LOG_LEVEL === 'debug' || process.env.LOG_LEVEL === 'trace' ? ((err as Error).stack ?? String(err)) : ((err as Error).message ?? String(err));
    process.stderr.write(`scicomp: failed to start: ${detail}\n`);
  }
  process.exit(1);
});
