import { describe, expect, it } from 'vitest';
import type { ImageSet } from './imageSet.js';
import { downsampleImages } from './resize.js';

const set = (pixels: number[], shape: [number, number, number], count = 1): ImageSet => ({
  pixels: Uint8Array.from(pixels),
  labels: Int32Array.from({ length: count }, (_, i) => i),
  count,
  shape,
  classNames: ['a', 'b'],
});

describe('downsampleImages', () => {
  it('averages each factor×factor block per channel and rounds to bytes', () => {
    // one 4×4 image, 2 channels: channel 0 = 0..15 row-major, channel 1 = 255 everywhere
    const px: number[] = [];
    for (let p = 0; p < 16; p++) px.push(p, 255);
    const out = downsampleImages(set(px, [4, 4, 2]), 2);
    expect(out.shape).toEqual([2, 2, 2]);
    // blocks: {0,1,4,5} → 2.5 → 3 (round half up), {2,3,6,7} → 4.5 → 5, {8,9,12,13} → 10.5 → 11, {10,11,14,15} → 12.5 → 13
    expect([...out.pixels]).toEqual([3, 255, 5, 255, 11, 255, 13, 255]);
  });

  it('keeps labels, count and class names over several images', () => {
    const px = [...Array(2 * 2 * 2 * 1)].map((_, i) => (i < 4 ? 10 : 200));
    const out = downsampleImages(set(px, [2, 2, 1], 2), 2);
    expect([...out.pixels]).toEqual([10, 200]);
    expect([...out.labels]).toEqual([0, 1]);
    expect(out.count).toBe(2);
    expect(out.classNames).toEqual(['a', 'b']);
  });

  it('factor 1 is a copy', () => {
    const s = set([1, 2, 3, 4], [2, 2, 1]);
    const out = downsampleImages(s, 1);
    expect([...out.pixels]).toEqual([1, 2, 3, 4]);
    expect(out.pixels).not.toBe(s.pixels);
  });

  it('names a factor that does not divide the size', () => {
    expect(() => downsampleImages(set([0, 0, 0, 0, 0, 0, 0, 0, 0], [3, 3, 1]), 2)).toThrow(
      /downsampleImages factor: expected a divisor of the image size 3×3, got 2/,
    );
    expect(() => downsampleImages(set([0], [1, 1, 1]), 0)).toThrow(/a positive integer, got 0/);
  });
});
