import * as E from 'fp-ts/lib/Either.js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { decodePng, encodePng } from './node/pngCodec.js';
import { checkPngHeader, pngHeader } from './png.js';

describe('PNG encode / decode', () => {
  it('round-trips 8-bit RGB pixels exactly and writes colour type 2', () => {
    const pixels = Uint8Array.from({ length: 4 * 5 * 3 }, (_, i) => (i * 37) % 256);
    const bytes = encodePng(pixels, [4, 5, 3]);
    const header = pngHeader(bytes, 'x.png');
    expect(header).toEqual(
      E.right({ width: 5, height: 4, bitDepth: 8, colorType: 2, interlace: 0 }),
    );
    const back = decodePng(bytes, 'x.png', [4, 5, 3]);
    expect(E.isRight(back) && Array.from(back.right)).toEqual(Array.from(pixels));
    // pngjs's own decoder agrees (RGBA with opaque alpha).
    const ref = PNG.sync.read(bytes);
    expect(ref.data[3 * 4 + 1]).toBe(pixels[3 * 3 + 1]);
  });

  it('rejects wrong size, channel count and non-PNG bytes with named fields', () => {
    const grey = encodePng(new Uint8Array(64), [8, 8, 1]);
    const err = (e: E.Either<{ field?: string; message: string }, unknown>) =>
      E.isLeft(e) ? e.left : undefined;
    expect(err(decodePng(grey, 'g.png', [8, 8, 3]))).toMatchObject({ field: 'channels' });
    expect(err(decodePng(grey, 'g.png', [8, 8, 3]))?.message).toBe(
      'g.png: image is greyscale (colour type 0, 1 channel), expected 3 channels (colour type 2)',
    );
    const rgb = encodePng(new Uint8Array(8 * 7 * 3), [8, 7, 3]);
    expect(err(decodePng(rgb, 'r.png', [8, 8, 3]))?.message).toBe(
      'r.png: image is 7×8 (width×height), expected 8×8',
    );
    expect(err(decodePng(new Uint8Array(40), 'z.png', [8, 8, 3]))).toMatchObject({
      field: 'signature',
    });
    expect(
      checkPngHeader(
        { width: 8, height: 8, bitDepth: 16, colorType: 2, interlace: 0 },
        'd.png',
        [8, 8, 3],
      ),
    ).toMatchObject({ field: 'bitDepth' });
    // Grey images are accepted when one channel is wanted.
    expect(E.isRight(decodePng(grey, 'g.png', [8, 8, 1]))).toBe(true);
  });
});
