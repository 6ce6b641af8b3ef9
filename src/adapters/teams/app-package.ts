// The Teams app package: manifests/teams/manifest.json with its ${{…}} placeholders filled, zipped with its two icons.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../config.js';
import { zip } from './zip.js';

export const TEAMS_MANIFEST_DIR = new URL('../../../manifests/teams/', import.meta.url);
const GUID = /^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/;
const SEMVER = /^\d+\.\d+\.\d+$/;

export interface TeamsPackageSettings {
  /** TEAMS_APP_ID: the bot's Microsoft App ID, also the Teams app's id. */
  appId: string | undefined;
  /** SCICOMP_PUBLIC_URL: the bot's public HTTPS base URL. */
  publicUrl: string | undefined;
  /** The app version Teams compares on upload: package.json's. */
  version: string;
}

function placeholderValues(s: TeamsPackageSettings): Record<string, string> {
  if (!s.appId) throw new ConfigError("TEAMS_APP_ID is required: the bot's Microsoft App ID (a GUID, from its Azure Bot registration)");
  if (!GUID.test(s.appId)) throw new ConfigError(`TEAMS_APP_ID must be the bot's Microsoft App ID, a GUID (got "${s.appId}")`);
  if (!s.publicUrl) throw new ConfigError('SCICOMP_PUBLIC_URL is required: the bot\'s public HTTPS base URL, e.g. https://scicomp.example.org');
  const url = URL.canParse(s.publicUrl) ? new URL(s.publicUrl) : undefined;
  if (!url || url.protocol !== 'https:') throw new ConfigError(`SCICOMP_PUBLIC_URL must be an https:// URL for Teams (got "${s.publicUrl}")`);
  if (!SEMVER.test(s.version)) throw new ConfigError(`the app version must be MAJOR.MINOR.PATCH (got "${s.version}")`);
  return {
    TEAMS_APP_ID: s.appId,
    SCICOMP_PUBLIC_URL: `${url.origin}${url.pathname.replace(/\/+$/, '')}`,
    SCICOMP_PUBLIC_HOST: url.hostname,
    APP_VERSION: s.version,
  };
}

/** The manifest template with every `${{NAME}}` replaced; an unknown name is an error, not a blank. */
export function fillManifest(template: string, s: TeamsPackageSettings): Record<string, unknown> {
  const values = placeholderValues(s);
  const filled = template.replace(/\$\{\{([A-Z0-9_]+)\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new ConfigError(`manifests/teams/manifest.json: unknown placeholder \${{${name}}}`);
    // Inside a JSON string: quote what JSON would.
    return JSON.stringify(value).slice(1, -1);
  });
  return JSON.parse(filled) as Record<string, unknown>;
}

/** The zip to upload to Teams: manifest.json and the icons it names, at the archive's root. */
export function teamsAppPackage(s: TeamsPackageSettings, dir: URL = TEAMS_MANIFEST_DIR): Buffer {
  const manifest = fillManifest(readFileSync(new URL('manifest.json', dir), 'utf8'), s);
  const icons = manifest.icons as { color: string; outline: string };
  return zip([
    { name: 'manifest.json', data: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`) },
    { name: icons.color, data: readFileSync(new URL(icons.color, dir)) },
    { name: icons.outline, data: readFileSync(new URL(icons.outline, dir)) },
  ]);
}
