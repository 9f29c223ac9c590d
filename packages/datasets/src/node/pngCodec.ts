import type { ScorekitError } from '@scorekit/core';
import * as E from 'fp-ts/lib/Either.js';
import { PNG } from 'pngjs';
import type { ImageShape } from '../imageSet.js';
import { formatError } from '../io.js';
import { checkPngHeader, colorTypeFor, pngHeader } from '../png.js';

// PNG decoding and encoding with pngjs, which needs Node's zlib and stream: Node only
// (`@scorekit/datasets/node`). Header parsing is browser-safe, in `../png.ts`.

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
