import { key, logSoftmax } from '@scorekit/core';
import { liveTensors } from '@scorekit/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { countParams, countSpecs, disposeVariables } from './params.js';
import { toyClassifier, toyScoreModel } from './toyMlp.js';

/** in·out weights + out biases per linear layer. */
const linear = (i: number, o: number) => i * o + o;

describe('toy MLPs', () => {
  it('have the paper shape: trunk 2→256→128→64, noise 1→64→32→16, (64+16)→2', () => {
    const expected =
      linear(2, 256) +
      linear(256, 128) +
      linear(128, 64) +
      linear(1, 64) +
      linear(64, 32) +
      linear(32, 16) +
      linear(80, 2);
    expect(expected).toBe(44_818);
    const score = toyScoreModel();
    const clf = toyClassifier({ classes: 2 });
    expect(countSpecs(score.specs)).toBe(expected);
    expect(countSpecs(clf.specs)).toBe(expected);
    expect(countSpecs(toyClassifier({ classes: 5 }).specs)).toBe(
      expected - linear(80, 2) + linear(80, 5),
    );
    const vars = score.init(key(0));
    expect(countParams(vars.params)).toBe(expected);
    expect(Object.keys(vars.buffers)).toEqual([]);
    expect(vars.params['layers.3.weight']?.shape).toEqual([256, 128]);
    expect(vars.params['cond_layers.4.weight']?.shape).toEqual([32, 16]);
    expect(vars.params['linear.weight']?.shape).toEqual([80, 2]);
    disposeVariables(vars);
  });

  it('compute linear([trunk(x), noise(σ)]) with ReLU between layers and none after the last', () => {
    const model = toyScoreModel({ trunk: [3, 2], noise: [2, 1] });
    const vars = model.init(key(1));
    const x = tf.tensor2d([[0.5, -1.5]]);
    const sigma = tf.tensor1d([2]);
    const out = model.apply(vars.params, x, sigma, { training: false, buffers: {} });
    const p = (n: string) => [...(vars.params[n] as tf.Tensor).dataSync()];
    const lin = (v: number[], w: number[], b: number[]) =>
      b.map((bj, j) => bj + v.reduce((s, vi, i) => s + vi * (w[i * b.length + j] as number), 0));
    const relu = (v: number[]) => v.map((a) => Math.max(a, 0));
    const h = lin(
      relu(lin([0.5, -1.5], p('layers.1.weight'), p('layers.1.bias'))),
      p('layers.3.weight'),
      p('layers.3.bias'),
    );
    const e = lin(
      relu(lin([2], p('cond_layers.0.weight'), p('cond_layers.0.bias'))),
      p('cond_layers.2.weight'),
      p('cond_layers.2.bias'),
    );
    const y = lin([...h, ...e], p('linear.weight'), p('linear.bias'));
    expect(out.shape).toEqual([1, 2]);
    [...out.dataSync()].forEach((v, i) => expect(v).toBeCloseTo(y[i] as number, 5));
    tf.dispose([x, sigma, out]);
    disposeVariables(vars);
  });

  it('leaks nothing over 50 forward + backward steps', () => {
    const model = toyClassifier({ classes: 2 });
    const vars = model.init(key(2));
    const names = Object.keys(vars.params);
    const x = tf.randomNormal([16, 2], 0, 10, 'float32', 1);
    const sigma = tf.randomUniform([16], 0.01, 10, 'float32', 2) as tf.Tensor1D;
    const onehot = tf.tidy(() =>
      tf.oneHot(
        tf.tensor1d(
          new Array(16).fill(0).map((_, i) => i % 2),
          'int32',
        ),
        2,
      ),
    );
    let params = vars.params;
    const losses: number[] = [];
    let live = 0;
    for (let step = 0; step < 50; step++) {
      const next = tf.tidy(() => {
        const { value, grads } = tf.valueAndGrads((...ts: tf.Tensor[]) => {
          const p = Object.fromEntries(names.map((n, i) => [n, ts[i] as tf.Tensor]));
          const logits = model.apply(p, x, sigma, { training: true, buffers: vars.buffers });
          return tf.neg(tf.mean(tf.sum(tf.mul(logSoftmax(logits), onehot), 1))) as tf.Scalar;
        })(names.map((n) => params[n] as tf.Tensor));
        losses.push(value.dataSync()[0] as number);
        return Object.fromEntries(
          names.map((n, i) => [
            n,
            tf.sub(params[n] as tf.Tensor, tf.mul(grads[i] as tf.Tensor, 0.01)),
          ]),
        );
      });
      if (params !== vars.params) tf.dispose(Object.values(params));
      params = next;
      if (step === 0) live = liveTensors();
      else expect(liveTensors()).toBe(live);
    }
    expect(losses.at(-1)).toBeLessThan(losses[0] as number);
    tf.dispose([...Object.values(params), x, sigma, onehot]);
    disposeVariables(vars);
  });
});
