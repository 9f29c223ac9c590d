import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePng } from '@scorekit/datasets/node';
import { countParams } from '@scorekit/models';
import { readSafetensors, writeSafetensors } from '@scorekit/training';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { cifarSubset, tinyConfig } from '../examples/cifar/src/fixtures.js';
import {
  type CifarConfig,
  disposeFrozen,
  evaluateSamples,
  loadFrozen,
  parseArgs,
  sampleImages,
  trainClassifier,
  trainScore,
} from '../examples/cifar/src/index.js';

const data = cifarSubset;
const out = mkdtempSync(join(tmpdir(), 'scorekit-cifar-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const dir = (name: string) => join(out, name);
const config = (argv: string[]): CifarConfig => tinyConfig(argv, data);
const finite = (v: number) => expect(Number.isFinite(v)).toBe(true);

describe('CIFAR example end to end (tiny preset, real CIFAR-10 images)', () => {
  it('train-score writes checkpoints that reload, and --resume continues from the latest', async () => {
    const cfg = config(['train-score', '--out', dir('score'), '--steps', '2']);
    const first = await trainScore(cfg);
    expect(first.steps).toBe(2);
    finite(first.lastTerms['dsm']!);
    expect(readFileSync(join(dir('score'), 'latest'), 'utf8').trim()).toBe('step-000002');
    expect(JSON.parse(readFileSync(join(dir('score'), 'config.json'), 'utf8'))).toEqual(cfg);

    const resumed = await trainScore(
      config(['train-score', '--out', dir('score'), '--steps', '4', '--resume']),
    );
    expect(resumed.resumedFrom).toBe(2);
    expect(resumed.steps).toBe(4);
    expect(readFileSync(join(dir('score'), 'latest'), 'utf8').trim()).toBe('step-000004');

    const frozen = await loadFrozen(dir('score'), 'score')();
    if (E.isLeft(frozen)) throw new Error(frozen.left.message);
    expect(frozen.right.step).toBe(4);
    expect(frozen.right.path).toBe(join(dir('score'), 'step-000004'));
    const probe = frozen.right.model.init;
    expect(typeof probe).toBe('function');
    const values = await Promise.all(Object.values(frozen.right.vars.params).map((t) => t.data()));
    expect(values.every((v) => Array.from(v).every(Number.isFinite))).toBe(true);
    expect(countParams(frozen.right.vars.params)).toBeGreaterThan(1000);
    disposeFrozen(frozen.right);
  });

  it('train-classifier (DLSM + CE) logs both terms and reports held-out accuracy', async () => {
    const cfg = config([
      'train-classifier',
      '--loss',
      'total',
      '--score',
      dir('score'),
      '--out',
      dir('clf'),
    ]);
    const report = await trainClassifier(cfg);
    expect(Object.keys(report.lastTerms).sort()).toEqual(['crossEntropy', 'dlsm']);
    for (const v of Object.values(report.lastTerms)) finite(v);
    expect(report.accuracy.count).toBe(cfg.data.heldOut);
    expect(report.accuracy.accuracy).toBeGreaterThanOrEqual(0);
    expect(report.accuracy.accuracy).toBeLessThanOrEqual(1);
    const frozen = await loadFrozen(dir('clf'), 'classifier')();
    if (E.isLeft(frozen)) throw new Error(frozen.left.message);
    expect(frozen.right.config.classifier.loss).toBe('total');
    // the checkpoint holds the batch-norm running statistics, updated by training
    const rv = Object.entries(frozen.right.vars.buffers).find(([n]) => n.endsWith('running_var'));
    expect(rv).toBeDefined();
    expect(Array.from(rv![1].dataSync()).some((v) => Math.abs(v - 1) > 1e-6)).toBe(true);
    disposeFrozen(frozen.right);
  });

  it('sample writes a decodable PNG grid per class and the sample array', async () => {
    const cfg = config([
      'sample',
      '--score',
      dir('score'),
      '--classifier',
      dir('clf'),
      '--classes',
      '0,3',
      '--scale',
      '2',
      '--n',
      '5',
      '--out',
      dir('samples'),
    ]);
    const before = tf.memory().numTensors;
    const report = await sampleImages(cfg);
    expect(tf.memory().numTensors).toBe(before);
    expect(report.nfe).toBe(2 * 2 * cfg.sde.N); // per class: N steps × (corrector + predictor)
    const saved = await readSafetensors(join(dir('samples'), 'samples.safetensors'))();
    if (E.isLeft(saved)) throw new Error(saved.left.message);
    const { samples, labels } = saved.right.tensors;
    expect(samples!.shape).toEqual([10, 16, 16, 3]);
    expect(Array.from(labels!.values)).toEqual([0, 0, 0, 0, 0, 3, 3, 3, 3, 3]);
    const v = samples!.values;
    expect(v.every((x) => x >= 0 && x <= 1)).toBe(true);
    // 5 images of 16×16 shown at 32×32 (zoom 2) → 3 columns × 2 rows with 2 px borders
    const W = 3 * 34 + 2;
    for (const [ci, c] of [0, 3].entries()) {
      const file = join(dir('samples'), `class-${c}.png`);
      const grid = decodePng(readFileSync(file), file, [2 * 34 + 2, W, 3]);
      if (E.isLeft(grid)) throw new Error(grid.left.message);
      // image 1 of the class sits at row 0, column 1: top-left pixel (2, 36)
      for (let y = 0; y < 32; y++)
        for (let x = 0; x < 32; x++)
          for (let k = 0; k < 3; k++) {
            const sample = v[(((5 * ci + 1) * 16 + (y >> 1)) * 16 + (x >> 1)) * 3 + k]!;
            expect(grid.right[((2 + y) * W + 36 + x) * 3 + k]).toBe(Math.round(sample * 255));
          }
      expect(grid.right[0]).toBe(255); // the white border
    }
    // the overview: one row per class (2 rows of 5 cells of 32 px)
    const overview = decodePng(readFileSync(report.overview), report.overview, [
      2 * 34 + 2,
      5 * 34 + 2,
      3,
    ]);
    if (E.isLeft(overview)) throw new Error(overview.left.message);
    // row 1 (class 3), column 0 holds sample 5: its top-left pixel at (36, 2), zoom 2
    const OW = 5 * 34 + 2;
    for (let k = 0; k < 3; k++)
      expect(overview.right[(36 * OW + 2) * 3 + k]).toBe(Math.round(v[5 * 16 * 16 * 3 + k]! * 255));
    expect(existsSync(join(dir('samples'), 'config.json'))).toBe(true);
  });

  it('evaluate computes finite, honestly labelled metrics', async () => {
    const cfg = config([
      'evaluate',
      '--samples',
      dir('samples'),
      '--extractor',
      `classifier:${dir('clf')}`,
      '--out',
      dir('eval'),
    ]);
    const m = await evaluateSamples(cfg);
    expect(m.labels.frechet).toBe('FD_resnet18w4Classifier');
    expect(m.frechet.name).toBe(m.labels.frechet);
    expect(m.inceptionScore.name).toBe('IS_resnet18w4Classifier');
    expect(m.fakeCount).toBe(10);
    for (const v of [
      m.frechet.value,
      m.inceptionScore.mean,
      m.prdc.precision,
      m.prdc.recall,
      m.prdc.density,
      m.prdc.coverage,
      m.classwiseFrechet.value,
      m.classwisePrdc.mean.precision,
      m.cas.accuracy,
    ])
      finite(v);
    expect(m.prdc.k).toBe(3);
    expect(m.classwiseFrechet.perClass.map((c) => c.label)).toEqual([0, 3]);
    expect(m.cas.accuracy).toBeGreaterThanOrEqual(0);
    expect(m.cas.accuracy).toBeLessThanOrEqual(1);
    // the extractor classifier's accuracy on the samples against their conditioning labels
    expect(m.sampleAccuracy?.count).toBe(10);
    expect(m.sampleAccuracy!.accuracy).toBeGreaterThanOrEqual(0);
    expect(m.sampleAccuracy!.accuracy).toBeLessThanOrEqual(1);
    const saved = JSON.parse(readFileSync(join(dir('eval'), 'metrics.json'), 'utf8'));
    expect(saved.frechet.value).toBeCloseTo(m.frechet.value, 10);
  });

  it('fails clearly on a classifier checkpoint given as the score model', async () => {
    const cfg = config([
      'sample',
      '--score',
      dir('clf'),
      '--classifier',
      dir('clf'),
      '--out',
      dir('bad1'),
    ]);
    await expect(sampleImages(cfg)).rejects.toThrow(
      /expected a score-model checkpoint.*but this is a classifier checkpoint/,
    );
    await expect(
      trainClassifier(config(['train-classifier', '--score', dir('clf'), '--out', dir('bad1')])),
    ).rejects.toThrow(/but this is a classifier checkpoint/);
    expect(existsSync(join(dir('bad1'), 'config.json'))).toBe(false);
  });

  it('fails clearly on models trained at another image size', async () => {
    // the score checkpoint was trained on 16×16 images
    const at8 = ['--image-size', '8'];
    await expect(
      trainClassifier(
        config(['train-classifier', '--score', dir('score'), ...at8, '--out', dir('bad4')]),
      ),
    ).rejects.toThrow(/trained on 16×16 images, data\.imageSize is 8/);
    await expect(
      evaluateSamples(
        config([
          'evaluate',
          '--samples',
          dir('samples'),
          '--extractor',
          `classifier:${dir('clf')}`,
          ...at8,
          '--out',
          dir('bad4'),
        ]),
      ),
    ).rejects.toThrow(/samples float32 \[n, 8, 8, 3\].*got samples float32 \[10,16,16,3\]/);
    // 8×8 samples judged by a classifier trained on 16×16 images
    const small = join(out, 'small.safetensors');
    const tensors = { samples: tf.zeros([2, 8, 8, 3]), labels: tf.tensor1d([0, 3], 'int32') };
    const written = await writeSafetensors(small, tensors)();
    tf.dispose(Object.values(tensors));
    if (E.isLeft(written)) throw new Error(written.left.message);
    await expect(
      evaluateSamples(
        config([
          'evaluate',
          '--samples',
          small,
          '--extractor',
          `classifier:${dir('clf')}`,
          ...at8,
          '--out',
          dir('bad4'),
        ]),
      ),
    ).rejects.toThrow(/trained on 16×16 images, this run's data\.imageSize is 8/);
    await expect(
      sampleImages(
        config([
          'sample',
          '--score',
          dir('score'),
          '--classifier',
          dir('clf'),
          ...at8,
          '--out',
          dir('bad4'),
        ]),
      ),
    ).rejects.toThrow(
      /image sides differ: score model .* 16×16, classifier .* 16×16, this run's data\.imageSize 8/,
    );
    expect(existsSync(join(dir('bad4'), 'config.json'))).toBe(false);
  });

  it('fails clearly on a class index out of range', async () => {
    const cfg = config([
      'sample',
      '--score',
      dir('score'),
      '--classifier',
      dir('clf'),
      '--classes',
      '0,10',
      '--out',
      dir('bad2'),
    ]);
    await expect(sampleImages(cfg)).rejects.toThrow(/class 10 is out of range.*10 classes/);
    expect(existsSync(dir('bad2'))).toBe(false);
  });

  it('fails clearly on a wrong data path', async () => {
    const missing = join(out, 'no-such-cifar', 'data_batch_1.bin');
    const parsed = parseArgs([
      'train-score',
      '--preset',
      'tiny',
      '--data',
      missing,
      '--out',
      dir('bad3'),
    ]);
    if (parsed.kind !== 'run') throw new Error('unexpected help');
    await expect(trainScore(parsed.config)).rejects.toThrow(
      new RegExp(
        `data: ${missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: no such file or folder`,
      ),
    );
    expect(existsSync(dir('bad3'))).toBe(false);
  });

  it('validates the command line and config before any work', () => {
    expect(() => parseArgs(['train-classifier', '--loss', 'kl'])).toThrow(/classifier\.loss/);
    expect(() => parseArgs(['sample', '--classes', 'cat'])).toThrow(/--classes/);
    expect(() => parseArgs(['evaluate', '--resume'])).toThrow(/not an option of evaluate/);
    expect(() => parseArgs(['fly'])).toThrow(/unknown command 'fly'/);
    expect(parseArgs(['sample', '--help']).kind).toBe('help');
  });
});
