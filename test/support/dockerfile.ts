// A Dockerfile read into stages and instructions, enough for tests to check what the image does without Docker.

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY, CMD… */
  op: string;
  /** `--name=value` options before the arguments (`COPY --from=build`, `HEALTHCHECK --interval=10s`). */
  flags: Record<string, string>;
  /** The arguments after the options, as written. */
  args: string;
  /** The arguments in exec form (`["node", "x.js"]`), or undefined for shell form. */
  exec?: string[];
  line: number;
}

export interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

function splitFlags(rest: string): { flags: Record<string, string>; args: string } {
  const flags: Record<string, string> = {};
  let args = rest.trim();
  for (let m = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(args); m; m = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(args)) {
    flags[m[1]!] = m[2] ?? 'true';
    args = args.slice(m[0].length);
  }
  return { flags, args };
}

function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`not an exec form: ${args}`);
  return parsed;
}

/** Stages in order; instructions before the first FROM (ARG) are dropped. Continuation lines and comments as Docker reads them. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let logical = lines[i]!.trim();
    if (logical === '' || logical.startsWith('#')) continue;
    while (logical.endsWith('\\') && i + 1 < lines.length) {
      logical = logical.slice(0, -1);
      const next = lines[++i]!.trim();
      if (!next.startsWith('#')) logical += ` ${next}`;
    }
    const m = /^(\S+)\s*(.*)$/.exec(logical)!;
    const op = m[1]!.toUpperCase();
    const { flags, args } = splitFlags(m[2]!);
    if (op === 'FROM') {
      const [image, as, name] = args.split(/\s+/);
      stages.push({ image: image!, ...(as?.toUpperCase() === 'AS' && name ? { name } : {}), instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) continue;
    if (op === 'HEALTHCHECK') {
      // HEALTHCHECK [options] CMD <command> | NONE
      const cmd = /^CMD\s+(.*)$/i.exec(args);
      stage.instructions.push({ op, flags, args, ...(cmd ? { exec: execForm(cmd[1]!.trim()) ?? ['/bin/sh', '-c', cmd[1]!.trim()] } : {}), line: start });
      continue;
    }
    const exec = ['RUN', 'CMD', 'ENTRYPOINT'].includes(op) ? execForm(args) : undefined;
    stage.instructions.push({ op, flags, args, ...(exec ? { exec } : {}), line: start });
  }
  return stages;
}
