// The Dockerfile replayed without Docker: its build stage compiles in a clean directory, its runtime stage installs
// production dependencies only (`npm ci --omit=dev`, from the local npm cache), and what it starts answers its own
// HEALTHCHECK and stops on SIGTERM. Catches a run-time import of a dev-only package, a file the image forgets to copy,
// a CMD that is not node. Slow (a production install and a compile): `npm run test:image`, run by CI after the tests.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, posix } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseDockerfile, type Stage } from './support/dockerfile.js';
import { freePort } from './support/processes.js';
import { REDIS_URL } from './support/redis.js';

const ROOT = new URL('..', import.meta.url).pathname;
const enabled = process.env.SCICOMP_IMAGE_CHECK === '1';

interface Replayed {
  dir: string;
  workdir: string;
  env: Record<string, string>;
  healthcheck?: string[];
  entrypoint: string[];
  cmd: string[];
}

/** What the container runs: ENTRYPOINT then CMD, or the `command` compose gives in place of CMD. */
const argvOf = (image: Replayed, command?: string[]) => [...image.entrypoint, ...(command ?? image.cmd)];

function sh(command: string, args: string[], cwd: string): void {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed in ${cwd} (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
}

/** Runs one stage's instructions in `dir`; `stages` holds the stages already replayed, for COPY --from. */
function replay(stage: Stage, dir: string, stages: Map<string, Replayed>): Replayed {
  const out: Replayed = { dir, workdir: '/', env: {}, entrypoint: [], cmd: [] };
  for (const i of stage.instructions) {
    switch (i.op) {
      case 'WORKDIR':
        out.workdir = posix.resolve(out.workdir, i.args);
        break;
      case 'ENV':
        for (const pair of i.args.split(/\s+/)) {
          const [k, ...v] = pair.split('=');
          out.env[k!] = v.join('=');
        }
        break;
      case 'COPY': {
        const parts = i.args.split(/\s+/);
        const dest = parts.pop()!;
        const from = i.flags.from ? stages.get(i.flags.from) : undefined;
        if (i.flags.from && !from) throw new Error(`line ${i.line}: COPY --from=${i.flags.from}: no such stage before it`);
        for (const src of parts) {
          // A path in another stage is under that stage's WORKDIR, which its directory stands for.
          const source = from ? join(from.dir, posix.relative(from.workdir, posix.resolve(from.workdir, src))) : join(ROOT, src);
          const target = join(dir, posix.relative(out.workdir, posix.resolve(out.workdir, dest)));
          const intoDir = dest.endsWith('/') || parts.length > 1;
          mkdirSync(intoDir ? target : join(target, '..'), { recursive: true });
          cpSync(source, intoDir ? join(target, basename(src)) : target, { recursive: true });
        }
        break;
      }
      case 'RUN':
        for (const step of i.args.split('&&').map((s) => s.trim())) {
          const argv = step.split(/\s+/);
          if (step.startsWith('npm ci') && step.includes('--omit=dev')) sh('npm', [...argv.slice(1), '--prefer-offline'], dir);
          // The full install CI has just made is the same `npm ci`: use it rather than download 500 MB again.
          else if (step.startsWith('npm ci')) symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
          else if (step.startsWith('npm run ')) sh('npm', argv.slice(1), dir);
          // It would empty the cache this machine installs from; in the image it only saves space.
          else if (step.startsWith('npm cache clean')) continue;
          else throw new Error(`line ${i.line}: this check does not know how to replay RUN ${step}: teach test/image.test.ts`);
        }
        break;
      case 'HEALTHCHECK':
        if (i.exec) out.healthcheck = i.exec;
        break;
      case 'CMD':
      case 'ENTRYPOINT':
        if (!i.exec) throw new Error(`line ${i.line}: ${i.op} in shell form: /bin/sh would be PID 1 and swallow SIGTERM`);
        if (i.op === 'ENTRYPOINT') out.entrypoint = i.exec;
        else out.cmd = i.exec;
        break;
      default:
        // USER, EXPOSE, LABEL, STOPSIGNAL, ARG: nothing to do without Docker.
        break;
    }
  }
  return out;
}

const dirs: string[] = [];
const children: ChildProcess[] = [];
const prefixes: string[] = [];

/** Starts `argv` as the container would: in the image's directory, with its ENV, no credentials and a free port. */
async function start(image: Replayed, argv: string[]): Promise<{ child: ChildProcess; env: NodeJS.ProcessEnv; output: () => string; exit: Promise<number | null> }> {
  const prefix = `image${process.pid}${Date.now()}${prefixes.length}`;
  prefixes.push(prefix);
  const home = mkdtempSync(join(tmpdir(), 'scicomp-image-home-'));
  dirs.push(home);
  // A data key, as every deployment that runs web and workers apart must have (one per process here: nothing is shared).
  const env = { PATH: process.env.PATH, HOME: home, ...image.env, REDIS_URL, PORT: String(await freePort()), SCICOMP_PREFIX: prefix, SCICOMP_DATA_KEY: Buffer.alloc(32, 3).toString('base64') };
  const child = spawn(argv[0]!, argv.slice(1), { cwd: image.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, env, output: () => out, exit };
}

function healthy(image: Replayed, env: NodeJS.ProcessEnv): boolean {
  const [cmd, ...args] = image.healthcheck!;
  return spawnSync(cmd!, args, { cwd: image.dir, env, timeout: 5_000 }).status === 0;
}

type Run = Awaited<ReturnType<typeof start>>;

/** Waits for `check` with a deadline; a process that exits first, or the deadline, fails with what it printed. */
async function until(check: () => boolean, what: string, run: Run): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!check()) {
    const why = run.child.exitCode !== null ? `it exited with ${run.child.exitCode}` : Date.now() > deadline ? 'timed out' : undefined;
    if (why) throw new Error(`${why} waiting for ${what}; the process said:\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stops(run: Run): Promise<number | null> {
  run.child.kill('SIGTERM');
  return Promise.race([run.exit, new Promise<string>((r) => setTimeout(() => r('still running 20 s after SIGTERM'), 20_000))]) as Promise<number | null>;
}

describe.runIf(enabled)('the image, replayed without Docker', () => {
  let image: Replayed;

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    const redis = new Redis(REDIS_URL);
    for (const prefix of prefixes) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
    }
    await redis.quit();
  });

  it('builds and installs in clean directories, as the Dockerfile says', () => {
    const stages = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
    const done = new Map<string, Replayed>();
    for (const [n, stage] of stages.entries()) {
      const dir = mkdtempSync(join(tmpdir(), `scicomp-image-${stage.name ?? n}-`));
      dirs.push(dir);
      const replayed = replay(stage, dir, done);
      done.set(stage.name ?? String(n), replayed);
      image = replayed;
    }
    expect(argvOf(image)[0]).toBe('node');
    expect(image.healthcheck).toBeDefined();
  }, 300_000);

  it('prints its usage with --help', () => {
    const [cmd, ...args] = argvOf(image);
    const r = spawnSync(cmd!, [...args, '--help'], { cwd: image.dir, env: { PATH: process.env.PATH, ...image.env }, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--role=worker');
  });

  it('its CMD passes its HEALTHCHECK with no credentials (sandbox) and exits 0 on SIGTERM', async () => {
    const run = await start(image, argvOf(image));
    await until(() => healthy(image, run.env), 'the HEALTHCHECK to pass', run);
    expect(await stops(run)).toBe(0);
  }, 60_000);

  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, { build?: unknown; command?: string[] }> };

  it('compose web role passes the HEALTHCHECK; the worker role starts its workers; both exit 0 on SIGTERM', async () => {
    const web = await start(image, argvOf(image, compose.services.web!.command));
    const worker = await start(image, argvOf(image, compose.services.worker!.command));
    await until(() => healthy(image, web.env), 'the web HEALTHCHECK to pass', web);
    await until(() => worker.output().includes('scicomp workers started'), 'the workers to start', worker);
    expect(await stops(web)).toBe(0);
    expect(await stops(worker)).toBe(0);
  }, 60_000);
});
