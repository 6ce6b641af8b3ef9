// `npm run teams:package [-- --out file.zip]`: the Teams app package to upload, ids from TEAMS_APP_ID and SCICOMP_PUBLIC_URL.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { teamsAppPackage } from '../adapters/teams/app-package.js';
import { loadConfig } from '../config.js';

export const DEFAULT_OUT = 'dist/scicomp-teams.zip';

function main(): void {
  const { values } = parseArgs({ options: { out: { type: 'string', default: DEFAULT_OUT } } });
  const out = values.out ?? DEFAULT_OUT;
  const config = loadConfig();
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const zip = teamsAppPackage({ appId: config.TEAMS_APP_ID, publicUrl: config.SCICOMP_PUBLIC_URL, version });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, zip);
  process.stderr.write(`teams:package: wrote ${out} (app ${config.TEAMS_APP_ID}, version ${version}): upload it in Teams (Apps → Manage your apps → Upload an app) or the Teams admin center\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    main();
  } catch (err) {
    process.stderr.write(`teams:package: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
