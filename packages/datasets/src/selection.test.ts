import { unwrap } from '@scorekit/core';
import { describe, expect, it } from 'vitest';
import { gatherImages, type ImageSet } from './imageSet.js';
import { selectIndices } from './selection.js';
import { fromImageSet, readAll, subset } from './source.js';

const labels = Int32Array.from([0, 1, 2, 0, 1, 2, 0, 1, 2, 0]);

describe('selectIndices', () => {
  it('applies classes, then perClassLimit, then offset and limit', () => {
    expect(Array.from(selectIndices(labels, 3))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(selectIndices(labels, 3, { classes: [0] }))).toEqual([0, 3, 6, 9]);
    expect(Array.from(selectIndices(labels, 3, { classes: [2, 0], perClassLimit: 2 }))).toEqual([
      0, 2, 3, 5,
    ]);
    expect(Array.from(selectIndices(labels, 3, { offset: 3, limit: 4 }))).toEqual([3, 4, 5, 6]);
    expect(Array.from(selectIndices(labels, 3, { classes: [1], offset: 1, limit: 10 }))).toEqual([
      4, 7,
    ]);
  });

  it('rejects bad selections with the field name', () => {
    expect(() => selectIndices(labels, 3, { classes: [3] })).toThrow(
      /selection.classes: expected 0..2, got 3/,
    );
    expect(() => selectIndices(labels, 3, { limit: -1 })).toThrow(/limit/);
  });
});

describe('sources over in-memory sets', () => {
  const set: ImageSet = {
    pixels: Uint8Array.from({ length: 10 * 12 }, (_, j) => Math.floor(j / 12)),
    labels,
    count: 10,
    shape: [2, 2, 3],
    classNames: ['a', 'b', 'c'],
  };
  it('subset views read through to the right samples', async () => {
    const view = subset(fromImageSet(set), { classes: [2] });
    expect(view.count).toBe(3);
    expect(Array.from(view.labels)).toEqual([2, 2, 2]);
    const bytes = await unwrap(view.read([2, 0]));
    expect(bytes[0]).toBe(8);
    expect(bytes[12]).toBe(2);
    const all = await unwrap(readAll(view, { chunkSize: 2 }));
    expect(all.pixels).toEqual(gatherImages(set, [2, 5, 8]).pixels);
    const bad = await view.read([3])();
    expect(bad._tag).toBe('Left');
  });
});
