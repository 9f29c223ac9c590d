import { key, veSde } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { bindLogits, bindScore, parametricLogits, parametricScore } from './bind.js';
import { disposeVariables } from './params.js';
import { resnetClassifier } from './resnet.js';
import { toyScoreModel } from './toyMlp.js';
import { DisposedParamsError } from './variables.js';

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = d.dataSync()[0] as number;
  d.dispose();
  return v;
};

describe('bindings', () => {
  it('bindScore(model, vars, sde) conditions the model on σ(t) = sde.marginalStd(t)', () => {
    const sde = veSde({ sigmaMin: 0.01, sigmaMax: 50 });
    const model = toyScoreModel();
    const vars = model.init(key(0));
    const x = tf.randomNormal([3, 2], 0, 5, 'float32', 1);
    const t = tf.tensor1d([0, 0.5, 1]);
    const sigma = tf.tensor1d([0.01, 0.01 * Math.sqrt(5000), 50]);
    const s = bindScore(model, vars, sde)(x, t);
    const direct = model.apply(vars.params, x, sigma, { training: false, buffers: vars.buffers });
    expect(maxDiff(s, direct)).toBeLessThan(1e-4);
    const p = parametricScore(model, vars.buffers, sde)(vars.params, x, t);
    expect(maxDiff(p, s)).toBe(0);
    tf.dispose([x, t, sigma, s, direct, p]);
    disposeVariables(vars);
  });

  it('bindLogits is inference mode by default; parametricLogits with training uses batch statistics and updates buffers', () => {
    const sde = veSde();
    const model = resnetClassifier({ depth: 18, width: 4, classes: 3 });
    const vars = model.init(key(1));
    const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 2);
    const t = tf.tensor1d([0.2, 0.8]);
    const rm = () => [...(vars.buffers['classifier.bn1.running_mean'] as tf.Tensor).dataSync()];
    const before = rm();
    const inference = bindLogits(model, vars, sde)(x, t);
    expect(inference.shape).toEqual([2, 3]);
    expect(rm()).toEqual(before);
    const train = parametricLogits(model, vars.buffers, sde, { training: true })(vars.params, x, t);
    expect(rm()).not.toEqual(before);
    expect(maxDiff(train, inference)).toBeGreaterThan(1e-3);
    tf.dispose([x, t, inference, train]);
    disposeVariables(vars);
  });

  it('a function bound to disposed params fails with a DisposedParamsError that says so', () => {
    // before: a TypeError "Cannot read properties of undefined" from deep inside tfjs
    const sde = veSde();
    const model = toyScoreModel();
    const vars = model.init(key(2));
    const score = bindScore(model, vars, sde);
    const parametric = parametricScore(model, vars.buffers, sde);
    const x = tf.zeros([2, 2]);
    const t = tf.tensor1d([0.5, 0.5]);
    tf.dispose(score(x, t)); // works while the params live
    const live = { ...vars.params };
    disposeVariables(vars); // e.g. the training state holding the EMA params was disposed
    const before = tf.memory().numTensors;
    let error: unknown;
    try {
      score(x, t);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DisposedParamsError);
    expect((error as Error).name).toBe('DisposedParamsError');
    expect((error as Error).message).toMatch(
      /^bindScore: parameter '[^']+' was disposed — the parameters this function reads were freed/,
    );
    expect(() => parametric(live, x, t)).toThrow(
      /^parametricScore: parameter '[^']+' was disposed/,
    );
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, t]);
  });
});
