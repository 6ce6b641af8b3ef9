// The production build as far as it can be checked without Docker: the Dockerfile's stages, user, health check and
// command; compose runs the built image; nothing compiled imports a package that `npm ci --omit=dev` leaves out.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseDockerfile, type Instruction, type Stage } from './support/dockerfile.js';

const ROOT = new URL('..', import.meta.url).pathname;
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string>; devDependencies: Record<string, string>; scripts: Record<string, string> };

/** `dist/src/main.js` → `src/main.ts`: the source a compiled path comes from, if the build emits it. */
function sourceOf(distPath: string): string | undefined {
  const m = /^(?:\.\/|\/app\/)?dist\/(.+)\.js$/.exec(distPath);
  return m ? `${m[1]}.ts` : undefined;
}

/** The script a `node …` command line runs: the first argument that is not an option. */
function scriptOf(argv: string[]): string | undefined {
  return argv.slice(1).find((a) => !a.startsWith('-'));
}

/** The bare package names a compiled module imports at run time (type-only imports are erased, as tsc erases them). */
function runtimePackages(source: string, fileName = 'x.ts'): string[] {
  const js = ts.transpileModule(source, { fileName, compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, isolatedModules: true } }).outputText;
  const specifiers = [...js.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
  return [
    ...new Set(
      specifiers
        .filter((s) => !s.startsWith('.') && !s.startsWith('/') && !s.startsWith('node:') && !builtinModules.includes(s))
        .map((s) => s.split('/').slice(0, s.startsWith('@') ? 2 : 1).join('/')),
    ),
  ];
}

/** Packages imported by compiled code that are not production dependencies, as "file: package". */
function devOnlyImports(files: { path: string; source: string }[], dependencies: Record<string, string>): string[] {
  return files.flatMap(({ path, source }) => runtimePackages(source, path).filter((p) => !(p in dependencies)).map((p) => `${path}: ${p}`));
}

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name).slice(ROOT.length));
}

const stages = parseDockerfile(read('Dockerfile'));
const runtime = stages.at(-1)!;
const ops = (stage: Stage, op: string): Instruction[] => stage.instructions.filter((i) => i.op === op);

describe('Dockerfile', () => {
  it('builds in one stage and runs from another that starts from a fresh base image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stages.find((s) => s.name && ops(runtime, 'COPY').some((c) => c.flags.from === s.name));
    expect(build, 'the runtime stage copies its dist/ from a named build stage').toBeDefined();
    const buildRuns = ops(build!, 'RUN').map((r) => r.args);
    expect(buildRuns.some((r) => /\bnpm ci\b/.test(r) && !/--omit=dev/.test(r)), 'the build stage installs dev dependencies with npm ci').toBe(true);
    expect(buildRuns.some((r) => /\bnpm run build\b/.test(r)), 'the build stage runs npm run build').toBe(true);
    // Everything tsconfig.build.json compiles reaches the build stage.
    const buildConfig = JSON.parse(read('tsconfig.build.json')) as { include: string[]; extends: string };
    const copied = ops(build!, 'COPY').flatMap((c) => c.args.split(/\s+/).slice(0, -1));
    for (const needed of [...buildConfig.include, 'tsconfig.build.json', buildConfig.extends.replace(/^\.\//, ''), 'package-lock.json']) {
      expect(copied, `the build stage copies ${needed}`).toContain(needed);
    }
  });

  it('installs only production dependencies in the runtime stage and copies dist/ and the manifests', () => {
    const runs = ops(runtime, 'RUN').map((r) => r.args);
    expect(runs.some((r) => /\bnpm ci\b.*--omit=dev/.test(r))).toBe(true);
    const copies = ops(runtime, 'COPY');
    expect(copies.some((c) => c.flags.from && /\/dist\s/.test(`${c.args}`))).toBe(true);
    expect(copies.some((c) => !c.flags.from && c.args.split(/\s+/)[0] === 'manifests')).toBe(true);
    expect(runtime.instructions.map((i) => i.args).join('\n')).not.toMatch(/\btsx\b|\bnpx\b/);
  });

  it('runs as a user that is not root', () => {
    const user = ops(runtime, 'USER').at(-1)?.args.split(':')[0];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    // Nothing after USER switches back to root.
    const last = runtime.instructions.findLastIndex((i) => i.op === 'USER');
    expect(runtime.instructions.slice(last).filter((i) => i.op === 'RUN')).toEqual([]);
  });

  it('checks health by asking /healthz with node (slim has no curl)', () => {
    const check = ops(runtime, 'HEALTHCHECK').at(-1);
    expect(check?.exec?.[0]).toBe('node');
    expect(check!.exec!.join(' ')).toContain('/healthz');
  });

  it('starts node on the compiled entry point in exec form, so node is PID 1 and receives SIGTERM', () => {
    const entrypoint = ops(runtime, 'ENTRYPOINT').at(-1);
    const cmd = ops(runtime, 'CMD').at(-1);
    expect(cmd?.exec, 'CMD in exec form: the shell form makes /bin/sh PID 1, and sh does not pass SIGTERM on').toBeDefined();
    if (entrypoint) expect(entrypoint.exec, 'ENTRYPOINT in exec form').toBeDefined();
    const argv = [...(entrypoint?.exec ?? []), ...cmd!.exec!];
    expect(argv[0]).toBe('node');
    const script = scriptOf(argv)!;
    expect(sourceOf(script), `${script} is a compiled file under dist/`).toBeDefined();
    expect(existsSync(join(ROOT, sourceOf(script)!)), `${script} is compiled from ${sourceOf(script)}`).toBe(true);
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, { build?: unknown; image?: string; command?: string[] }> };
  const ours = Object.entries(compose.services).filter(([, s]) => s.build !== undefined);

  it('runs web and worker roles of the built image on the compiled code', () => {
    expect(ours.map(([name]) => name).sort()).toEqual(['web', 'worker']);
    for (const [name, service] of ours) {
      const argv = service.command!;
      expect(argv[0], name).toBe('node');
      expect(argv.join(' '), name).not.toMatch(/\btsx\b|\bnpx\b/);
      expect(existsSync(join(ROOT, sourceOf(scriptOf(argv)!) ?? 'missing')), `${name} runs a compiled entry point`).toBe(true);
      expect(argv, name).toContain(`--role=${name}`);
    }
  });
});

describe('package.json', () => {
  it('keeps tsx for development only and starts production with node on dist/', () => {
    expect(pkg.dependencies).not.toHaveProperty('tsx');
    expect(pkg.devDependencies).toHaveProperty('tsx');
    expect(pkg.scripts['start:prod']).toMatch(/^node (?:--\S+ )*dist\/src\/main\.js$/);
    expect(pkg.scripts.build).toContain('tsconfig.build.json');
    expect(pkg.scripts.start).toBeDefined();
    expect(pkg.scripts.test).toBe('vitest run');
  });

  it('lists every package that compiled code imports as a production dependency', () => {
    const files = [...tsFiles('src'), ...tsFiles('jobs')].map((path) => ({ path, source: read(path) }));
    expect(files.length).toBeGreaterThan(10);
    expect(devOnlyImports(files, pkg.dependencies)).toEqual([]);
  });

  it('the import check catches a dev-only package and ignores type-only imports', () => {
    const source = [
      "import type { Options } from 'pino-pretty';",
      "import { type TestContext } from 'vitest';",
      "import pretty from 'pino-pretty';",
      "import { readFile } from 'node:fs/promises';",
      "import { pino } from 'pino';",
      "const later = await import('tsx/esm/api');",
      'export const x: Options | TestContext | undefined = undefined;',
      'export { pretty, readFile, pino, later };',
    ].join('\n');
    expect(devOnlyImports([{ path: 'src/x.ts', source }], pkg.dependencies)).toEqual(['src/x.ts: pino-pretty', 'src/x.ts: tsx']);
  });
});

describe('--help', () => {
  it('prints the roles and exits 0 without reading any configuration', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts'), '--help'], {
      // A setting that would stop start-up: --help must not get that far.
      env: { PATH: process.env.PATH, PORT: 'not-a-port', NODE_NO_WARNINGS: '1' },
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: /);
    for (const role of ['--role=all', '--role=web', '--role=worker']) expect(r.stdout).toContain(role);
  });
});
