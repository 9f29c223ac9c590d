import { shapeError } from '@scorekit/core';
import { type ImageSet, imageBytes } from './imageSet.js';

/**
 * Box-filter down-sampling of an in-memory image set by an integer `factor` (each output
 * pixel is the mean of a `factor`×`factor` block, rounded to the nearest byte) — the usual
 * way to make low-resolution variants (e.g. CIFAR 32×32 → 16×16; Chrabaszcz et al. 2017
 * compare box and other resizing filters for their down-sampled ImageNet). Labels and class
 * names are kept. `factor = 1` returns a copy. A factor that does not divide the height and
 * width is a `ShapeError` naming both.
 *
 * @example
 * ```ts
 * const small = downsampleImages(set, 2); // shape [16, 16, 3] from [32, 32, 3]
 * ```
 */
export function downsampleImages(set: ImageSet, factor: number): ImageSet {
  const [h, w, c] = set.shape;
  if (!Number.isInteger(factor) || factor < 1)
    shapeError('downsampleImages factor', 'a positive integer', String(factor));
  if (h % factor !== 0 || w % factor !== 0)
    shapeError('downsampleImages factor', `a divisor of the image size ${h}×${w}`, String(factor));
  const oh = h / factor;
  const ow = w / factor;
  const inPer = imageBytes(set.shape);
  const outPer = oh * ow * c;
  const pixels = new Uint8Array(set.count * outPer);
  const area = factor * factor;
  for (let n = 0; n < set.count; n++) {
    const src = n * inPer;
    const dst = n * outPer;
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let k = 0; k < c; k++) {
          let sum = 0;
          for (let di = 0; di < factor; di++)
            for (let dj = 0; dj < factor; dj++)
              sum += set.pixels[src + ((i * factor + di) * w + (j * factor + dj)) * c + k]!;
          pixels[dst + (i * ow + j) * c + k] = Math.round(sum / area);
        }
  }
  return {
    pixels,
    labels: set.labels.slice(),
    count: set.count,
    shape: [oh, ow, c],
    classNames: set.classNames,
  };
}
