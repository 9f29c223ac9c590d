import { decodePng } from '@scorekit/datasets/node';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { parseExtractor } from './evaluate.js';
import { imageGrid } from './output.js';

describe('imageGrid', () => {
  it('lays images out row by row with 2-pixel white borders, clipping to [0, 1]', () => {
    // three 2×2 RGB images with constant values 0.5, −1 (→ 0) and 2 (→ 1): 2 columns, 2 rows
    const img = (v: number) => new Array(12).fill(v);
    const pixels = Float32Array.from([...img(0.5), ...img(-1), ...img(2)]);
    const png = imageGrid(pixels, 3, [2, 2, 3], 2);
    const H = 2 * 4 + 2;
    const W = 2 * 4 + 2;
    const out = decodePng(png, 'grid.png', [H, W, 3]);
    if (E.isLeft(out)) throw new Error(out.left.message);
    const at = (y: number, x: number) => out.right[(y * W + x) * 3]!;
    expect(at(0, 0)).toBe(255); // border
    expect(at(2, 2)).toBe(128); // image 0 at row 0, column 0: round(0.5 · 255)
    expect(at(3, 7)).toBe(0); // image 1 at row 0, column 1 (x from 6)
    expect(at(6, 2)).toBe(255); // image 2 at row 1, column 0 (y from 6)
    expect(at(6, 6)).toBe(255); // the empty fourth cell stays white
  });

  it('enlarges each pixel to a zoom×zoom block', () => {
    // one 2×1 grey-level image (values 0 and 1) at zoom 3: a 6×3 picture inside the border
    const png = imageGrid(Float32Array.from([0, 1]), 1, [2, 1, 1], 1, 3);
    const H = 6 + 4;
    const W = 3 + 4;
    const out = decodePng(png, 'grid.png', [H, W, 1]);
    if (E.isLeft(out)) throw new Error(out.left.message);
    const column = Array.from({ length: H }, (_, y) => out.right[y * W + 3]);
    expect(column).toEqual([255, 255, 0, 0, 0, 255, 255, 255, 255, 255]);
    expect(out.right[2 * W + 2]).toBe(0);
    expect(out.right[2 * W + 4]).toBe(0);
    expect(out.right[2 * W + 5]).toBe(255); // right border
  });
});

describe('parseExtractor', () => {
  it('accepts classifier:<ckpt> and graph:<model.json> only', () => {
    expect(parseExtractor('classifier:runs/a:b')).toEqual({ kind: 'classifier', path: 'runs/a:b' });
    expect(parseExtractor('graph:/m/model.json')).toEqual({ kind: 'graph', path: '/m/model.json' });
    expect(() => parseExtractor('inception')).toThrow(/--extractor: expected/);
    expect(() => parseExtractor('classifier:')).toThrow(/--extractor/);
  });
});
