import { key, normal, type Params, veSde, vpSde } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { crossEntropy } from './crossEntropy.js';
import { perturb } from './perturb.js';

const mlp = (p: Params, x: tf.Tensor, t: tf.Tensor1D) =>
  tf.tidy(() => {
    const h = tf.relu(
      tf.add(tf.matMul(x as tf.Tensor2D, p['w1'] as tf.Tensor2D), tf.reshape(t, [-1, 1])),
    );
    return tf.matMul(h, p['w2'] as tf.Tensor2D) as tf.Tensor2D;
  });

/** −log softmax(l)_y by hand. */
const nll = (row: number[], y: number) =>
  Math.log(row.reduce((a, v) => a + Math.exp(v), 0)) - row[y]!;

describe('crossEntropy', () => {
  const params = () => ({ w1: normal(key(1), [2, 4]), w2: normal(key(2), [4, 3]) });

  for (const [name, sde] of [
    ['VE', veSde({ sigmaMin: 0.1, sigmaMax: 5 })],
    ['VP', vpSde()],
  ] as const) {
    for (const w of [0, 1]) {
      it(`is the batch mean of σ^(−2w) (−log p(y|x̃, t)) at the documented noise (${name}, w = ${w})`, () => {
        tf.tidy(() => {
          const p = params();
          const x = normal(key(3), [4, 2]);
          const y = tf.tensor1d([0, 2, 1, 2], 'int32');
          const v = crossEntropy({ sde, logits: mlp, w })(p, { x, y }, key(9));
          const pert = perturb(sde, x, key(9), 1e-5);
          const logits = mlp(p, pert.xTilde, pert.t).arraySync();
          const std = Array.from(pert.std.dataSync());
          const labels = Array.from(y.dataSync());
          const expected =
            logits.reduce((a, row, i) => a + nll(row, labels[i]!) * std[i]! ** (-2 * w), 0) / 4;
          expect(v.total.dataSync()[0]!).toBeCloseTo(expected, 4);
          expect(Object.keys(v.terms)).toEqual(['crossEntropy']);
          expect(v.terms['crossEntropy']!.dataSync()[0]!).toBeCloseTo(expected, 4);
        });
      });
    }
  }

  it('fails clearly on labels that do not fit the batch or the classes', () => {
    tf.tidy(() => {
      const loss = crossEntropy({ sde: veSde(), logits: mlp });
      const p = params();
      const x = normal(key(3), [4, 2]);
      expect(() => loss(p, { x, y: tf.tensor1d([0, 1], 'int32') }, key(0))).toThrow(
        'labels: expected one label per sample (a [4] int32 tensor for x of batch 4), got shape [2]',
      );
      expect(() => loss(p, { x, y: tf.tensor1d([0, 1, 3, 0], 'int32') }, key(0))).toThrow(
        'labels: expected every label in [0, 3) (logits have 3 classes), got 3 at index 2',
      );
      const flat = crossEntropy({
        sde: veSde(),
        logits: (pp, xx, t) => tf.sum(mlp(pp, xx, t), 1) as never,
      });
      expect(() => flat(p, { x, y: tf.tensor1d([0, 1, 2, 0], 'int32') }, key(0))).toThrow(
        'logits: expected shape [4, C] (rank 2, batch 4, C classes), got shape [4]',
      );
    });
  });

  it('validates its config', () => {
    expect(() => crossEntropy({ sde: veSde(), logits: mlp, eps: -1 })).toThrow(
      'crossEntropy: eps must be non-negative (was -1)',
    );
    expect(() => crossEntropy({ sde: veSde(), logits: mlp, wce: 1 } as never)).toThrow(
      /crossEntropy: wce must be removed/,
    );
    expect(() => crossEntropy({ sde: {} as never, logits: mlp })).toThrow(
      'crossEntropy: sde must be an SDE built by veSde / vpSde / subVpSde / makeSde (was object)',
    );
  });
});
