import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { crc32 as nodeCrc32, inflateRawSync, inflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { TEAMS_MANIFEST_DIR, fillManifest, teamsAppPackage } from '../../src/adapters/teams/app-package.js';
import { crc32 } from '../../src/adapters/teams/zip.js';
import { colorIcon, outlineIcon } from '../../src/cli/teams-icons.js';
import { ConfigError } from '../../src/config.js';
import { VERBS } from '../../src/core/command.js';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const file = (name: string) => readFileSync(new URL(name, TEAMS_MANIFEST_DIR));
const template = () => JSON.parse(file('manifest.json').toString('utf8')) as Manifest;

const APP_ID = '2f1c4b7e-9a3d-4c5e-8f60-71a2b3c4d5e6';
const settings = { appId: APP_ID, publicUrl: 'https://scicomp.example.org/', version: '0.1.0' };

interface Command {
  title: string;
  description: string;
}
interface Manifest {
  $schema: string;
  manifestVersion: string;
  version: string;
  id: string;
  developer: { name: string; websiteUrl: string; privacyUrl: string; termsOfUseUrl: string };
  name: { short: string; full: string };
  description: { short: string; full: string };
  icons: { color: string; outline: string };
  accentColor: string;
  bots: { botId: string; scopes: string[]; commandLists: { scopes: string[]; commands: Command[] }[] }[];
  validDomains: string[];
}

/** Reads a ZIP back from its central directory, checking every entry's CRC with node's own crc32. */
function unzip(archive: Buffer): Map<string, Buffer> {
  const end = archive.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  expect(end).toBeGreaterThan(0);
  const count = archive.readUInt16LE(end + 10);
  let at = archive.readUInt32LE(end + 16);
  const files = new Map<string, Buffer>();
  for (let n = 0; n < count; n++) {
    expect(archive.readUInt32LE(at)).toBe(0x02014b50);
    const method = archive.readUInt16LE(at + 10);
    const crc = archive.readUInt32LE(at + 16);
    const packed = archive.readUInt32LE(at + 20);
    const size = archive.readUInt32LE(at + 24);
    const nameLength = archive.readUInt16LE(at + 28);
    const extra = archive.readUInt16LE(at + 30);
    const comment = archive.readUInt16LE(at + 32);
    const local = archive.readUInt32LE(at + 42);
    const name = archive.toString('utf8', at + 46, at + 46 + nameLength);
    expect(archive.readUInt32LE(local)).toBe(0x04034b50);
    const start = local + 30 + archive.readUInt16LE(local + 26) + archive.readUInt16LE(local + 28);
    const body = archive.subarray(start, start + packed);
    const data = method === 8 ? inflateRawSync(body) : Buffer.from(body);
    expect(method, name).toBe(8);
    expect(data.length, name).toBe(size);
    expect(nodeCrc32(data) >>> 0, name).toBe(crc);
    files.set(name, data);
    at += 46 + nameLength + extra + comment;
  }
  return files;
}

interface Png {
  width: number;
  height: number;
  bitDepth: number;
  colourType: number;
  pixel: (x: number, y: number) => [number, number, number, number];
}

/** Decodes an 8-bit RGBA PNG, checking the signature, every chunk's CRC, and undoing all five row filters. */
function readPng(buf: Buffer): Png {
  expect(buf.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  let at = 8;
  let ihdr: Buffer | undefined;
  const idat: Buffer[] = [];
  for (;;) {
    const length = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    const data = buf.subarray(at + 8, at + 8 + length);
    expect(buf.readUInt32BE(at + 8 + length), type).toBe(nodeCrc32(buf.subarray(at + 4, at + 8 + length)) >>> 0);
    if (type === 'IHDR') ihdr = data;
    if (type === 'IDAT') idat.push(data);
    at += 12 + length;
    if (type === 'IEND') break;
  }
  const width = ihdr!.readUInt32BE(0);
  const height = ihdr!.readUInt32BE(4);
  const bitDepth = ihdr!.readUInt8(8);
  const colourType = ihdr!.readUInt8(9);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 4;
  const px = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    expect(filter, `row ${y} filter`).toBeLessThanOrEqual(4);
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i]!;
      const a = i >= 4 ? px[y * stride + i - 4]! : 0;
      const b = y > 0 ? px[(y - 1) * stride + i]! : 0;
      const c = i >= 4 && y > 0 ? px[(y - 1) * stride + i - 4]! : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][filter]!;
      px[y * stride + i] = (x + predictor) & 0xff;
    }
  }
  return { width, height, bitDepth, colourType, pixel: (x, y) => [...px.subarray((y * width + x) * 4, (y * width + x) * 4 + 4)] as [number, number, number, number] };
}

describe('the Teams manifest template', () => {
  it('has the schema and every field the schema requires', () => {
    const m = template();
    const schema = /^https:\/\/developer\.microsoft\.com\/json-schemas\/teams\/v(\d+\.\d+)\/MicrosoftTeams\.schema\.json$/.exec(m.$schema);
    expect(schema, m.$schema).not.toBeNull();
    expect(m.manifestVersion).toBe(schema![1]);
    // 1.24 raised the commands a list may hold to 12, which the personal list needs.
    expect(Number(m.manifestVersion.split('.')[1])).toBeGreaterThanOrEqual(24);
    expect(m.version).toBe('${{APP_VERSION}}');
    expect(m.id).toBe('${{TEAMS_APP_ID}}');
    for (const k of ['name', 'websiteUrl', 'privacyUrl', 'termsOfUseUrl'] as const) expect(m.developer[k], k).toBeTruthy();
    expect(m.developer.name.length).toBeLessThanOrEqual(32);
    expect(m.name.short.length).toBeLessThanOrEqual(30);
    expect(m.name.full.length).toBeLessThanOrEqual(100);
    expect(m.name.full).not.toBe(m.name.short);
    expect(m.description.short.length).toBeLessThanOrEqual(80);
    expect(m.description.full.length).toBeLessThanOrEqual(4000);
    expect(m.description.full).not.toBe(m.description.short);
    expect(m.icons).toEqual({ color: 'color.png', outline: 'outline.png' });
    expect(m.accentColor).toMatch(/^#[0-9a-fA-F]{6}$/);
    expect(m.bots).toHaveLength(1);
    expect(m.bots[0]!.botId).toBe('${{TEAMS_APP_ID}}');
    expect(m.bots[0]!.scopes.sort()).toEqual(['groupChat', 'personal', 'team']);
    expect(m.validDomains).toEqual(['${{SCICOMP_PUBLIC_HOST}}']);
  });

  it("suggests scicomp's verbs, within Teams' limits", () => {
    const bot = template().bots[0]!;
    expect(bot.commandLists.length).toBeLessThanOrEqual(3);
    const scopes = bot.commandLists.flatMap((l) => l.scopes);
    expect(new Set(scopes).size, 'one list per scope').toBe(scopes.length);
    for (const list of bot.commandLists) {
      expect(list.commands.length).toBeLessThanOrEqual(12);
      for (const s of list.scopes) expect(bot.scopes).toContain(s);
      for (const c of list.commands) {
        expect(VERBS, c.title).toContain(c.title);
        expect(c.title.length).toBeLessThanOrEqual(32);
        expect(c.description.length, c.title).toBeGreaterThan(0);
        expect(c.description.length, c.title).toBeLessThanOrEqual(128);
      }
    }
    const named = new Set(bot.commandLists.flatMap((l) => l.commands.map((c) => c.title)));
    for (const verb of ['help', 'products', 'launch', 'list', 'status', 'connect', 'update', 'terminate', 'transfer', 'restore', 'budget', 'snooze', 'approvals', 'offboard', 'audit']) {
      expect(named, verb).toContain(verb);
    }
    const personal = bot.commandLists.find((l) => l.scopes.includes('personal'))!.commands.map((c) => c.title);
    expect(personal).toEqual(expect.arrayContaining(['launch', 'list', 'connect', 'terminate']));
  });
});

describe('the icons', () => {
  it.each([
    ['color.png', 192],
    ['outline.png', 32],
  ])('%s is %i pixels square, RGBA, with transparent corners', (name, size) => {
    const png = readPng(file(name));
    expect([png.width, png.height]).toEqual([size, size]);
    expect(png.bitDepth).toBe(8);
    expect(png.colourType, 'colour type 6: RGB with alpha').toBe(6);
    for (const [x, y] of [
      [0, 0],
      [size - 1, 0],
      [0, size - 1],
      [size - 1, size - 1],
    ] as const) {
      expect(png.pixel(x, y)[3], `alpha at ${x},${y}`).toBe(0);
    }
    // Something is drawn in the middle.
    expect(png.pixel(size / 2, Math.round(size * 0.2))[3]).toBe(255);
  });

  it('the outline icon is white on transparent only', () => {
    const png = readPng(file('outline.png'));
    let drawn = 0;
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const [r, g, b, a] = png.pixel(x, y);
        if (a === 0) continue;
        drawn++;
        expect([r, g, b], `${x},${y}`).toEqual([255, 255, 255]);
      }
    }
    expect(drawn).toBeGreaterThan(200);
  });

  it('the colour icon is filled with the accent colour', () => {
    const png = readPng(file('color.png'));
    expect(png.pixel(96, 12)).toEqual([0x1d, 0x35, 0x57, 255]);
    expect(`#${png.pixel(96, 12).slice(0, 3).map((v) => v.toString(16).padStart(2, '0')).join('')}`).toBe(template().accentColor);
  });

  it('the committed icons are what src/cli/teams-icons.ts draws', () => {
    expect(colorIcon().equals(file('color.png'))).toBe(true);
    expect(outlineIcon().equals(file('outline.png'))).toBe(true);
  });
});

describe('the app package', () => {
  it('holds manifest.json and the two icons, with the ids, host and version filled', () => {
    const files = unzip(teamsAppPackage(settings));
    expect([...files.keys()].sort()).toEqual(['color.png', 'manifest.json', 'outline.png']);
    expect(files.get('color.png')!.equals(file('color.png'))).toBe(true);
    expect(files.get('outline.png')!.equals(file('outline.png'))).toBe(true);
    const text = files.get('manifest.json')!.toString('utf8');
    expect(text).not.toContain('${{');
    const m = JSON.parse(text) as Manifest;
    expect(m.id).toBe(APP_ID);
    expect(m.bots[0]!.botId).toBe(APP_ID);
    expect(m.validDomains).toEqual(['scicomp.example.org']);
    expect(m.version).toBe('0.1.0');
    expect(m.developer.websiteUrl).toBe('https://scicomp.example.org');
    // Everything else is the template's.
    expect({ ...m, id: '', version: '', bots: [], validDomains: [], developer: {} }).toEqual({ ...template(), id: '', version: '', bots: [], validDomains: [], developer: {} });
  });

  it('is the same archive for the same inputs', () => {
    expect(teamsAppPackage(settings).equals(teamsAppPackage(settings))).toBe(true);
  });

  it('refuses a missing or malformed id or URL, naming the setting', () => {
    const tpl = file('manifest.json').toString('utf8');
    const refused = (s: Partial<typeof settings>) => () => fillManifest(tpl, { ...settings, ...s });
    expect(refused({ appId: undefined })).toThrow(new ConfigError("TEAMS_APP_ID is required: the bot's Microsoft App ID (a GUID, from its Azure Bot registration)"));
    expect(refused({ appId: 'scicomp-bot' })).toThrow(/TEAMS_APP_ID must be the bot's Microsoft App ID, a GUID \(got "scicomp-bot"\)/);
    expect(refused({ appId: `${APP_ID}", "x": "` })).toThrow(/TEAMS_APP_ID must be/);
    expect(refused({ publicUrl: undefined })).toThrow(/SCICOMP_PUBLIC_URL is required/);
    expect(refused({ publicUrl: 'http://scicomp.example.org' })).toThrow(/SCICOMP_PUBLIC_URL must be an https:\/\/ URL/);
    expect(refused({ publicUrl: 'not a url' })).toThrow(/SCICOMP_PUBLIC_URL must be an https:\/\/ URL/);
    expect(refused({ version: '1.0' })).toThrow(/MAJOR\.MINOR\.PATCH/);
    expect(() => fillManifest('{"x": "${{NOPE}}"}', settings)).toThrow(/unknown placeholder \$\{\{NOPE\}\}/);
  });

  it('our crc32 agrees with node’s', () => {
    for (const data of [Buffer.alloc(0), Buffer.from('manifest.json'), colorIcon()]) expect(crc32(data)).toBe(nodeCrc32(data) >>> 0);
  });
});

describe('npm run teams:package', () => {
  const dir = mkdtempSync(join(tmpdir(), 'teams-package-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const tsx = join(ROOT, 'node_modules/.bin/tsx');
  const env = (extra: Record<string, string>) => {
    const { TEAMS_APP_ID: _id, SCICOMP_PUBLIC_URL: _url, ...rest } = process.env;
    return { ...rest, ...extra };
  };

  it('writes the zip named by --out from TEAMS_APP_ID and SCICOMP_PUBLIC_URL', async () => {
    const out = join(dir, 'sub', 'scicomp.zip');
    const { stderr } = await run(tsx, ['src/cli/teams-package.ts', '--out', out], { cwd: ROOT, env: env({ TEAMS_APP_ID: APP_ID, SCICOMP_PUBLIC_URL: 'https://bot.example.edu' }) });
    expect(stderr).toContain(`wrote ${out}`);
    const m = JSON.parse(unzip(readFileSync(out)).get('manifest.json')!.toString('utf8')) as Manifest;
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect([m.id, m.bots[0]!.botId, m.validDomains[0], m.version]).toEqual([APP_ID, APP_ID, 'bot.example.edu', version]);
  });

  it('stops with a message naming the setting, and writes nothing, without TEAMS_APP_ID', async () => {
    const out = join(dir, 'none.zip');
    const failed = await run(tsx, ['src/cli/teams-package.ts', '--out', out], { cwd: ROOT, env: env({ SCICOMP_PUBLIC_URL: 'https://bot.example.edu' }) }).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('teams:package: TEAMS_APP_ID is required');
    expect(existsSync(out)).toBe(false);
  });
});
