import { key, normal, type Params, type ScoreFn, veSde } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { crossEntropy } from './crossEntropy.js';
import { dlsm } from './dlsm.js';
import { classifierObjective } from './objective.js';

const sde = veSde({ sigmaMin: 0.2, sigmaMax: 4 });
const logits = (p: Params, x: tf.Tensor) =>
  tf.matMul(x as tf.Tensor2D, p['w'] as tf.Tensor2D) as tf.Tensor2D;
const score: ScoreFn = (x) => tf.mul(x, -0.2);
const value = (f: () => tf.Scalar) => tf.tidy(() => f().dataSync()[0]!);

describe('classifierObjective', () => {
  it('builds the paper’s base, DLSM and total (L_DLSM + λ L_CE) objectives from JSON', () => {
    tf.tidy(() => {
      const params = { w: normal(key(1), [2, 3]) };
      const batch = { x: normal(key(2), [5, 2]), y: tf.tensor1d([0, 1, 2, 1, 0], 'int32') };
      const k = key(3);
      const ce = value(() => crossEntropy({ sde, logits })(params, batch, k).total);
      const dl = value(() => dlsm({ sde, logits, score, w: 2 })(params, batch, k).total);
      const total = classifierObjective({ lambda: 0.125, wDlsm: 2 }, { sde, logits, score })(
        params,
        batch,
        k,
      );
      expect(total.total.dataSync()[0]!).toBeCloseTo(dl + 0.125 * ce, 5);
      expect(Object.keys(total.terms).sort()).toEqual(['crossEntropy', 'dlsm']);
      const base = classifierObjective({ method: 'crossEntropy' }, { sde, logits });
      expect(value(() => base(params, batch, k).total)).toBeCloseTo(ce, 5);
      const alone = classifierObjective({ method: 'dlsm', wDlsm: 2 }, { sde, logits, score });
      expect(value(() => alone(params, batch, k).total)).toBeCloseTo(dl, 5);
    });
  });

  it('rejects bad config and a missing score', () => {
    expect(() => classifierObjective({ method: 'ours' as never }, { sde, logits, score })).toThrow(
      /classifierObjective: method must be "crossEntropy", "dlsm" or "total" \(was "ours"\)/,
    );
    expect(() => classifierObjective({ lambda: -1 }, { sde, logits, score })).toThrow(
      'classifierObjective: lambda must be non-negative (was -1)',
    );
    expect(() => classifierObjective({}, { sde, logits })).toThrow(
      'dlsm: score must be a ScoreFn (x, t) → score (bound to its weights) (was missing)',
    );
  });
});
