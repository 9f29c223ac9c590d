import type { ScorekitError } from '@scorekit/core';
import * as E from 'fp-ts/lib/Either.js';
import type { ImageShape } from './imageSet.js';
import { formatError } from './io.js';

// Header parsing only (browser-safe); decoding and encoding (pngjs, Node) are in
// `node/pngCodec.ts`, exported from `@scorekit/datasets/node`.

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

/**
 * The PNG colour type that stores `channels` 8-bit channels directly (1 → 0, 2 → 4, 3 → 2,
 * 4 → 6; PNG spec §11.2.2), or undefined.
 */
export const colorTypeFor = (channels: number): number | undefined =>
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
