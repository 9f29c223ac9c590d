import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errorMessage, type ScorekitError } from '@scorekit/core';
import type { ImageShape } from '@scorekit/datasets';
import { encodePng } from '@scorekit/datasets/node';
import { writeFileAtomic } from '@scorekit/training';
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';

/**
 * Writes `value` as pretty JSON to `file` (creating its folder), atomically (training's
 * `writeFileAtomic`: a crash leaves the old file or the new one): the resolved config and the
 * reports and metrics saved beside every command's outputs.
 *
 * @example
 * ```ts
 * await writeJson('out/cifar-tiny/config.json', cfg)();
 * ```
 */
export function writeJson(file: string, value: unknown): TE.TaskEither<ScorekitError, string> {
  return async () => {
    try {
      await mkdir(dirname(file), { recursive: true });
    } catch (cause) {
      return E.left({
        _tag: 'IoError',
        file,
        message: `${file}: cannot create its folder: ${errorMessage(cause)}`,
      });
    }
    const written = await writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`)();
    return E.isLeft(written) ? written : E.right(file);
  };
}

/**
 * Lays out `count` HWC images of `shape` (float values in [0, 1], clipped; 8-bit rounding)
 * as a grid with `columns` columns and a 2-pixel white border, each image enlarged `zoom`
 * times (nearest neighbour, so 16×16 samples show at 32×32), and encodes it as a PNG.
 *
 * @example
 * ```ts
 * await writeFile('class-3.png', imageGrid(pixels, 16, [32, 32, 3]));
 * ```
 */
export function imageGrid(
  images: Float32Array,
  count: number,
  shape: ImageShape,
  columns = Math.ceil(Math.sqrt(count)),
  zoom = 1,
): Buffer {
  const [h, w, c] = shape;
  const pad = 2;
  const zh = h * zoom;
  const zw = w * zoom;
  const cols = Math.max(1, Math.min(columns, count));
  const rows = Math.max(1, Math.ceil(count / cols));
  const H = rows * (zh + pad) + pad;
  const W = cols * (zw + pad) + pad;
  const out = new Uint8Array(H * W * c).fill(255);
  for (let i = 0; i < count; i++) {
    const r0 = pad + Math.floor(i / cols) * (zh + pad);
    const c0 = pad + (i % cols) * (zw + pad);
    for (let y = 0; y < zh; y++)
      for (let x = 0; x < zw; x++)
        for (let k = 0; k < c; k++) {
          const v = images[((i * h + Math.floor(y / zoom)) * w + Math.floor(x / zoom)) * c + k]!;
          const clipped = Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0;
          out[((r0 + y) * W + c0 + x) * c + k] = Math.round(clipped * 255);
        }
  }
  return encodePng(out, [H, W, c]);
}
