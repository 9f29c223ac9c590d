import type { ScorekitError } from '@scorekit/core';
import * as E from 'fp-ts/lib/Either.js';
import { PNG } from 'pngjs';
import type { ImageShape } from './imageSet.js';
import { formatError } from './io.js';

/**
 * The fields of a PNG's IHDR chunk that decide whether an image fits (PNG spec, W3C 2003,
 * §11.2.2).
 *
 * @example
 * ```ts
 * const h: PngHeader = { width: 32, height: 32, bitDepth: 8, colorType: 2, interlace: 0 };
 * ```
 */
export interface PngHeader {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: number;
  readonly colorType: number;
  readonly interlace: number;
}

/** PNG colour types (PNG spec §11.2.2) and their channel counts. */
const colorTypes: Readonly<Record<number, { name: string; channels: number }>> = {
  0: { name: 'greyscale', channels: 1 },
  2: { name: 'RGB', channels: 3 },
  3: { name: 'palette', channels: 3 },
  4: { name: 'greyscale + alpha', channels: 2 },
  6: { name: 'RGBA', channels: 4 },
};

/** The colour type that stores `channels` 8-bit channels directly (1 → 0, 3 → 2, 4 → 6). */
const colorTypeFor = (channels: number): number | undefined =>
  channels === 1 ? 0 : channels === 2 ? 4 : channels === 3 ? 2 : channels === 4 ? 6 : undefined;

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] as const;

/**
 * Bytes needed to read a PNG header (PNG spec, W3C 2003, §5): signature (8) + IHDR
 * length/type (8) + the first 13 bytes of its data.
 *
 * @example
 * ```ts
 * pngHeader(bytes.subarray(0, pngHeaderBytes), 'a.png');
 * ```
 */
export const pngHeaderBytes = 29;

/**
 * Parses the signature and IHDR chunk of a PNG (the first 29 bytes, PNG spec, W3C 2003,
 * §11.2.2), without decoding.
 *
 * @example
 * ```ts
 * pngHeader(bytes, 'cat/0001.png'); // Right({ width: 32, height: 32, bitDepth: 8, colorType: 2, interlace: 0 })
 * ```
 */
export function pngHeader(bytes: Uint8Array, file: string): E.Either<ScorekitError, PngHeader> {
  if (bytes.length < pngHeaderBytes || SIGNATURE.some((b, i) => bytes[i] !== b))
    return E.left(formatError(file, 'not a PNG file (bad signature)', 'signature'));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = String.fromCharCode(bytes[12]!, bytes[13]!, bytes[14]!, bytes[15]!);
  if (type !== 'IHDR' || view.getUint32(8) !== 13)
    return E.left(formatError(file, 'PNG does not start with an IHDR chunk', 'IHDR'));
  return E.right({
    width: view.getUint32(16),
    height: view.getUint32(20),
    bitDepth: bytes[24]!,
    colorType: bytes[25]!,
    interlace: bytes[28]!,
  });
}

/**
 * Checks a PNG header against the wanted image shape [H, W, C]: the size must match and the
 * pixels must be stored as C 8-bit channels (C = 3: colour type 2, RGB; PNG spec, W3C 2003,
 * §11.2.2). Returns the `FormatError` naming file and problem, or `undefined` when it fits.
 *
 * @example
 * ```ts
 * checkPngHeader({ width: 31, height: 32, bitDepth: 8, colorType: 2, interlace: 0 }, 'a.png', [32, 32, 3]);
 * // FormatError 'a.png: image is 31×32 (width×height), expected 32×32'
 * ```
 */
export function checkPngHeader(
  header: PngHeader,
  file: string,
  shape: ImageShape,
): ScorekitError | undefined {
  const [h, w, c] = shape;
  if (header.width !== w || header.height !== h)
    return formatError(
      file,
      `image is ${header.width}×${header.height} (width×height), expected ${w}×${h}`,
      'size',
    );
  const want = colorTypeFor(c);
  if (header.colorType !== want) {
    const got = colorTypes[header.colorType];
    const gotText = got
      ? `${got.name} (colour type ${header.colorType}, ${got.channels} channel${got.channels === 1 ? '' : 's'})`
      : `unknown colour type ${header.colorType}`;
    return formatError(
      file,
      `image is ${gotText}, expected ${c} channel${c === 1 ? '' : 's'} (colour type ${want ?? '?'})`,
      'channels',
    );
  }
  if (header.bitDepth !== 8)
    return formatError(file, `bit depth ${header.bitDepth}, expected 8`, 'bitDepth');
  return undefined;
}

/**
 * Decodes a PNG (PNG spec, W3C 2003) to HWC uint8 pixels of `shape` with pngjs, checking
 * header and size first (no conversion: a greyscale or RGBA file is an error, not silently
 * converted).
 *
 * @example
 * ```ts
 * decodePng(await readFile('cat/0001.png'), 'cat/0001.png', [32, 32, 3]); // Right(Uint8Array(3072))
 * ```
 */
export function decodePng(
  bytes: Uint8Array,
  file: string,
  shape: ImageShape,
): E.Either<ScorekitError, Uint8Array> {
  const header = pngHeader(bytes, file);
  if (E.isLeft(header)) return header;
  const bad = checkPngHeader(header.right, file, shape);
  if (bad !== undefined) return E.left(bad);
  let png: { width: number; height: number; data: Uint8Array };
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (cause) {
    return E.left(formatError(file, `cannot decode PNG: ${(cause as Error).message}`, 'data'));
  }
  const [h, w, c] = shape;
  if (png.width !== w || png.height !== h || png.data.length !== w * h * 4)
    return E.left(formatError(file, `decoded ${png.width}×${png.height}, expected ${w}×${h}`));
  const out = new Uint8Array(h * w * c);
  for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) out[p * c + k] = png.data[p * 4 + k]!;
  return E.right(out);
}

/**
 * Encodes HWC uint8 pixels of `shape` (C = 1, 3 or 4) as an 8-bit PNG (PNG spec, W3C 2003)
 * whose colour type stores exactly those channels (greyscale, RGB or RGBA).
 *
 * @example
 * ```ts
 * await writeFile('img.png', encodePng(pixels, [32, 32, 3]));
 * ```
 */
export function encodePng(pixels: Uint8Array, shape: ImageShape): Buffer {
  const [h, w, c] = shape;
  const colorType = colorTypeFor(c);
  if (colorType === undefined || colorType === 4 || pixels.length !== h * w * c)
    throw new RangeError(
      `encodePng: need ${h}×${w}×(1|3|4) bytes, got ${pixels.length} for C=${c}`,
    );
  const png = new PNG({ width: w, height: h });
  for (let p = 0; p < h * w; p++) {
    const v = (k: number) => pixels[p * c + (c === 1 ? 0 : k)]!;
    png.data[p * 4] = v(0);
    png.data[p * 4 + 1] = v(1);
    png.data[p * 4 + 2] = v(2);
    png.data[p * 4 + 3] = c === 4 ? v(3) : 255;
  }
  return PNG.sync.write(png, {
    colorType: colorType as 0 | 2 | 6,
    inputHasAlpha: true,
  });
}
