// The example of README.md: the imports and the lines between the markers are identical to
// the README; only `data` (where the CIFAR files are) differs. Keep the two in sync.
import { join } from 'node:path';
import { key, unwrap } from '@scorekit/core';
import { expectNoLeaksAsync } from '@scorekit/core/testing';
import * as ds from '@scorekit/datasets';
import { cifar100Split } from '@scorekit/datasets/node';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { sharedDataDir } from './testing/sharedData.js';

it('README example runs', async () => {
  const data = sharedDataDir();
  const seen = await expectNoLeaksAsync(async () => {
    // ---- README example ----
    const source = await unwrap(cifar100Split(join(data, 'cifar100/test-bin')));
    const set = await unwrap(ds.readAll(source, { selection: { classes: [0, 1] } }));
    const config = { batchSize: 64, shuffle: true, flip: true };
    let images = 0;
    for (const b of ds.batches(set, config, { key: key(0), epoch: 0 })) {
      images += b.x.shape[0]; // b.x float32 [B, 32, 32, 3] in [0, 1], b.y int32 [B]
      tf.dispose([b.x, b.y]); // batches belong to the consumer
    }
    const grid = tf.tensor2d(ds.evaluationGrid(), [1225, 2]); // 35×35 on [−40, 40] × [−25, 25]
    const oracle = ds.oracleScores(ds.twoMoons(), grid, 7.5); // prior, posterior[c], likelihood[c]
    const [rows, dims] = oracle.likelihood[0]!.shape;
    ds.disposeOracle(oracle);
    grid.dispose();
    // ---- end ----
    return { images, rows, dims, classes: set.classNames.length };
  });
  expect(seen).toEqual({ images: 200, rows: 1225, dims: 2, classes: 100 });
});
