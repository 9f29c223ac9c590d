/**
 * Deterministic shards of `evaluate`'s feature extraction (issue 18): each shard extracts the
 * features of a range of the generated samples and keeps their float64 moments; the merge
 * joins the features in index order and combines the moments exactly (Chan et al. 1979), so
 * FID-style metrics from shards equal the single-run ones.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { unwrap } from '@scorekit/core';
import {
  extractStatistics,
  type FeatureSet,
  type GaussianStats,
  momentAccumulator,
} from '@scorekit/metrics';
import {
  encodeSafetensors,
  readSafetensors,
  writeDirAtomic,
  writeFileDurable,
} from '@scorekit/training';
import * as TE from 'fp-ts/lib/TaskEither.js';
import type { CifarConfig } from './config.js';
import {
  disposeExtractor,
  hostSet,
  loadExtractor,
  parseExtractor,
  readSamples,
} from './evaluate.js';
import { samplesFileName } from './sample.js';
import { batchShardRange, checkWritableFolder, type IndexRange, type ShardSpec } from './shard.js';
import { labelledImages } from './trainClassifier.js';
import type { RunOptions } from './trainingStage.js';

/**
 * Float64 moments of a set of feature rows in Chan et al.'s form: the count n, the mean μ and
 * M2 = Σ (x − μ)(x − μ)ᵀ (D × D, row-major), so that Σ = M2 / (n − 1).
 */
export interface ChanMoments {
  readonly count: number;
  readonly dim: number;
  readonly mean: Float64Array;
  readonly m2: Float64Array;
}

/**
 * The {@link ChanMoments} of host feature rows (float64 sums of shifted rows, as the metrics'
 * moment accumulator keeps them).
 *
 * @example
 * ```ts
 * featureMoments(featureRows([[0], [2]])); // count 2, mean [1], m2 [2]
 * ```
 */
export function featureMoments(set: FeatureSet): ChanMoments {
  const d = set.dim;
  if (set.rows === 0)
    return { count: 0, dim: d, mean: new Float64Array(d), m2: new Float64Array(d * d) };
  const acc = momentAccumulator(set.extractor);
  acc.add(set);
  const s = acc.sums()!;
  const n = s.count;
  const mean = Float64Array.from(s.shift, (c, i) => c + s.sum[i]! / n);
  const m2 = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = i; j < d; j++) {
      const v = s.outer[i * d + j]! - (s.sum[i]! * s.sum[j]!) / n;
      m2[i * d + j] = v;
      m2[j * d + i] = v;
    }
  return { count: n, dim: d, mean, m2 };
}

/**
 * Combines the moments of two disjoint sets (Chan, Golub & LeVeque 1979, the pairwise update):
 * n = n_a + n_b, δ = μ_b − μ_a, μ = μ_a + δ n_b / n, M2 = M2_a + M2_b + δ δᵀ n_a n_b / n.
 *
 * @example
 * ```ts
 * chanCombine(featureMoments(a), featureMoments(b)); // the moments of a ∪ b
 * ```
 */
export function chanCombine(a: ChanMoments, b: ChanMoments): ChanMoments {
  if (a.dim !== b.dim)
    throw new Error(`chanCombine: feature dimensions differ: ${a.dim} vs ${b.dim}`);
  if (a.count === 0) return b;
  if (b.count === 0) return a;
  const d = a.dim;
  const n = a.count + b.count;
  const delta = Float64Array.from(b.mean, (v, i) => v - a.mean[i]!);
  const mean = Float64Array.from(a.mean, (v, i) => v + (delta[i]! * b.count) / n);
  const w = (a.count * b.count) / n;
  const m2 = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++)
      m2[i * d + j] = a.m2[i * d + j]! + b.m2[i * d + j]! + delta[i]! * delta[j]! * w;
  return { count: n, dim: d, mean, m2 };
}

/**
 * Combines any number of moments by a balanced pairwise tree of {@link chanCombine} (error
 * growth O(log k) in the number of parts, Chan et al. 1979).
 *
 * @example
 * ```ts
 * const all = combineMoments(shards.map((s) => s.moments));
 * ```
 */
export function combineMoments(parts: readonly ChanMoments[]): ChanMoments {
  if (parts.length === 0) throw new Error('combineMoments: no parts');
  if (parts.length === 1) return parts[0]!;
  const mid = Math.floor(parts.length / 2);
  return chanCombine(combineMoments(parts.slice(0, mid)), combineMoments(parts.slice(mid)));
}

/**
 * The Gaussian (μ, unbiased Σ = M2 / (n − 1)) of {@link ChanMoments}, as the metrics' `fid`
 * takes it (Heusel et al. 2017).
 *
 * @example
 * ```ts
 * fid(realStats, momentsGaussian(merged, 'resnet18w4Classifier'));
 * ```
 */
export function momentsGaussian(m: ChanMoments, extractor: string): GaussianStats {
  if (m.count < 2) throw new Error(`momentsGaussian: needs at least 2 samples, got ${m.count}`);
  return {
    extractor,
    dim: m.dim,
    count: m.count,
    mean: m.mean,
    cov: m.m2.map((v) => v / (m.count - 1)),
  };
}

const f64Bytes = (m: ChanMoments) => {
  const out = new Float64Array(m.dim + m.dim * m.dim);
  out.set(m.mean, 0);
  out.set(m.m2, m.dim);
  return new Uint8Array(out.buffer);
};

/** The folder name of the feature shard of samples [from, to). */
export function featureShardName(range: IndexRange): string {
  const pad = (v: number) => String(v).padStart(9, '0');
  return `features-${pad(range.from)}-${pad(range.to)}`;
}

const featureShardPattern = /^features-(\d{9})-(\d{9})$/;

/** The contents of a feature shard (or of a merged feature folder). */
export interface FeatureShard {
  readonly from: number;
  readonly to: number;
  readonly total: number;
  readonly extractor: string;
  /** sha256 of the samples file the features came from. */
  readonly samplesDigest: string;
  readonly features: FeatureSet;
  readonly labels: Int32Array;
  readonly moments: ChanMoments;
}

async function writeFeatureFolder(dir: string, shard: FeatureShard): Promise<void> {
  const { features, labels, moments } = shard;
  const meta = {
    kind: 'feature-shard',
    from: shard.from,
    to: shard.to,
    total: shard.total,
    extractor: shard.extractor,
    samplesDigest: shard.samplesDigest,
    count: moments.count,
    dim: features.dim,
  };
  const st = encodeSafetensors({
    tensors: {
      features: { dtype: 'float32', shape: [features.rows, features.dim], values: features.data },
      labels: { dtype: 'int32', shape: [labels.length], values: labels },
    },
    metadata: { format: 'scorekit', 'scorekit.kind': 'features' },
  });
  await unwrap(
    writeDirAtomic(dir, (tmp) =>
      TE.map(() => undefined)(
        TE.sequenceSeqArray([
          writeFileDurable(join(tmp, 'features.safetensors'), st),
          writeFileDurable(join(tmp, 'moments.f64'), f64Bytes(moments)),
          writeFileDurable(join(tmp, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`),
        ]),
      ),
    ),
  );
}

/**
 * Reads a feature folder written by {@link extractFeatureShard} or {@link mergeFeatureShards},
 * checking its parts against each other (errors name the file).
 *
 * @example
 * ```ts
 * const merged = await readFeatureFolder('out/evaluation/features');
 * ```
 */
export async function readFeatureFolder(dir: string): Promise<FeatureShard> {
  const metaFile = join(dir, 'meta.json');
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(await readFile(metaFile, 'utf8'));
  } catch (e) {
    throw new Error(`${metaFile}: cannot read: ${(e as Error).message}`);
  }
  if (meta['kind'] !== 'feature-shard') throw new Error(`${metaFile}: not a feature shard`);
  const c = await unwrap(readSafetensors(join(dir, 'features.safetensors')));
  const f = c.tensors['features'];
  const y = c.tensors['labels'];
  const rows = Number(meta['to']) - Number(meta['from']);
  const dim = Number(meta['dim']);
  if (!f || !y || f.shape.join() !== [rows, dim].join() || y.shape.join() !== String(rows))
    throw new Error(
      `${dir}/features.safetensors: expected features [${rows}, ${dim}] and labels [${rows}]`,
    );
  const raw = await readFile(join(dir, 'moments.f64'));
  if (raw.length !== 8 * (dim + dim * dim))
    throw new Error(
      `${dir}/moments.f64: expected ${8 * (dim + dim * dim)} bytes, got ${raw.length}`,
    );
  const all = new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
  const extractor = String(meta['extractor']);
  return {
    from: Number(meta['from']),
    to: Number(meta['to']),
    total: Number(meta['total']),
    extractor,
    samplesDigest: String(meta['samplesDigest']),
    features: { extractor, rows, dim, data: f.values as Float32Array },
    labels: y.values as Int32Array,
    moments: { count: rows, dim, mean: all.slice(0, dim), m2: all.slice(dim) },
  };
}

/**
 * `evaluate --shard i/n`: extracts the features of the generated samples ⌊i·C/n⌋·B … (whole
 * extraction batches of B = `evaluate.batch`, as {@link batchShardRange} deals them) with the
 * `--extractor`, and writes `<dir>/features-<from>-<to>/` atomically: `features.safetensors`
 * (float32 [m, D] and the labels), `moments.f64` (float64 μ and M2 of the shard) and
 * `meta.json` (range, total, extractor, sha256 of the samples file).
 *
 * @example
 * ```ts
 * await extractFeatureShard(cfg, { index: 0, count: 2 }, 'out/evaluation/features.shards');
 * ```
 */
export async function extractFeatureShard(
  cfg: CifarConfig,
  shard: ShardSpec,
  dir: string,
  options: RunOptions = {},
): Promise<FeatureShard> {
  if (!cfg.inputs.samples)
    throw new Error('evaluate: --samples <file or sample folder> is required');
  if (!cfg.inputs.extractor)
    throw new Error(
      'evaluate: --extractor classifier:<checkpoint> | graph:<model.json> is required',
    );
  await checkWritableFolder(dir, '--out');
  const spec = parseExtractor(cfg.inputs.extractor);
  const samplesFile = cfg.inputs.samples.endsWith('.safetensors')
    ? cfg.inputs.samples
    : join(cfg.inputs.samples, samplesFileName);
  const side = cfg.data.imageSize;
  const fake = await readSamples(samplesFile, [side, side, 3]);
  const samplesDigest = createHash('sha256')
    .update(await readFile(samplesFile))
    .digest('hex');
  const total = fake.labels.length;
  const r = batchShardRange(total, cfg.evaluate.batch, shard);
  const size = side * side * 3;
  const loaded = await loadExtractor(cfg, spec);
  try {
    const labels = fake.labels.slice(r.from, r.to);
    const names = Array.from({ length: Math.max(0, ...fake.labels) + 1 }, (_, c) => String(c));
    const set = hostSet(fake.pixels.subarray(r.from * size, r.to * size), labels, names, [
      side,
      side,
      3,
    ]);
    const name = loaded.extractor.name;
    const features: FeatureSet =
      labels.length === 0
        ? { extractor: name, rows: 0, dim: 0, data: new Float32Array(0) }
        : (
            await extractStatistics(loaded.extractor, labelledImages(set, cfg.evaluate.batch), {
              features: true,
              moments: false,
            })
          ).features!;
    const shardOut: FeatureShard = {
      from: r.from,
      to: r.to,
      total,
      extractor: name,
      samplesDigest,
      features,
      labels,
      moments: featureMoments(features),
    };
    await writeFeatureFolder(join(dir, featureShardName(r)), shardOut);
    options.log?.(
      `evaluate shard [${r.from}, ${r.to}) of ${total}: ${name} features → ${join(dir, featureShardName(r))}`,
    );
    return shardOut;
  } finally {
    disposeExtractor(loaded);
  }
}

/**
 * `merge --features DIR`: checks that the feature shards in `dir` share one samples file and
 * extractor and cover every sample exactly once, then writes `out` (a feature folder, atomically)
 * with the features and labels in sample order and the moments combined by
 * {@link combineMoments} — float64, equal to a single pass up to float64 rounding.
 *
 * @example
 * ```ts
 * const merged = await mergeFeatureShards('out/evaluation/features.shards', 'out/evaluation/features');
 * ```
 */
export async function mergeFeatureShards(dir: string, out: string): Promise<FeatureShard> {
  const names = (await readdir(dir)).filter((n) => featureShardPattern.test(n)).sort();
  if (names.length === 0)
    throw new Error(`merge: --features ${dir}: no feature shards (features-<from>-<to>/)`);
  const shards = await Promise.all(names.map((n) => readFeatureFolder(join(dir, n))));
  const first = shards[0]!;
  for (const [k, s] of shards.entries())
    for (const field of ['samplesDigest', 'extractor', 'total'] as const)
      if (s[field] !== first[field])
        throw new Error(
          `merge: feature shards of different runs: ${field} is ${first[field]} in ${names[0]} but ${s[field]} in ${names[k]}`,
        );
  const nonEmpty = shards.filter((s) => s.to > s.from);
  let at = 0;
  for (const [k, s] of nonEmpty.entries()) {
    if (s.from !== at)
      throw new Error(
        s.from > at
          ? `merge: --features ${dir}: samples ${at}–${s.from - 1} are in no shard`
          : `merge: overlapping feature shards: index ${s.from} is in ${names[k]} and the one before`,
      );
    at = s.to;
  }
  if (at !== first.total)
    throw new Error(`merge: --features ${dir}: samples ${at}–${first.total - 1} are in no shard`);
  const dim = nonEmpty[0]!.features.dim;
  const data = new Float32Array(first.total * dim);
  const labels = new Int32Array(first.total);
  for (const s of nonEmpty) {
    data.set(s.features.data, s.from * dim);
    labels.set(s.labels, s.from);
  }
  const merged: FeatureShard = {
    from: 0,
    to: first.total,
    total: first.total,
    extractor: first.extractor,
    samplesDigest: first.samplesDigest,
    features: { extractor: first.extractor, rows: first.total, dim, data },
    labels,
    moments: combineMoments(nonEmpty.map((s) => s.moments)),
  };
  await writeFeatureFolder(out, merged);
  return merged;
}
