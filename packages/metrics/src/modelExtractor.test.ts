import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureExtractor } from './extractor.js';
import { fileSystemSaver } from './fsIo.js';
import { loadGraphModelExtractor, loadLayersModelExtractor } from './modelExtractor.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scorekit-metrics-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const right = <A>(e: E.Either<unknown, A>): A => {
  if (E.isLeft(e)) throw new Error(`expected Right, got ${JSON.stringify(e.left)}`);
  return e.right;
};

const W1 = [0.5, -1, 0.25, 1, 0.5, -0.5, -1, 2, 0, 0.75, -0.25, 1]; // [4, 3]
const W2 = [1, -1, 2, 0.5, -0.5, 1]; // [3, 2]

/** A hand-written tfjs graph model: input [−1, 2, 2, 1] → reshape → x W1 → relu → · W2. */
async function writeGraphModel(): Promise<string> {
  const f = (name: string, dims: number[]) => ({
    name,
    op: 'Const',
    attr: {
      value: {
        tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: dims.map((d) => ({ size: `${d}` })) } },
      },
      dtype: { type: 'DT_FLOAT' },
    },
  });
  const matMul = (name: string, a: string, b: string) => ({
    name,
    op: 'MatMul',
    input: [a, b],
    attr: { transpose_a: { b: false }, transpose_b: { b: false }, T: { type: 'DT_FLOAT' } },
  });
  const modelJson = {
    format: 'graph-model',
    generatedBy: 'scorekit test',
    convertedBy: 'hand',
    modelTopology: {
      node: [
        {
          name: 'images',
          op: 'Placeholder',
          attr: {
            shape: {
              shape: { dim: [{ size: '-1' }, { size: '2' }, { size: '2' }, { size: '1' }] },
            },
            dtype: { type: 'DT_FLOAT' },
          },
        },
        {
          name: 'flat_shape',
          op: 'Const',
          attr: {
            value: { tensor: { dtype: 'DT_INT32', tensorShape: { dim: [{ size: '2' }] } } },
            dtype: { type: 'DT_INT32' },
          },
        },
        {
          name: 'flat',
          op: 'Reshape',
          input: ['images', 'flat_shape'],
          attr: { T: { type: 'DT_FLOAT' } },
        },
        f('w1', [4, 3]),
        matMul('pre', 'flat', 'w1'),
        { name: 'pool', op: 'Relu', input: ['pre'], attr: { T: { type: 'DT_FLOAT' } } },
        f('w2', [3, 2]),
        matMul('logits', 'pool', 'w2'),
      ],
      library: {},
      versions: {},
    },
    weightsManifest: [
      {
        paths: ['shard1.bin', 'shard2.bin'],
        weights: [
          { name: 'flat_shape', shape: [2], dtype: 'int32' },
          { name: 'w1', shape: [4, 3], dtype: 'float32' },
          { name: 'w2', shape: [3, 2], dtype: 'float32' },
        ],
      },
    ],
  };
  const bytes = new Uint8Array([
    ...new Uint8Array(new Int32Array([-1, 4]).buffer),
    ...new Uint8Array(new Float32Array([...W1, ...W2]).buffer),
  ]);
  const sub = join(dir, 'graph');
  await rm(sub, { recursive: true, force: true });
  await import('node:fs/promises').then((fs) => fs.mkdir(sub, { recursive: true }));
  // split the weights over two shards at an arbitrary byte to exercise shard joining
  await writeFile(join(sub, 'shard1.bin'), bytes.subarray(0, 20));
  await writeFile(join(sub, 'shard2.bin'), bytes.subarray(20));
  await writeFile(join(sub, 'model.json'), JSON.stringify(modelJson));
  return join(sub, 'model.json');
}

/** The graph's function on the host: images in [0, 1] mapped to [−1, 1] first. */
function graphReference(images: number[][]): { pool: number[][]; logits: number[][] } {
  const pool = images.map((img) =>
    [0, 1, 2].map((j) =>
      Math.max(
        0,
        img.reduce((s, v, i) => s + (2 * v - 1) * W1[i * 3 + j]!, 0),
      ),
    ),
  );
  const logits = pool.map((p) =>
    [0, 1].map((j) => p.reduce((s, v, i) => s + v * W2[i * 2 + j]!, 0)),
  );
  return { pool, logits };
}

describe('loadGraphModelExtractor (file-system IOHandler + tfjs-converter)', () => {
  it('exposes the named nodes as features and logits, with the input range applied', async () => {
    const path = await writeGraphModel();
    const extractor: FeatureExtractor = right(
      await loadGraphModelExtractor(path, {
        name: 'tinyGraph',
        featureNode: 'pool',
        logitsNode: 'logits',
        inputRange: [-1, 1],
      })(),
    );
    const images = [
      [0, 0.25, 0.5, 1],
      [1, 1, 0, 0.5],
      [0.1, 0.9, 0.3, 0.7],
    ];
    const x = tf.tensor4d(images.flat(), [3, 2, 2, 1]);
    const both = extractor.featuresAndLogits!(x);
    const features = extractor.features(x);
    const expected = graphReference(images);
    const got = { pool: both.features.arraySync(), logits: both.logits.arraySync() };
    expect(features.arraySync()).toEqual(got.pool);
    tf.dispose([x, both.features, both.logits, features]);
    extractor.dispose!();
    expect(extractor.name).toBe('tinyGraph');
    got.pool.forEach((row, i) => {
      row.forEach((v, j) => expect(v).toBeCloseTo(expected.pool[i]![j]!, 5));
    });
    got.logits.forEach((row, i) => {
      row.forEach((v, j) => expect(v).toBeCloseTo(expected.logits[i]![j]!, 5));
    });
  });

  it('reports a missing node, a missing file and bad options as named errors', async () => {
    const path = await writeGraphModel();
    const badNode = await loadGraphModelExtractor(path, { name: 'g', featureNode: 'nope' })();
    expect(E.isLeft(badNode) && badNode.left._tag).toBe('FormatError');
    expect(E.isLeft(badNode) && badNode.left.message).toMatch(/nope/);
    const missing = await loadGraphModelExtractor(join(dir, 'absent/model.json'), {
      name: 'g',
      featureNode: 'pool',
    })();
    expect(E.isLeft(missing) && missing.left).toMatchObject({
      _tag: 'IoError',
      file: join(dir, 'absent/model.json'),
    });
    const badJson = join(dir, 'bad.json');
    await writeFile(badJson, '{ not json');
    const parsed = await loadGraphModelExtractor(badJson, { name: 'g', featureNode: 'pool' })();
    expect(E.isLeft(parsed) && parsed.left).toMatchObject({ _tag: 'FormatError', file: badJson });
    const config = await loadGraphModelExtractor(path, {
      name: 'g',
      featureNode: 'pool',
      inputRange: [0] as unknown as [number, number],
    })();
    expect(E.isLeft(config) && config.left._tag).toBe('ConfigError');
    expect(E.isLeft(config) && config.left.message).toMatch(/inputRange/);
  });
});

describe('loadLayersModelExtractor (saved with fileSystemSaver, loaded back)', () => {
  it('returns the outputs of the named layers, resizing and rescaling inputs', async () => {
    const seed = (s: number) => tfl.initializers.glorotUniform({ seed: s });
    const input = tfl.input({ shape: [4, 4, 3] });
    const flat = tfl.layers.flatten().apply(input) as tfl.SymbolicTensor;
    const hidden = tfl.layers
      .dense({ units: 5, activation: 'relu', name: 'penultimate', kernelInitializer: seed(1) })
      .apply(flat) as tfl.SymbolicTensor;
    const out = tfl.layers
      .dense({ units: 3, name: 'logits', kernelInitializer: seed(2) })
      .apply(hidden) as tfl.SymbolicTensor;
    const net = tfl.model({ inputs: input, outputs: out });
    const probe = tfl.model({ inputs: input, outputs: [hidden, out] });
    const path = join(dir, 'layers');
    await net.save(fileSystemSaver(path));

    // 2×2 one-channel images: the extractor tiles to 3 channels, resizes to 4×4 and maps [0,1]
    // to [0, 255]; the reference does the same by hand.
    const x = tf.tensor4d([0, 0.5, 1, 0.25, 1, 1, 0, 0], [2, 2, 2, 1]);
    const prepared = tf.tidy(() =>
      tf.image.resizeBilinear(
        tf.mul(tf.tile(x, [1, 1, 1, 3]), 255) as tf.Tensor4D,
        [4, 4],
        false,
        true,
      ),
    );
    const [refHidden, refLogits] = probe.predict(prepared) as tf.Tensor[];
    const extractor = right(
      await loadLayersModelExtractor(join(path, 'model.json'), {
        name: 'tinyLayers',
        featureNode: 'penultimate',
        logitsNode: 'logits',
        inputRange: [0, 255],
      })(),
    );
    const features = extractor.features(x);
    const logits = extractor.logits!(x);
    expect(features.shape).toEqual([2, 5]);
    const diff = (a: tf.Tensor, b: tf.Tensor) =>
      tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
    const errors = [diff(features, refHidden!), diff(logits, refLogits!)];
    tf.dispose([x, prepared, refHidden!, refLogits!, features, logits]);
    extractor.dispose!();
    net.dispose(); // frees the layers' weights, which `probe` shares
    expect(errors[0]).toBeLessThan(1e-4);
    expect(errors[1]).toBeLessThan(1e-4);

    const bad = await loadLayersModelExtractor(join(path, 'model.json'), {
      name: 'n',
      featureNode: 'missing_layer',
    })();
    expect(E.isLeft(bad) && bad.left).toMatchObject({ _tag: 'FormatError', field: 'featureNode' });
  });
});
