// Real scicomp processes for tests: `src/main.ts` started as `npm start` does, on a free port, from a clean environment.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REDIS_URL } from './redis.js';

export const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;

/** A loopback port free a moment ago, for a process that must be told its port before it listens. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * The environment a fresh machine has: none of scicomp's variables, no AWS or Slack credentials, the test Redis, and an
 * empty home (a developer's own ~/.aws/credentials would, rightly, take it out of the sandbox); then `extra`.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: mkdtempSync(join(tmpdir(), 'scicomp-home-')), NODE_NO_WARNINGS: '1', REDIS_URL, ...extra };
}

export interface MainProcess {
  child: ChildProcess;
  /** What it printed on stdout so far. */
  stdout(): string;
  /** What it printed on stderr so far. */
  stderr(): string;
  /** Both, in the order they arrived. */
  output(): string;
  /** Its exit code, once it exits (null when a signal ended it). */
  exited: Promise<number | null>;
  /** Waits, to a 15 s deadline, until stdout after `from` matches `text`. */
  seen(text: RegExp, what: string, from?: number): Promise<RegExpExecArray>;
  /** Types a line on its stdin (only with `stdin: 'pipe'`). */
  type(line: string): void;
  /** Ends it as a user would (`quit` on a piped stdin, then SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
}

/** Spawns `src/main.ts` with `cleanEnv(env)`; `stdin: 'pipe'` to type at its console. */
export function spawnMain(env: Record<string, string>, o: { args?: string[]; stdin?: 'pipe' | 'ignore' } = {}): MainProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...(o.args ?? [])], { env: cleanEnv(env), stdio: [o.stdin ?? 'ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let output = '';
  child.stdout!.on('data', (d) => ((stdout += d), (output += d)));
  child.stderr!.on('data', (d) => ((stderr += d), (output += d)));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    output: () => output,
    exited,
    seen: async (text, what, from = 0) => {
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        const m = text.exec(stdout.slice(from));
        if (m) return m;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`timed out waiting for ${what}; console showed:\n${stdout}`);
    },
    type: (line) => void child.stdin!.write(`${line}\n`),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin?.end('quit\n');
        child.kill('SIGTERM');
      }
      await exited;
    },
  };
}
