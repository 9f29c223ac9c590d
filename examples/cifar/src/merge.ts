/**
 * `merge`: joins the shard files of a `sample` run into the folder a single run writes
 * (issue 18), after checking that the shards belong to one run and cover it exactly once.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig, unwrap } from '@scorekit/core';
import { readSafetensors } from '@scorekit/training';
import { type CifarConfig, cifarConfig } from './config.js';
import { type SampleReport, sampleLabels, writeSampleFolder } from './sample.js';
import { cleanShardLeftovers, runDigest, shardFilePattern } from './shard.js';
import type { RunOptions } from './trainingStage.js';

/** What {@link mergeShards} read and wrote. */
export interface MergeReport extends SampleReport {
  readonly shards: readonly string[];
  readonly runDigest: string;
  readonly checkpointDigest: string;
  readonly backend: string;
}

/** The metadata fields every shard must agree on (besides its range). */
const shared = [
  'scorekit.total',
  'scorekit.side',
  'scorekit.runDigest',
  'scorekit.checkpointDigest',
  'scorekit.backend',
] as const;

/**
 * Reads every `samples-<from>-<to>.safetensors` shard in `dir` and checks, before writing
 * anything: each file is a sample shard whose tensors match its range; all shards share one
 * run digest (config), one checkpoint digest, one backend, image side and total; every index
 * 0 … total − 1 is in exactly one shard (a gap or an overlap names the indices and files). Then
 * writes the run's folder into `out` exactly as a single `sample` run does (the config of the
 * shards with `out` replaced; `samples.safetensors` byte-identical to a single run's on the
 * same backend), atomically, and removes leftovers of killed shard writers from `dir`.
 *
 * @example
 * ```ts
 * await mergeShards('out/cifar-tiny/samples.shards', 'out/cifar-tiny/samples');
 * ```
 */
export async function mergeShards(
  dir: string,
  out: string,
  options: RunOptions = {},
): Promise<MergeReport> {
  const started = performance.now();
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => shardFilePattern.test(n)).sort();
  } catch (e) {
    throw new Error(`merge: --shards ${dir}: cannot read the folder: ${(e as Error).message}`);
  }
  if (names.length === 0)
    throw new Error(`merge: --shards ${dir}: no shard files (samples-<from>-<to>.safetensors)`);
  const shards = [];
  for (const name of names) {
    const file = join(dir, name);
    const c = await unwrap(readSafetensors(file));
    const m = c.metadata;
    if (m['scorekit.kind'] !== 'sample-shard')
      throw new Error(
        `${file}: not a sample shard (metadata scorekit.kind is ${JSON.stringify(m['scorekit.kind'])})`,
      );
    const from = Number(m['scorekit.from']);
    const to = Number(m['scorekit.to']);
    const [, f, t] = shardFilePattern.exec(name)!;
    const s = c.tensors['samples'];
    const y = c.tensors['labels'];
    const side = Number(m['scorekit.side']);
    if (from !== Number(f) || to !== Number(t))
      throw new Error(
        `${file}: the file name says [${Number(f)}, ${Number(t)}), its metadata [${from}, ${to})`,
      );
    if (
      !s ||
      !y ||
      s.dtype !== 'float32' ||
      y.dtype !== 'int32' ||
      s.shape.join() !== [to - from, side, side, 3].join() ||
      y.shape.join() !== String(to - from)
    )
      throw new Error(
        `${file}: expected samples float32 [${to - from}, ${side}, ${side}, 3] and labels int32 [${to - from}], got samples ${s ? `${s.dtype} [${s.shape}]` : 'none'}, labels ${y ? `${y.dtype} [${y.shape}]` : 'none'}`,
      );
    shards.push({
      file,
      from,
      to,
      meta: m,
      samples: s.values as Float32Array,
      labels: y.values as Int32Array,
    });
  }
  const first = shards[0]!;
  for (const sh of shards)
    for (const field of shared)
      if (sh.meta[field] !== first.meta[field])
        throw new Error(
          `merge: shards of different runs: ${field} is ${first.meta[field]} in ${first.file} but ${sh.meta[field]} in ${sh.file}`,
        );
  const total = Number(first.meta['scorekit.total']);
  const side = Number(first.meta['scorekit.side']);
  const owner = new Array<string | undefined>(total);
  for (const sh of shards)
    for (let j = sh.from; j < sh.to; j++) {
      if (j >= total)
        throw new Error(`${sh.file}: index ${j} is beyond the run's ${total} samples`);
      if (owner[j] !== undefined)
        throw new Error(
          `merge: overlapping shards: index ${j} is in both ${owner[j]} and ${sh.file} (shards of different counts in one folder?)`,
        );
      owner[j] = sh.file;
    }
  const missing: number[] = [];
  for (let j = 0; j < total; j++) if (owner[j] === undefined) missing.push(j);
  if (missing.length > 0) {
    const spans: string[] = [];
    for (let k = 0; k < missing.length; ) {
      let e = k;
      while (e + 1 < missing.length && missing[e + 1] === missing[e]! + 1) e++;
      spans.push(missing[k] === missing[e] ? `${missing[k]}` : `${missing[k]}–${missing[e]}`);
      k = e + 1;
    }
    throw new Error(
      `merge: --shards ${dir}: samples ${spans.join(', ')} of 0–${total - 1} are in no shard (run the missing shards first)`,
    );
  }
  const cfgRaw: unknown = JSON.parse(first.meta['scorekit.config'] ?? 'null');
  const cfg: CifarConfig = {
    ...parseConfig(cifarConfig, cfgRaw, `${first.file} metadata scorekit.config`),
    out,
  };
  if (runDigest(cfg) !== first.meta['scorekit.runDigest'])
    throw new Error(`${first.file}: the config in its metadata does not match its run digest`);
  const size = side * side * 3;
  const pixels = new Float32Array(total * size);
  const labels = new Int32Array(total);
  let nfe = 0;
  for (const sh of shards) {
    pixels.set(sh.samples, sh.from * size);
    labels.set(sh.labels, sh.from);
    nfe += Number(sh.meta['scorekit.nfe']);
  }
  const expected = sampleLabels(cfg.sample);
  const wrong = expected.findIndex((v, j) => labels[j] !== v);
  if (wrong >= 0)
    throw new Error(
      `${owner[wrong]}: label of sample ${wrong} is ${labels[wrong]}, the run's config says ${expected[wrong]}`,
    );
  const report = await writeSampleFolder(cfg, pixels, labels, side, { nfe, started });
  await cleanShardLeftovers(dir);
  options.log?.(
    `merge: ${shards.length} shards, ${total} samples (${nfe} score evaluations) → ${report.samplesFile}`,
  );
  return {
    ...report,
    shards: shards.map((s) => s.file),
    runDigest: first.meta['scorekit.runDigest']!,
    checkpointDigest: first.meta['scorekit.checkpointDigest']!,
    backend: first.meta['scorekit.backend']!,
  };
}
