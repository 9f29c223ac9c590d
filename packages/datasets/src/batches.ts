import {
  fold,
  type Key,
  parseConfig,
  permutation,
  ScorekitException,
  split,
  unwrap,
} from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { type } from 'arktype';
import { dequantize, randomFlip, scaler } from './augment.js';
import { batchFromBytes, gatherImages, type ImageBatch, type ImageSet } from './imageSet.js';
import { type PointBatch, type PointSet, pointBatch } from './pointSet.js';
import { selectIndices, selectionConfig } from './selection.js';
import type { ImageSource } from './source.js';

/**
 * How to batch a dataset, as plain JSON: `batchSize`; `shuffle` (a fresh permutation per
 * epoch); `dropLast` (drop a final short batch); image augmentations as in score_sde's
 * CIFAR pipeline (Song et al. 2021, App. H): `flip` (random horizontal flips),
 * `dequantize` ((x·255 + u)/256), `centered` (map [0, 1] → [−1, 1]); and an optional
 * `selection` (classes, perClassLimit, offset, limit) for class-wise use (Chao et al. 2022, §5).
 * All booleans default to false.
 *
 * @example
 * ```ts
 * batchConfig({ batchSize: 128, shuffle: true, flip: true });
 * ```
 */
export const batchConfig = type({
  batchSize: 'number.integer > 0',
  shuffle: 'boolean = false',
  dropLast: 'boolean = false',
  flip: 'boolean = false',
  dequantize: 'boolean = false',
  centered: 'boolean = false',
  'selection?': selectionConfig,
});

/**
 * A resolved {@link batchConfig} (score_sde's data pipeline options, Song et al. 2021, App. H).
 *
 * @example
 * ```ts
 * const cfg: BatchConfig = batchConfig.assert({ batchSize: 128 });
 * ```
 */
export type BatchConfig = typeof batchConfig.infer;
/**
 * A {@link batchConfig} as a user writes it (defaults optional; Song et al. 2021, App. H).
 *
 * @example
 * ```ts
 * const input: BatchConfigInput = { batchSize: 128, shuffle: true };
 * ```
 */
export type BatchConfigInput = typeof batchConfig.inferIn;

/**
 * The randomness of one epoch: its `key` (needed for shuffle / flip / dequantize) and number
 * (explicit keys as in the score_sde JAX code, Song et al. 2021).
 *
 * @example
 * ```ts
 * const epoch3: EpochOptions = { key: key(0), epoch: 3 };
 * ```
 */
export interface EpochOptions {
  readonly key?: Key;
  /** The epoch number e (default 0): epoch e shuffles with `fold(key, e)`. */
  readonly epoch?: number;
}

/**
 * The order of one epoch: `permutation(fold(key, epoch), n)` — the per-epoch reshuffle of
 * score_sde's training pipeline (Song et al. 2021, App. H). Same key and epoch ⇒ same order;
 * another epoch ⇒ another order.
 *
 * @example
 * ```ts
 * epochOrder(5, key(0), 3); // e.g. Int32Array [3, 0, 4, 1, 2]
 * ```
 */
export function epochOrder(n: number, k: Key, epoch: number): Int32Array {
  return permutation(fold(k, epoch), n);
}

const needKey = (cfg: BatchConfig, options: EpochOptions): Key | undefined => {
  if ((cfg.shuffle || cfg.flip || cfg.dequantize) && options.key === undefined)
    throw new ScorekitException({
      _tag: 'ConfigError',
      path: 'key',
      message: 'batches: a key is required when shuffle, flip or dequantize is on',
    });
  return options.key;
};

/**
 * The batches of one epoch as lists of dataset indices (Song et al. 2021, App. H pipeline):
 * the selected indices (ascending), permuted by {@link epochOrder} when `shuffle`, cut into
 * `batchSize` pieces (the last one shorter unless `dropLast`).
 *
 * @example
 * ```ts
 * epochPlan(labels, 10, { batchSize: 4 }); // [[0,1,2,3], [4,5,6,7], [8,9]] for 10 samples
 * ```
 */
export function epochPlan(
  labels: Int32Array,
  numClasses: number,
  config: BatchConfigInput,
  options: EpochOptions = {},
): Int32Array[] {
  const cfg = parseConfig(batchConfig, config, 'batches');
  const k = needKey(cfg, options);
  const selected = selectIndices(labels, numClasses, cfg.selection ?? {});
  const order =
    cfg.shuffle && k !== undefined
      ? Int32Array.from(epochOrder(selected.length, k, options.epoch ?? 0), (p) => selected[p]!)
      : selected;
  const out: Int32Array[] = [];
  for (let s = 0; s < order.length; s += cfg.batchSize) {
    const piece = order.subarray(s, Math.min(order.length, s + cfg.batchSize));
    if (cfg.dropLast && piece.length < cfg.batchSize) break;
    out.push(piece.slice());
  }
  return out;
}

/**
 * Applies a config's augmentations to a batch in [0, 1] (Song et al. 2021, App. H: random
 * flip, uniform dequantisation, data scaler), in that order. Sample randomness is keyed by the
 * dataset index: with `[kFlip, kDeq] = split(fold(key, epoch))`, the sample with dataset index
 * i uses `fold(kFlip, i)` and `fold(kDeq, i)`, so it does not depend on shuffling or batch
 * size. Returns a new tensor; `x` is not disposed.
 *
 * @example
 * ```ts
 * const xa = augmentBatch(x, indices, batchConfig.assert({ batchSize: 8, flip: true }), { key: key(0), epoch: 2 });
 * ```
 */
export function augmentBatch(
  x: tf.Tensor4D,
  indices: ArrayLike<number>,
  config: BatchConfig,
  options: EpochOptions,
): tf.Tensor4D {
  const k = needKey(config, options);
  const [kFlip, kDeq] = k === undefined ? [] : split(fold(k, options.epoch ?? 0), 2);
  return tf.tidy(() => {
    let out: tf.Tensor4D = x;
    if (config.flip && kFlip !== undefined) out = randomFlip(kFlip, out, indices);
    if (config.dequantize && kDeq !== undefined)
      out = dequantize(kDeq, out, indices) as tf.Tensor4D;
    return scaler(config.centered)(out) as tf.Tensor4D;
  });
}

const finish = (raw: ImageBatch, cfg: BatchConfig, options: EpochOptions): ImageBatch => {
  if (!cfg.flip && !cfg.dequantize && !cfg.centered) return raw;
  const x = augmentBatch(raw.x, raw.indices, cfg, options);
  raw.x.dispose();
  return { x, y: raw.y, indices: raw.indices };
};

/**
 * One epoch of batches over an in-memory set (the CIFAR input pipeline of Song et al. 2021,
 * App. H, used by Chao et al. 2022, §5): x float32 [B, H, W, C] (in [0, 1], or [−1, 1] if
 * `centered`), y int32 [B], and the dataset indices. Shuffling, flips and dequantisation are
 * deterministic in (key, epoch) (see {@link epochPlan}, {@link augmentBatch}). Each yielded
 * batch is owned by the consumer, who disposes x and y; nothing is allocated ahead of the
 * batch being yielded.
 *
 * @example
 * ```ts
 * for (const b of batches(set, { batchSize: 128, shuffle: true, flip: true }, { key: k, epoch })) {
 *   step(b);
 *   tf.dispose([b.x, b.y]);
 * }
 * ```
 */
export function* batches(
  set: ImageSet,
  config: BatchConfigInput,
  options: EpochOptions = {},
): Generator<ImageBatch> {
  const cfg = parseConfig(batchConfig, config, 'batches');
  for (const indices of epochPlan(set.labels, set.classNames.length, cfg, options)) {
    const picked = gatherImages(set, indices);
    yield finish(batchFromBytes(picked.pixels, picked.labels, set.shape, indices), cfg, options);
  }
}

/**
 * One epoch of batches over a streamed source (CIFAR binaries, PNG folders; Song et al. 2021,
 * App. H pipeline): like {@link batches}, but each batch's pixels are read from disk when it
 * is requested, so memory holds one batch. Read errors are thrown as `ScorekitException`.
 * Batches are owned by the consumer.
 *
 * @example
 * ```ts
 * for await (const b of streamBatches(source, { batchSize: 500 })) { use(b); tf.dispose([b.x, b.y]); }
 * ```
 */
export async function* streamBatches(
  source: ImageSource,
  config: BatchConfigInput,
  options: EpochOptions = {},
): AsyncGenerator<ImageBatch> {
  const cfg = parseConfig(batchConfig, config, 'batches');
  for (const indices of epochPlan(source.labels, source.classNames.length, cfg, options)) {
    const pixels = await unwrap(source.read(indices));
    const labels = Int32Array.from(indices, (i) => source.labels[i]!);
    yield finish(batchFromBytes(pixels, labels, source.shape, indices), cfg, options);
  }
}

/**
 * One epoch of batches over a point set (the toy moons, Chao et al. 2022, §6): shuffle,
 * dropLast and selection apply; image augmentations are rejected with a `ConfigError`.
 * Batches are owned by the consumer.
 *
 * @example
 * ```ts
 * for (const b of pointBatches(moons, { batchSize: 4000, shuffle: true }, { key: k, epoch })) { … }
 * ```
 */
export function* pointBatches(
  set: PointSet,
  config: BatchConfigInput,
  options: EpochOptions = {},
): Generator<PointBatch> {
  const cfg = parseConfig(batchConfig, config, 'batches');
  if (cfg.flip || cfg.dequantize || cfg.centered)
    throw new ScorekitException({
      _tag: 'ConfigError',
      path: cfg.flip ? 'flip' : cfg.dequantize ? 'dequantize' : 'centered',
      message: 'pointBatches: flip, dequantize and centered apply to images only',
    });
  for (const indices of epochPlan(set.labels, set.classNames.length, cfg, options))
    yield pointBatch(set, indices);
}

function* endless<B>(
  labels: Int32Array,
  numClasses: number,
  cfg: BatchConfig,
  k: Key,
  startStep: number,
  make: (indices: Int32Array, epoch: number) => B,
): Generator<B> {
  if (!(Number.isInteger(startStep) && startStep >= 0))
    throw new ScorekitException({
      _tag: 'ConfigError',
      path: 'startStep',
      message: `trainingBatches: startStep must be an integer ≥ 0, got ${startStep}`,
    });
  const perEpoch = epochPlan(labels, numClasses, cfg, { key: k, epoch: 0 }).length;
  if (perEpoch === 0)
    throw new ScorekitException({
      _tag: 'ConfigError',
      path: 'batchSize',
      message: `trainingBatches: no full batch of ${cfg.batchSize} in ${labels.length} samples`,
    });
  let epoch = Math.floor(startStep / perEpoch);
  let b = startStep % perEpoch;
  for (;;) {
    const plan = epochPlan(labels, numClasses, cfg, { key: k, epoch });
    for (; b < perEpoch; b++) yield make(plan[b]!, epoch);
    b = 0;
    epoch++;
  }
}

/**
 * An endless, resumable training stream over an in-memory image set: step s is batch
 * s mod P of epoch ⌊s / P⌋ (P batches per epoch) of {@link batches}, so starting at
 * `startStep` yields exactly what an uninterrupted run yields from that step (score_sde's
 * endless `train_iter`, Song et al. 2021, App. H). Fits the `(startStep) => stream`
 * batch source of @scorekit/training. Batches are owned by the consumer.
 *
 * @example
 * ```ts
 * const source = (start: number) => trainingBatches(set, { batchSize: 128, shuffle: true, flip: true }, key(0), start);
 * ```
 */
export function trainingBatches(
  set: ImageSet,
  config: BatchConfigInput,
  k: Key,
  startStep = 0,
): Generator<ImageBatch> {
  const cfg = parseConfig(batchConfig, config, 'batches');
  return endless(set.labels, set.classNames.length, cfg, k, startStep, (indices, epoch) => {
    const picked = gatherImages(set, indices);
    return finish(batchFromBytes(picked.pixels, picked.labels, set.shape, indices), cfg, {
      key: k,
      epoch,
    });
  });
}

/**
 * The endless, resumable stream of {@link trainingBatches} over a point set (the toy
 * training of Chao et al. 2022, §6: batch 4000 of the 10,000 moons). Image augmentations
 * are rejected. Batches are owned by the consumer.
 *
 * @example
 * ```ts
 * const source = (start: number) => trainingPointBatches(twoMoons(), { batchSize: 4000, shuffle: true }, key(0), start);
 * ```
 */
export function trainingPointBatches(
  set: PointSet,
  config: BatchConfigInput,
  k: Key,
  startStep = 0,
): Generator<PointBatch> {
  const cfg = parseConfig(batchConfig, config, 'batches');
  if (cfg.flip || cfg.dequantize || cfg.centered)
    throw new ScorekitException({
      _tag: 'ConfigError',
      path: cfg.flip ? 'flip' : cfg.dequantize ? 'dequantize' : 'centered',
      message: 'trainingPointBatches: flip, dequantize and centered apply to images only',
    });
  return endless(set.labels, set.classNames.length, cfg, k, startStep, (indices) =>
    pointBatch(set, indices),
  );
}
