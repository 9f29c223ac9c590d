/**
 * Deterministic shards of a `sample` run (issue 18): which samples a shard draws, the digests
 * that tie shards to one run, and the shard file a shard run writes atomically.
 */
import { createHash } from 'node:crypto';
import { access, constants, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { errorMessage, unwrap } from '@scorekit/core';
import { encodeSafetensors, writeFileAtomic } from '@scorekit/training';
import * as tf from '@tensorflow/tfjs-core';
import type { CifarConfig } from './config.js';
import { drawSamples, planSampling, type SamplingPlan } from './sample.js';
import type { RunOptions } from './trainingStage.js';

/** Shard i of n (0-based), as `--shard i/n` names it. */
export interface ShardSpec {
  readonly index: number;
  readonly count: number;
}

/**
 * Parses `--shard i/n` (0 ≤ i < n); anything else is an error naming the option.
 *
 * @example
 * ```ts
 * parseShard('1/3'); // { index: 1, count: 3 }
 * ```
 */
export function parseShard(spec: string): ShardSpec {
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
  const index = m ? Number(m[1]) : Number.NaN;
  const count = m ? Number(m[2]) : Number.NaN;
  if (!m || !(count >= 1) || !(index < count) || !Number.isSafeInteger(count))
    throw new Error(`--shard: expected i/n with 0 ≤ i < n (e.g. 0/4), got '${spec}'`);
  return { index, count };
}

/** A half-open index range [from, to) of a run's samples. */
export interface IndexRange {
  readonly from: number;
  readonly to: number;
}

/**
 * Parses `--range from:to` (a half-open index range of the run's samples).
 *
 * @example
 * ```ts
 * parseRange('12:24'); // { from: 12, to: 24 }
 * ```
 */
export function parseRange(spec: string): IndexRange {
  const m = /^(\d+):(\d+)$/.exec(spec.trim());
  if (!m || Number(m[1]) > Number(m[2]))
    throw new Error(`--range: expected from:to with from ≤ to (e.g. 0:500), got '${spec}'`);
  return { from: Number(m[1]), to: Number(m[2]) };
}

/**
 * The samples shard i of n draws: the run's indices dealt out contiguously and evenly, shard i
 * taking [⌊i·total/n⌋, ⌊(i+1)·total/n⌋). Sample j is keyed by (seed, j) alone (see
 * `drawSamples`), so a shard may start and end at any index and every sample is the same as in
 * a single run whatever the batch size; shards beyond `total` are empty.
 *
 * @example
 * ```ts
 * shardRange(20, { index: 1, count: 3 }); // { from: 6, to: 13 }
 * ```
 */
export function shardRange(total: number, shard: ShardSpec): IndexRange {
  return {
    from: Math.floor((shard.index * total) / shard.count),
    to: Math.floor(((shard.index + 1) * total) / shard.count),
  };
}

/**
 * Shard i of n dealt in whole batches of `batch` (batch c of C = ⌈total/batch⌉ goes to the
 * shard with ⌊i·C/n⌋ ≤ c < ⌊(i+1)·C/n⌋), for `evaluate`'s feature shards: every extraction
 * batch then holds the same images as in a single run.
 *
 * @example
 * ```ts
 * batchShardRange(20, 6, { index: 1, count: 2 }); // { from: 12, to: 20 } (batches 2 and 3 of 4)
 * ```
 */
export function batchShardRange(total: number, batch: number, shard: ShardSpec): IndexRange {
  const chunks = Math.ceil(total / batch);
  const first = Math.floor((shard.index * chunks) / shard.count);
  const last = Math.floor(((shard.index + 1) * chunks) / shard.count);
  return { from: Math.min(total, first * batch), to: Math.min(total, last * batch) };
}

const canonical = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(canonical)
    : value && typeof value === 'object'
      ? Object.fromEntries(
          Object.keys(value)
            .sort()
            .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
        )
      : value;

/**
 * The sha256 of everything in a `sample` config that changes the samples: seed, SDE, the
 * `sample` section except the batch size (classes, n, scale, snr, ε) and the image side
 * (canonical JSON, sorted keys). The batch size is left out because sample j is keyed by
 * (seed, j) and drawn independently of its batch; output folder, checkpoint paths, progress
 * display and backend choice are left out too (the checkpoints have their own {@link checkpointDigest}, the backend is recorded per
 * shard).
 *
 * @example
 * ```ts
 * runDigest(cfg); // '3f1c…' (64 hex digits)
 * ```
 */
export function runDigest(cfg: CifarConfig): string {
  const identity = {
    seed: cfg.seed,
    sde: cfg.sde,
    sample: { ...cfg.sample, batch: undefined },
    imageSize: cfg.data.imageSize,
  };
  return createHash('sha256')
    .update(JSON.stringify(canonical(identity)))
    .digest('hex');
}

/**
 * The sha256 of the weights of checkpoint step folders: the name and bytes of every
 * `.safetensors` file in each folder, folders in the given order, files sorted by name. Two
 * machines holding copies of the same checkpoints get the same digest wherever the copies sit.
 *
 * @example
 * ```ts
 * await checkpointDigest(['runs/score/step-000004', 'runs/clf/step-000002']);
 * ```
 */
export async function checkpointDigest(dirs: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const dir of dirs) {
    const names = (await readdir(dir)).filter((n) => n.endsWith('.safetensors')).sort();
    if (names.length === 0) throw new Error(`${dir}: no .safetensors files in this checkpoint`);
    for (const name of names) {
      const bytes = await readFile(join(dir, name));
      hash.update(`${name}\0${bytes.length}\0`);
      hash.update(bytes);
    }
  }
  return hash.digest('hex');
}

/**
 * Makes sure `dir` exists and this process can create files in it, before any work starts;
 * otherwise an error naming the option and the folder.
 *
 * @example
 * ```ts
 * await checkWritableFolder('out/shards', '--out');
 * ```
 */
export async function checkWritableFolder(dir: string, option: string): Promise<void> {
  try {
    // one level at a time: Node's recursive mkdir never returns under /proc (ENOENT loop)
    const missing: string[] = [];
    let at = resolve(dir);
    for (;;) {
      const st = await stat(at).catch(() => undefined);
      if (st) {
        if (!st.isDirectory()) throw new Error(`${at} is not a folder`);
        break;
      }
      missing.unshift(at);
      if (dirname(at) === at) break;
      at = dirname(at);
    }
    for (const d of missing)
      await mkdir(d).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
    await access(dir, constants.W_OK);
  } catch (cause) {
    throw new Error(`${option} ${dir}: not a writable folder: ${errorMessage(cause)}`);
  }
}

/**
 * The file name of the shard holding samples [from, to): `samples-<from>-<to>.safetensors`,
 * 9-digit zero-padded so that names sort by index.
 *
 * @example
 * ```ts
 * shardFileName({ from: 12, to: 24 }); // 'samples-000000012-000000024.safetensors'
 * ```
 */
export function shardFileName(range: IndexRange): string {
  const pad = (v: number) => String(v).padStart(9, '0');
  return `samples-${pad(range.from)}-${pad(range.to)}.safetensors`;
}

/** The pattern of {@link shardFileName}. */
export const shardFilePattern = /^samples-(\d{9})-(\d{9})\.safetensors$/;

/** What a shard run wrote, and the identity it recorded. */
export interface ShardReport {
  readonly file: string;
  readonly from: number;
  readonly to: number;
  readonly total: number;
  readonly runDigest: string;
  readonly checkpointDigest: string;
  readonly backend: string;
  readonly nfe: number;
  readonly seconds: number;
}

/** Options of {@link sampleShard}. */
export interface ShardOptions extends RunOptions {
  /** The checkpoint digest the run expects (a queue job's); a different local checkpoint is an error. */
  readonly expectCheckpointDigest?: string;
  /** Progress of the shard: sampler steps done of the shard's total. */
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Draws samples [from, to) of a `sample` run (see `drawSamples`: the samples are bit-identical
 * to those of a single run on the same backend) and writes them to
 * `<dir>/samples-<from>-<to>.safetensors` atomically (temporary file, fsync, rename: a killed
 * shard leaves no file under a shard name). The file holds `samples` float32 [m, s, s, 3],
 * `labels` int32 [m] and metadata: the range, the run's total, {@link runDigest},
 * {@link checkpointDigest}, the backend, the score evaluations and the config, which `merge`
 * checks. The folder is checked for writing before any sampling.
 *
 * @example
 * ```ts
 * await sampleShard(cfg, shardRange(total, parseShard('0/3')), 'out/shards');
 * ```
 */
export async function sampleShard(
  cfg: CifarConfig,
  range: IndexRange | ShardSpec,
  dir: string,
  options: ShardOptions = {},
): Promise<ShardReport> {
  const started = performance.now();
  await checkWritableFolder(dir, '--out');
  const plan: SamplingPlan = await planSampling(cfg);
  const r = 'count' in range ? shardRange(plan.total, range) : range;
  const ckpt = await checkpointDigest([plan.scoreDir, plan.classifierDir]);
  if (options.expectCheckpointDigest !== undefined && options.expectCheckpointDigest !== ckpt)
    throw new Error(
      `sample: the checkpoints here (${plan.scoreDir}, ${plan.classifierDir}) have digest ${ckpt.slice(0, 16)}…, but this run was started with checkpoints of digest ${options.expectCheckpointDigest.slice(0, 16)}…: copy the same checkpoints to every machine`,
    );
  const drawn = await drawSamples(cfg, plan, r.from, r.to, {
    ...options,
    ...(options.onProgress ? { onBatchStep: options.onProgress } : {}),
  });
  const digest = runDigest(cfg);
  const backend = tf.getBackend();
  const file = join(dir, shardFileName(r));
  const bytes = encodeSafetensors({
    tensors: {
      samples: {
        dtype: 'float32',
        shape: [drawn.labels.length, plan.side, plan.side, 3],
        values: drawn.pixels,
      },
      labels: { dtype: 'int32', shape: [drawn.labels.length], values: drawn.labels },
    },
    metadata: {
      format: 'scorekit',
      'scorekit.kind': 'sample-shard',
      'scorekit.from': String(r.from),
      'scorekit.to': String(r.to),
      'scorekit.total': String(plan.total),
      'scorekit.side': String(plan.side),
      'scorekit.runDigest': digest,
      'scorekit.checkpointDigest': ckpt,
      'scorekit.backend': backend,
      'scorekit.nfe': String(drawn.nfe),
      'scorekit.config': JSON.stringify(cfg),
    },
  });
  await unwrap(writeFileAtomic(file, bytes));
  const seconds = (performance.now() - started) / 1000;
  options.log?.(
    `sample shard [${r.from}, ${r.to}) of ${plan.total}: ${drawn.nfe} score evaluations in ${seconds.toFixed(1)} s → ${file}`,
  );
  return {
    file,
    from: r.from,
    to: r.to,
    total: plan.total,
    runDigest: digest,
    checkpointDigest: ckpt,
    backend,
    nfe: drawn.nfe,
    seconds,
  };
}

/**
 * Removes the temporary files killed shard writers left in `dir` (`*.tmp-<pid>` of
 * `writeFileAtomic`); never a finished shard.
 *
 * @example
 * ```ts
 * await cleanShardLeftovers('out/shards'); // ['samples-…safetensors.tmp-4242']
 * ```
 */
export async function cleanShardLeftovers(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => /^samples-.*\.tmp-\d+$/.test(n));
  await Promise.all(names.map((n) => rm(join(dir, n), { force: true })));
  return names;
}
