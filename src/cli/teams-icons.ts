// `npx tsx src/cli/teams-icons.ts`: draws the Teams app icons into manifests/teams/ (color.png 192×192, outline.png 32×32).
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { crc32 } from '../adapters/teams/zip.js';

type Rgb = readonly [number, number, number];
/** The Slack app's background colour, and the Teams manifest's accentColor. */
export const ACCENT = '#1d3557';
const ACCENT_RGB: Rgb = [0x1d, 0x35, 0x57];
const WHITE: Rgb = [255, 255, 255];

/** A shape in unit coordinates (0–1 across the icon). */
type Shape = (x: number, y: number) => boolean;

function roundRect(x0: number, y0: number, x1: number, y1: number, r: number): Shape {
  return (x, y) => {
    const dx = Math.max(x0 + r - x, 0, x - (x1 - r));
    const dy = Math.max(y0 + r - y, 0, y - (y1 - r));
    return x >= x0 && x <= x1 && y >= y0 && y <= y1 && dx * dx + dy * dy <= r * r;
  };
}

function circle(cx: number, cy: number, r: number): Shape {
  return (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}

/** Painted in order; `clear` cuts a hole back to transparent. */
type Layer = { shape: Shape; paint: Rgb | 'clear' };

/** Three server units: a rack, for "compute you launch". */
function rack(x0: number, x1: number, top: number, unit: number, gap: number, paint: Rgb, detail: Rgb | 'clear', slots: boolean): Layer[] {
  const layers: Layer[] = [];
  for (let k = 0; k < 3; k++) {
    const y0 = top + k * (unit + gap);
    layers.push({ shape: roundRect(x0, y0, x1, y0 + unit, unit / 4), paint });
    layers.push({ shape: circle(x1 - unit * 0.75, y0 + unit / 2, unit / 5), paint: detail });
    if (slots) layers.push({ shape: roundRect(x0 + unit * 0.6, y0 + unit * 0.4, x0 + unit * 1.8, y0 + unit * 0.6, unit * 0.1), paint: detail });
  }
  return layers;
}

/** RGBA pixels, each edge pixel anti-aliased from 4×4 samples. */
function draw(size: number, layers: Layer[]): Uint8Array {
  const n = 4;
  const rgba = new Uint8Array(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let covered = 0;
      const sum = [0, 0, 0];
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const x = (px + (sx + 0.5) / n) / size;
          const y = (py + (sy + 0.5) / n) / size;
          let paint: Rgb | undefined;
          for (const l of layers) if (l.shape(x, y)) paint = l.paint === 'clear' ? undefined : l.paint;
          if (!paint) continue;
          covered++;
          for (let c = 0; c < 3; c++) sum[c]! += paint[c]!;
        }
      }
      const at = (py * size + px) * 4;
      if (covered === 0) continue;
      for (let c = 0; c < 3; c++) rgba[at + c] = Math.round(sum[c]! / covered);
      rgba[at + 3] = Math.round((255 * covered) / (n * n));
    }
  }
  return rgba;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** An 8-bit RGBA PNG (colour type 6), every row unfiltered. */
export function png(size: number, rgba: Uint8Array): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.writeUInt8(8, 8);
  ihdr.writeUInt8(6, 9);
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) Buffer.from(rgba.buffer, rgba.byteOffset + y * size * 4, size * 4).copy(rows, y * (size * 4 + 1) + 1);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

/** The full-colour icon: a white rack on a rounded accent square, transparent outside it. */
export function colorIcon(): Buffer {
  return png(192, draw(192, [{ shape: roundRect(0, 0, 1, 1, 0.19), paint: ACCENT_RGB }, ...rack(0.23, 0.77, 0.23, 0.14, 0.06, WHITE, ACCENT_RGB, true)]));
}

/** The outline icon Teams tints: white only, on transparent. */
export function outlineIcon(): Buffer {
  return png(32, draw(32, rack(0.1, 0.9, 0.12, 0.2, 0.08, WHITE, 'clear', false)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = new URL('../../manifests/teams/', import.meta.url);
  writeFileSync(new URL('color.png', dir), colorIcon());
  writeFileSync(new URL('outline.png', dir), outlineIcon());
  process.stdout.write('teams-icons: wrote manifests/teams/color.png and outline.png\n');
}
