import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fold, key, permutation, ScorekitException, split, unwrap } from '@scorekit/core';
import { expectNoLeaks, expectNoLeaksAsync } from '@scorekit/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { flipMask } from './augment.js';
import {
  batches,
  epochOrder,
  epochPlan,
  pointBatches,
  streamBatches,
  trainingBatches,
  trainingPointBatches,
} from './batches.js';
import { binSource, cifar10Layout, encodeRecords } from './cifarBinary.js';
import { type ImageSet, imageBytes } from './imageSet.js';
import { twoMoons } from './moons.js';
import { tempDir } from './testing/sharedData.js';

/** 23 tiny 2×4×3 images: image i has every byte = (i·10 + position) mod 256; label i mod 3. */
const shape = [2, 4, 3] as const;
const tiny = (n = 23): ImageSet => {
  const per = imageBytes(shape);
  return {
    pixels: Uint8Array.from(
      { length: n * per },
      (_, j) => (Math.floor(j / per) * 10 + (j % per)) % 256,
    ),
    labels: Int32Array.from({ length: n }, (_, i) => i % 3),
    count: n,
    shape,
    classNames: ['a', 'b', 'c'],
  };
};

const collect = (set: ImageSet, config: Parameters<typeof batches>[1], options = {}) =>
  expectNoLeaks(() => {
    const out: { x: Float32Array; y: number[]; indices: number[] }[] = [];
    for (const b of batches(set, config, options)) {
      out.push({
        x: b.x.dataSync() as Float32Array,
        y: Array.from(b.y.dataSync()),
        indices: Array.from(b.indices),
      });
      tf.dispose([b.x, b.y]);
    }
    return out;
  });

describe('epochPlan', () => {
  const labels = tiny().labels;
  it('keeps the natural order without shuffle; dropLast drops the short batch', () => {
    const plan = epochPlan(labels, 3, { batchSize: 10 });
    expect(plan.map((b) => b.length)).toEqual([10, 10, 3]);
    expect(Array.from(plan[2]!)).toEqual([20, 21, 22]);
    expect(epochPlan(labels, 3, { batchSize: 10, dropLast: true })).toHaveLength(2);
  });

  it('shuffles with permutation(fold(key, epoch)): same key + epoch ⇒ same order, other epochs differ', () => {
    const k = key(2022);
    const order = (epoch: number) =>
      epochPlan(labels, 3, { batchSize: 5, shuffle: true }, { key: k, epoch }).flatMap((b) =>
        Array.from(b),
      );
    expect(order(0)).toEqual(order(0));
    expect(order(1)).toEqual(order(1));
    expect(order(0)).not.toEqual(order(1));
    expect(order(1)).not.toEqual(order(2));
    expect(order(3)).toEqual(Array.from(permutation(fold(k, 3), 23)));
    expect(Array.from(epochOrder(23, k, 3))).toEqual(order(3));
    expect([...order(4)].sort((a, b) => a - b)).toEqual(Array.from({ length: 23 }, (_, i) => i));
    const other = epochPlan(
      labels,
      3,
      { batchSize: 5, shuffle: true },
      { key: split(k)[0]!, epoch: 0 },
    );
    expect(other.flatMap((b) => Array.from(b))).not.toEqual(order(0));
  });

  it('per-class selection, then shuffle within the selection', () => {
    const plan = epochPlan(
      labels,
      3,
      { batchSize: 4, shuffle: true, selection: { classes: [1] } },
      { key: key(1) },
    );
    const flat = plan.flatMap((b) => Array.from(b));
    expect([...flat].sort((a, b) => a - b)).toEqual([1, 4, 7, 10, 13, 16, 19, 22]);
  });

  it('asks for a key when randomness is on', () => {
    expect(() => epochPlan(labels, 3, { batchSize: 4, shuffle: true })).toThrow(ScorekitException);
    expect(() => epochPlan(labels, 3, { batchSize: 0 })).toThrow(/batchSize/);
  });
});

describe('batches', () => {
  it('yield float32 [B,H,W,C] in [0,1] and int32 labels of the planned indices', () => {
    const set = tiny();
    const got = collect(set, { batchSize: 4, shuffle: true }, { key: key(9), epoch: 1 });
    const plan = epochPlan(
      set.labels,
      3,
      { batchSize: 4, shuffle: true },
      { key: key(9), epoch: 1 },
    );
    expect(got.map((b) => b.indices)).toEqual(plan.map((p) => Array.from(p)));
    const per = imageBytes(shape);
    for (const b of got)
      b.indices.forEach((i, j) => {
        expect(b.y[j]).toBe(i % 3);
        for (let p = 0; p < per; p++)
          expect(b.x[j * per + p]).toBeCloseTo(set.pixels[i * per + p]! / 255, 7);
      });
    expectNoLeaks(() => {
      const b = batches(set, { batchSize: 4 }).next().value!;
      expect(b.x.shape).toEqual([4, 2, 4, 3]);
      expect(b.x.dtype).toBe('float32');
      expect(b.y.dtype).toBe('int32');
      tf.dispose([b.x, b.y]);
    });
  });

  it('flips are per sample: the same dataset index gets the same flip whatever the batch size or order', () => {
    const set = tiny();
    const per = imageBytes(shape);
    const k = key(77);
    const a = collect(set, { batchSize: 23, flip: true }, { key: k, epoch: 4 });
    const b = collect(set, { batchSize: 3, flip: true, shuffle: true }, { key: k, epoch: 4 });
    const byIndex = (bs: typeof a) => {
      const m = new Map<number, number[]>();
      for (const x of bs)
        x.indices.forEach((i, j) => m.set(i, Array.from(x.x.subarray(j * per, (j + 1) * per))));
      return m;
    };
    const ma = byIndex(a);
    const mb = byIndex(b);
    const [kFlip] = split(fold(k, 4), 2);
    const mask = flipMask(kFlip!, 23);
    let flipped = 0;
    for (let i = 0; i < 23; i++) {
      expect(mb.get(i)).toEqual(ma.get(i));
      // Mirror of the original along the width axis (W = 4) iff the coin says so.
      const want = new Array<number>(per);
      for (let r = 0; r < 2; r++)
        for (let c = 0; c < 4; c++)
          for (let ch = 0; ch < 3; ch++)
            want[(r * 4 + c) * 3 + ch] =
              set.pixels[i * per + (r * 4 + (mask[i] ? 3 - c : c)) * 3 + ch]! / 255;
      ma.get(i)!.forEach((v, p) => {
        expect(v).toBeCloseTo(want[p]!, 7);
      });
      flipped += mask[i]!;
    }
    expect(flipped).toBeGreaterThan(0);
    expect(flipped).toBeLessThan(23);
    // Another epoch flips differently.
    const c = collect(set, { batchSize: 23, flip: true }, { key: k, epoch: 5 });
    expect(c[0]!.x).not.toEqual(a[0]!.x);
  });

  it('dequantize and centered compose: floor(256·(x̃+1)/2) recovers the byte', () => {
    const set = tiny();
    const got = collect(set, { batchSize: 7, dequantize: true, centered: true }, { key: key(4) });
    const per = imageBytes(shape);
    for (const b of got)
      b.indices.forEach((i, j) => {
        for (let p = 0; p < per; p++) {
          const v = b.x[j * per + p]!;
          expect(v).toBeGreaterThanOrEqual(-1);
          expect(v).toBeLessThan(1);
          expect(Math.floor(((v + 1) / 2) * 256 + 1e-4)).toBe(set.pixels[i * per + p]!);
        }
      });
  });

  it('streamBatches over a binary file equals batches over the same set in memory', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const n = 11;
      const pixels = Uint8Array.from({ length: n * 3072 }, (_, j) => (j * 31 + (j >> 10)) % 256);
      const labels = Int32Array.from({ length: n }, (_, i) => (i * 7) % 10);
      const file = join(dir, 'data.bin');
      await writeFile(file, encodeRecords(pixels, [labels], cifar10Layout));
      const source = await unwrap(binSource(file, cifar10Layout));
      const set: ImageSet = {
        pixels,
        labels,
        count: n,
        shape: [32, 32, 3],
        classNames: source.classNames,
      };
      const config = { batchSize: 4, shuffle: true, flip: true, dequantize: true };
      const opts = { key: key(8), epoch: 2 };
      const mem = collect(set, config, opts);
      await expectNoLeaksAsync(async () => {
        let b = 0;
        for await (const s of streamBatches(source, config, opts)) {
          expect(Array.from(s.indices)).toEqual(mem[b]!.indices);
          expect(Array.from(s.y.dataSync())).toEqual(mem[b]!.y);
          expect(s.x.dataSync()).toEqual(mem[b]!.x);
          tf.dispose([s.x, s.y]);
          b++;
        }
        expect(b).toBe(3);
      });
    } finally {
      await cleanup();
    }
  });
});

describe('pointBatches', () => {
  it('cover the moons once per epoch and reject image augmentations', () => {
    const moons = twoMoons({ nPerClass: 50 });
    expectNoLeaks(() => {
      const seen: number[] = [];
      for (const b of pointBatches(moons, { batchSize: 40, shuffle: true }, { key: key(0) })) {
        expect(b.x.shape[1]).toBe(2);
        const xs = b.x.dataSync();
        b.indices.forEach((i, j) => {
          expect(xs[2 * j]).toBe(moons.x[2 * i]);
          expect(xs[2 * j + 1]).toBe(moons.x[2 * i + 1]);
        });
        seen.push(...b.indices);
        tf.dispose([b.x, b.y]);
      }
      expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    });
    expect(() => pointBatches(moons, { batchSize: 4, flip: true }, { key: key(0) }).next()).toThrow(
      /images only/,
    );
  });
});

describe('trainingBatches', () => {
  it('run across epochs and resume exactly at any step', () => {
    const set = tiny();
    const config = { batchSize: 5, shuffle: true, dropLast: true, flip: true };
    const k = key(31);
    const take = (start: number, n: number) =>
      expectNoLeaks(() => {
        const out: { indices: number[]; x: number[] }[] = [];
        const it = trainingBatches(set, config, k, start);
        for (let s = 0; s < n; s++) {
          const b = it.next().value!;
          out.push({ indices: Array.from(b.indices), x: Array.from(b.x.dataSync()) });
          tf.dispose([b.x, b.y]);
        }
        return out;
      });
    const run = take(0, 10); // 4 batches per epoch (23 samples, dropLast): epochs 0, 1, 2
    const epoch1 = epochPlan(set.labels, 3, config, { key: k, epoch: 1 });
    expect(run[4]!.indices).toEqual(Array.from(epoch1[0]!));
    expect(run[7]!.indices).toEqual(Array.from(epoch1[3]!));
    expect(take(6, 4)).toEqual(run.slice(6, 10));
    // The flips of step 5 are those of epoch 1.
    const viaEpoch = collect(set, config, { key: k, epoch: 1 });
    expect(run[5]!.x).toEqual(Array.from(viaEpoch[1]!.x));
  });

  it('over points, resume too; empty epochs are an error', () => {
    const moons = twoMoons({ nPerClass: 10 });
    const config = { batchSize: 6, shuffle: true };
    const idx = (start: number, n: number) =>
      expectNoLeaks(() => {
        const it = trainingPointBatches(moons, config, key(2), start);
        return Array.from({ length: n }, () => {
          const b = it.next().value!;
          tf.dispose([b.x, b.y]);
          return Array.from(b.indices);
        });
      });
    expect(idx(5, 3)).toEqual(idx(0, 8).slice(5));
    expect(() =>
      trainingPointBatches(moons, { batchSize: 30, dropLast: true }, key(2)).next(),
    ).toThrow(/no full batch/);
  });
});
