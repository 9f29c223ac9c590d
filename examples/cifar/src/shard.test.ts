import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { featureRows, fid, gaussianStats } from '@scorekit/metrics';
import { readSafetensors } from '@scorekit/training';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs } from './cli.js';
import type { CifarConfig } from './config.js';
import { mergeShards } from './merge.js';
import { drawSamples, planSampling, sampleImages, samplesFileName } from './sample.js';
import {
  batchShardRange,
  checkpointDigest,
  parseRange,
  parseShard,
  runDigest,
  sampleShard,
  shardFileName,
  shardRange,
} from './shard.js';
import {
  chanCombine,
  combineMoments,
  extractFeatureShard,
  featureMoments,
  mergeFeatureShards,
  momentsGaussian,
} from './shardFeatures.js';
import { trainClassifier } from './trainClassifier.js';
import { trainScore } from './trainScore.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const shared = process.env['SCOREKIT_SHARED_DATA'] ?? resolve(repo, '../shared/data');
const data = join(shared, 'cifar10/cifar-10-batches-bin-subset/data_batch_1_first4000.bin');

describe('shard ranges (pure)', () => {
  it('parses --shard i/n and --range from:to, refusing anything else with the option named', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    for (const bad of ['3/3', '1/0', '-1/2', 'a/b', '1', '1/2/3'])
      expect(() => parseShard(bad)).toThrow(/--shard: expected i\/n/);
    expect(parseRange('6:12')).toEqual({ from: 6, to: 12 });
    expect(() => parseRange('12:6')).toThrow(/--range/);
  });

  it('splits the indices evenly so that the shards of any count cover every index exactly once', () => {
    for (const total of [12, 13, 5, 100])
      for (let n = 1; n <= 6; n++) {
        const seen = new Array<number>(total).fill(0);
        for (let i = 0; i < n; i++) {
          const r = shardRange(total, { index: i, count: n });
          expect(r.to - r.from).toBeGreaterThanOrEqual(Math.floor(total / n));
          expect(r.to - r.from).toBeLessThanOrEqual(Math.ceil(total / n));
          for (let j = r.from; j < r.to; j++) seen[j]! += 1;
        }
        expect(seen.every((c) => c === 1)).toBe(true);
      }
    expect(shardRange(20, { index: 1, count: 3 })).toEqual({ from: 6, to: 13 });
    // evaluate's feature shards stay batch-aligned
    expect(batchShardRange(20, 6, { index: 1, count: 2 })).toEqual({ from: 12, to: 20 });
    expect(batchShardRange(13, 4, { index: 2, count: 3 })).toEqual({ from: 8, to: 13 });
    for (const command of ['sample', 'evaluate']) {
      const help = parseArgs([command, '--help']);
      expect(help.kind === 'help' && help.text).toContain('--shard i/n');
      expect(help.kind === 'help' && help.text).toContain('--queue URL --shards K');
    }
    expect(shardFileName({ from: 12, to: 24 })).toBe('samples-000000012-000000024.safetensors');
  });
});

describe('feature moments merge (Chan et al. 1979)', () => {
  it('pairwise-combined shard moments give the single-pass mean, covariance and Fréchet distance', () => {
    let u = 12345;
    const rnd = () => {
      u = (u * 1103515245 + 12345) % 2 ** 31;
      return u / 2 ** 31;
    };
    const rows = (n: number, off: number) =>
      Array.from({ length: n }, () => Array.from({ length: 5 }, () => off + 100 * rnd()));
    const all = rows(103, 1000);
    const single = gaussianStats(featureRows(all));
    const cuts = [0, 7, 8, 50, 51, 103];
    const parts = cuts.slice(1).map((c, k) => featureMoments(featureRows(all.slice(cuts[k], c))));
    const merged = momentsGaussian(combineMoments(parts), 'raw');
    const rel = (a: ArrayLike<number>, b: ArrayLike<number>) =>
      Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!) / Math.max(1, Math.abs(b[i]!))));
    expect(merged.count).toBe(103);
    expect(rel(merged.mean, single.mean)).toBeLessThan(1e-12);
    expect(rel(merged.cov, single.cov)).toBeLessThan(1e-12);
    const ref = gaussianStats(featureRows(rows(60, 1010)));
    const a = fid(ref, single).value;
    const b = fid(ref, merged).value;
    expect(Math.abs(a - b) / a).toBeLessThan(1e-9);
    // an empty part changes nothing; dimensions must agree
    expect(
      chanCombine(parts[0]!, {
        count: 0,
        dim: 5,
        mean: new Float64Array(5),
        m2: new Float64Array(25),
      }),
    ).toBe(parts[0]);
    expect(() => chanCombine(parts[0]!, featureMoments(featureRows([[1, 2]])))).toThrow(
      /dimensions differ: 5 vs 2/,
    );
  });
});

describe('sample shards and merge (tiny models, real CIFAR-10 images)', () => {
  const out = mkdtempSync(join(tmpdir(), 'scorekit-shard-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  const config = (argv: string[]): CifarConfig => {
    const parsed = parseArgs([...argv, '--preset', 'tiny', '--data', data, '--quiet']);
    if (parsed.kind !== 'run') throw new Error('unexpected help');
    return parsed.config;
  };
  // 2 classes × 6 = 12 samples in batches of 4: three batches, so 2 and 3 shards split unevenly
  const sampleArgs = (dir: string, extra: string[] = []) =>
    config([
      'sample',
      '--score',
      join(out, 'score'),
      '--classifier',
      join(out, 'clf'),
      '--out',
      dir,
      '--steps',
      '3',
      '--set',
      'sample.batch=4',
      ...extra,
    ]);

  beforeAll(async () => {
    await trainScore(config(['train-score', '--out', join(out, 'score'), '--steps', '2']));
    await trainClassifier(
      config(['train-classifier', '--loss', 'ce', '--out', join(out, 'clf'), '--steps', '1']),
    );
  });

  it('any range, in any batch size, draws the same bytes as the same samples of a full run (sample j keyed by (seed, j))', async () => {
    const cfg = sampleArgs(join(out, 'unused'));
    const plan = await planSampling(cfg);
    const size = plan.side * plan.side * 3;
    const before = tf.memory().numTensors;
    const all = await drawSamples(cfg, plan, 0, plan.total);
    const bytesOf = (p: Float32Array) => Buffer.from(p.buffer, p.byteOffset, p.byteLength);
    for (const [from, to, batch] of [
      [4, 12, 4],
      [2, 9, 3],
      [5, 6, 1],
    ] as const) {
      const c = sampleArgs(join(out, 'unused'), ['--set', `sample.batch=${batch}`]);
      const part = await drawSamples(c, plan, from, to);
      expect(
        bytesOf(part.pixels).equals(bytesOf(all.pixels.subarray(from * size, to * size))),
      ).toBe(true);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('merging 3 shards (and 2 shards) writes the samples.safetensors of a single run, byte for byte', async () => {
    const single = await sampleImages(sampleArgs(join(out, 'single')));
    const singleBytes = readFileSync(single.samplesFile);
    for (const n of [3, 2]) {
      const shards = join(out, `shards-${n}`);
      const reports = [];
      for (let i = 0; i < n; i++)
        reports.push(await sampleShard(sampleArgs(shards), { index: i, count: n }, shards));
      expect(new Set(reports.map((r) => r.runDigest)).size).toBe(1);
      const merged = await mergeShards(shards, join(out, `merged-${n}`));
      expect(readFileSync(merged.samplesFile).equals(singleBytes)).toBe(true);
      // score evaluations are counted per batch call: the shards' sum (equal to the single
      // run's when the shards split at its batch boundaries, as 3 shards of 4 do)
      expect(merged.nfe).toBe(reports.reduce((a, r) => a + r.nfe, 0));
      if (n === 3) expect(merged.nfe).toBe(single.nfe);
      for (const f of ['classes.png', 'class-0.png', 'class-3.png'])
        expect(
          readFileSync(join(out, `merged-${n}`, f)).equals(readFileSync(join(out, 'single', f))),
        ).toBe(true);
    }
    // another batch size (3, vs the single run's 4) and shards that split batches (12 = 5 + 7)
    const odd = join(out, 'shards-batch3');
    const batch3 = (dir: string) => sampleArgs(dir, ['--set', 'sample.batch=3']);
    await sampleShard(batch3(odd), { from: 0, to: 5 }, odd);
    await sampleShard(batch3(odd), { from: 5, to: 12 }, odd);
    const merged = await mergeShards(odd, join(out, 'merged-batch3'));
    expect(readFileSync(merged.samplesFile).equals(singleBytes)).toBe(true);
  });

  it('merge refuses a gap, an overlap, another run, a foreign file; leftovers of killed writers are removed', async () => {
    const dir = join(out, 'bad');
    await sampleShard(sampleArgs(dir), { index: 0, count: 3 }, dir);
    await sampleShard(sampleArgs(dir), { index: 2, count: 3 }, dir);
    await expect(mergeShards(dir, join(out, 'm1'))).rejects.toThrow(
      /samples 4–7 of 0–11 are in no shard/,
    );
    expect(existsSync(join(out, 'm1'))).toBe(false);
    // an overlap: shard 1 of 2 covers [6, 12), which shards 1/3 and 2/3 also hold
    await sampleShard(sampleArgs(dir), { index: 1, count: 3 }, dir);
    await sampleShard(sampleArgs(dir), { index: 1, count: 2 }, dir);
    await expect(mergeShards(dir, join(out, 'm1'))).rejects.toThrow(
      /overlapping shards: index 6 is in both .*samples-000000004-000000008.* and .*samples-000000006-000000012/,
    );
    rmSync(join(dir, shardFileName({ from: 6, to: 12 })));
    // a shard of another run (another seed) in the same folder
    const other = join(out, 'other');
    const o = await sampleShard(sampleArgs(other, ['--seed', '7']), { index: 2, count: 3 }, other);
    writeFileSync(join(dir, shardFileName({ from: 8, to: 12 })), readFileSync(o.file));
    await expect(mergeShards(dir, join(out, 'm1'))).rejects.toThrow(
      /shards of different runs: scorekit.runDigest is/,
    );
    writeFileSync(join(dir, shardFileName({ from: 8, to: 12 })), 'not a safetensors file');
    await expect(mergeShards(dir, join(out, 'm1'))).rejects.toThrow(/samples-000000008-000000012/);
    expect(existsSync(join(out, 'm1'))).toBe(false);
    // a killed writer's temporary file is never read as a shard, and merge cleans it
    await sampleShard(sampleArgs(dir), { index: 2, count: 3 }, dir);
    writeFileSync(join(dir, `${shardFileName({ from: 8, to: 12 })}.tmp-99999`), 'partial');
    const merged = await mergeShards(dir, join(out, 'm1'));
    expect(
      readFileSync(merged.samplesFile).equals(readFileSync(join(out, 'single', samplesFileName))),
    ).toBe(true);
    expect(readdirSync(dir).some((n) => n.includes('.tmp-'))).toBe(false);
  });

  it('digests: the run digest ignores out/paths and batch but not seed or scale; the checkpoint digest sees the weights', async () => {
    const a = sampleArgs(join(out, 'x'));
    expect(runDigest(a)).toBe(runDigest(sampleArgs(join(out, 'y'))));
    expect(runDigest(a)).toBe(runDigest(sampleArgs(join(out, 'x'), ['--set', 'sample.batch=6'])));
    expect(runDigest(a)).not.toBe(runDigest(sampleArgs(join(out, 'x'), ['--seed', '9'])));
    expect(runDigest(a)).not.toBe(runDigest(sampleArgs(join(out, 'x'), ['--scale', '3'])));
    const plan = await planSampling(a);
    const d = await checkpointDigest([plan.scoreDir, plan.classifierDir]);
    expect(d).toMatch(/^[0-9a-f]{64}$/);
    expect(await checkpointDigest([plan.classifierDir, plan.scoreDir])).not.toBe(d);
    await expect(
      sampleShard(a, { index: 0, count: 3 }, join(out, 'z'), {
        expectCheckpointDigest: '0'.repeat(64),
      }),
    ).rejects.toThrow(/have digest .* but this run was started with checkpoints of digest 0000/);
    const got = await readSafetensors(join(out, 'shards-3', shardFileName({ from: 0, to: 4 })))();
    if (E.isLeft(got)) throw new Error(got.left.message);
    expect(got.right.metadata['scorekit.checkpointDigest']).toBe(d);
  });

  it('evaluate feature shards merge to the single extraction: same feature bytes, moments and FD', async () => {
    const evalCfg = config([
      'evaluate',
      '--samples',
      join(out, 'single'),
      '--extractor',
      `classifier:${join(out, 'clf')}`,
      '--set',
      'evaluate.batch=4',
    ]);
    const whole = await extractFeatureShard(evalCfg, { index: 0, count: 1 }, join(out, 'f1'));
    const dir = join(out, 'f3');
    for (let i = 0; i < 3; i++) await extractFeatureShard(evalCfg, { index: i, count: 3 }, dir);
    const merged = await mergeFeatureShards(dir, join(out, 'fm'));
    expect(
      Buffer.from(merged.features.data.buffer).equals(Buffer.from(whole.features.data.buffer)),
    ).toBe(true);
    expect(Array.from(merged.labels)).toEqual(Array.from(whole.labels));
    const name = whole.extractor;
    const single = momentsGaussian(whole.moments, name);
    const fromShards = momentsGaussian(merged.moments, name);
    const ref = gaussianStats({
      ...whole.features,
      data: whole.features.data.map((v) => v * 0.9 + 0.1),
    });
    const a = fid(ref, single).value;
    const b = fid(ref, fromShards).value;
    expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(a)));
    rmSync(join(dir, 'features-000000004-000000008'), { recursive: true });
    await expect(mergeFeatureShards(dir, join(out, 'fm2'))).rejects.toThrow(
      /samples 4–7 are in no shard/,
    );
  });

  it('an interrupted sample leaves the previous output folder untouched (no new config beside old samples)', async () => {
    const dest = join(out, 'atomic');
    await sampleImages(sampleArgs(dest));
    const before = new Map(readdirSync(dest).map((f) => [f, readFileSync(join(dest, f))]));
    const ac = new AbortController();
    let steps = 0;
    const run = sampleImages(sampleArgs(dest, ['--seed', '5']), {
      signal: ac.signal,
      log: () => {},
    });
    // abort once sampling is under way (the first sampler steps have run)
    const timer = setInterval(() => {
      steps++;
      if (steps > 2) ac.abort();
    }, 50);
    await expect(run).rejects.toThrow();
    clearInterval(timer);
    const after = readdirSync(dest);
    expect(after.sort()).toEqual([...before.keys()].sort());
    for (const f of after) expect(readFileSync(join(dest, f)).equals(before.get(f)!)).toBe(true);
    expect(readdirSync(out).filter((n) => n.startsWith('.tmp-atomic'))).toEqual([]);
  });
});
