import { key, logSoftmax, type Params } from '@scorekit/core';
import { liveTensors } from '@scorekit/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { countParams, countSpecs, disposeVariables } from './params.js';
import { resnetClassifier } from './resnet.js';
import { assertChecks, directionalChecks, dlsmObjective } from './testing/gradcheck.js';

/** Trainable parameters of the conditioned CIFAR ResNet, counted layer by layer by hand. */
function handCount(
  depth: 18 | 34,
  w: number,
  classes: number,
  cin = 3,
  emb = 128,
  fourier = 32,
): number {
  const blocks = depth === 18 ? [2, 2, 2, 2] : [3, 4, 6, 3];
  let n = 3 * 3 * cin * w + 2 * w; // stem conv (no bias) + BN γ, β
  let inPlanes = w;
  blocks.forEach((count, s) => {
    const p = w * 2 ** s;
    for (let b = 0; b < count; b++) {
      n += 9 * inPlanes * p + 2 * p + 9 * p * p + 2 * p; // conv1 + bn1 + conv2 + bn2
      if (inPlanes !== p) n += inPlanes * p + 2 * p; // 1×1 shortcut conv + BN
      inPlanes = p;
    }
    n += emb * p + p; // dense_s: embedding → stage width
  });
  n += 2 * fourier * emb + emb + emb * emb + emb; // Fourier features → dense → dense
  n += 8 * w * classes + classes; // linear head
  return n;
}

describe('resnetClassifier', () => {
  it('ResNet-18, width 64, 10 classes: 11 322 634 trainable parameters (from the specs, nothing allocated)', () => {
    const model = resnetClassifier({ depth: 18, width: 64, classes: 10 });
    expect(handCount(18, 64, 10)).toBe(11_322_634);
    expect(countSpecs(model.specs)).toBe(11_322_634);
    // the plain CIFAR ResNet-18 (11 173 962) plus the noise embedding: Fourier → 128 → 128
    // (24 832) and the four stage projections 128 → 64, 128, 256, 512 (123 840)
    expect(11_173_962 + 24_832 + 123_840).toBe(11_322_634);
    expect(countSpecs(resnetClassifier({ depth: 34, classes: 100 }).specs)).toBe(
      handCount(34, 64, 100),
    );
  });

  it('init allocates exactly the declared params and buffers (width 8)', () => {
    const model = resnetClassifier({ depth: 18, width: 8, classes: 10 });
    const vars = model.init(key(0));
    expect(countParams(vars.params)).toBe(handCount(18, 8, 10));
    // buffers: running mean and var of the 20 batch norms (stem 8; per stage 4 BNs + a shortcut BN
    // from stage 2 on) and the 32 Fourier frequencies
    const bnChannels = 8 + 4 * 8 + 5 * 16 + 5 * 32 + 5 * 64;
    expect(countParams(vars.buffers)).toBe(2 * bnChannels + 32);
    expect(vars.buffers['condition_modules.0.W']?.shape).toEqual([32]);
    expect(vars.params['classifier.layer2.0.shortcut.0.weight']?.shape).toEqual([1, 1, 8, 16]);
    expect(vars.buffers['classifier.layer4.1.bn2.running_var']?.shape).toEqual([64]);
    disposeVariables(vars);
  });

  it('maps [B, H, W, 3] images and σ [B] to logits [B, classes] in both modes; inference leaves buffers alone', () => {
    const model = resnetClassifier({ depth: 18, width: 8, classes: 10 });
    const vars = model.init(key(1));
    const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 1);
    const sigma = tf.tensor1d([0.01, 50]);
    const rm = 'classifier.layer1.0.bn1.running_mean';
    const before = [...(vars.buffers[rm] as tf.Tensor).dataSync()];
    const inference = model.apply(vars.params, x, sigma, {
      training: false,
      buffers: vars.buffers,
    });
    expect(inference.shape).toEqual([2, 10]);
    expect([...(vars.buffers[rm] as tf.Tensor).dataSync()]).toEqual(before);
    const train = model.apply(vars.params, x, sigma, { training: true, buffers: vars.buffers });
    expect(train.shape).toEqual([2, 10]);
    expect([...(vars.buffers[rm] as tf.Tensor).dataSync()]).not.toEqual(before);
    const bad = tf.zeros([2, 8, 8, 1]);
    expect(() =>
      model.apply(vars.params, bad, sigma, { training: false, buffers: vars.buffers }),
    ).toThrow(/images \[B, H, W, 3\]/);
    tf.dispose([x, sigma, inference, train, bad]);
    disposeVariables(vars);
  });

  it("norm: 'group' has no running statistics and the same parameter count", () => {
    const model = resnetClassifier({ depth: 18, width: 8, norm: 'group' });
    const vars = model.init(key(2));
    expect(Object.keys(vars.buffers)).toEqual(['condition_modules.0.W']);
    expect(countParams(vars.params)).toBe(handCount(18, 8, 10));
    const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 2);
    const sigma = tf.tensor1d([0.1, 1]);
    const y = model.apply(vars.params, x, sigma, { training: true, buffers: vars.buffers });
    expect(y.shape).toEqual([2, 10]);
    tf.dispose([x, sigma, y]);
    disposeVariables(vars);
  });

  it('whole classifier (width 4, batch 2, batch norm in training mode): second-order gradient matches finite differences', () => {
    // SiLU instead of ReLU: with ReLU the objective jumps wherever a unit's mask flips, and a
    // net this size has thousands of units, so central differences are meaningless (ReLU's own
    // second-order gradient is checked on a small MLP in activations.test.ts).
    // 16×16 inputs: at 8×8 with batch 2, stage 4 is 1×1 and its batch norms see 2 values per
    // channel (outputs ±1 whatever the input), which makes the objective badly conditioned.
    const model = resnetClassifier({ depth: 18, width: 4, classes: 3, activation: 'silu' });
    const vars = model.init(key(3));
    const x = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 3);
    const sigma = tf.tensor1d([0.3, 2]);
    const target = tf.randomNormal([2, 16, 16, 3], 0, 0.01, 'float32', 4);
    const objective = dlsmObjective(
      (p, xx) =>
        model.apply(p, xx, sigma as tf.Tensor1D, { training: true, buffers: vars.buffers }),
      x,
      [0, 2],
      3,
      target,
    );
    const names = [
      'condition_modules.1.weight',
      'classifier.conv1.weight',
      'classifier.bn1.weight',
      'classifier.layer1.0.conv1.weight',
      'classifier.dense_1.weight',
      'classifier.layer2.0.shortcut.0.weight',
      'classifier.layer2.0.shortcut.1.weight',
      'classifier.layer3.1.conv2.weight',
      'classifier.dense_3.weight',
      'classifier.layer4.0.conv1.weight',
      'classifier.layer4.1.bn1.bias',
      'classifier.linear.weight',
    ];
    const checks = directionalChecks(objective, vars.params, key(5), {
      h: 1e-3,
      names,
      direction: 'mixed',
    });
    assertChecks(checks, 1e-2);
    objective.dispose();
    tf.dispose([x, sigma, target]);
    disposeVariables(vars);
  });

  it('training steps change the running statistics but never the Fourier frequencies, without leaks', () => {
    const model = resnetClassifier({ depth: 18, width: 4, classes: 3 });
    const vars = model.init(key(4));
    const names = Object.keys(vars.params);
    let params: Params = vars.params;
    const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 5);
    const sigma = tf.tensor1d([0.5, 5]);
    const onehot = tf.tidy(() => tf.oneHot(tf.tensor1d([1, 2], 'int32'), 3));
    const w0 = [...(vars.buffers['condition_modules.0.W'] as tf.Tensor).dataSync()];
    const rv = 'classifier.bn1.running_var';
    const rv0 = [...(vars.buffers[rv] as tf.Tensor).dataSync()];
    let live = 0;
    const losses: number[] = [];
    for (let step = 0; step < 4; step++) {
      const next = tf.tidy(() => {
        const loss = (...ts: tf.Tensor[]) => {
          const p = Object.fromEntries(names.map((n, i) => [n, ts[i] as tf.Tensor]));
          const logits = model.apply(p, x, sigma, { training: true, buffers: vars.buffers });
          return tf.neg(tf.mean(tf.sum(tf.mul(logSoftmax(logits), onehot), 1))) as tf.Scalar;
        };
        const { value: l, grads: g } = tf.valueAndGrads(loss)(
          names.map((n) => params[n] as tf.Tensor),
        );
        losses.push(l.dataSync()[0] as number);
        return Object.fromEntries(
          names.map((n, i) => [n, tf.sub(params[n] as tf.Tensor, tf.mul(g[i] as tf.Tensor, 0.01))]),
        );
      });
      if (params !== vars.params) tf.dispose(Object.values(params));
      params = next;
      if (step === 0)
        live = liveTensors(); // the initial params stay alive, the copies are extra
      else expect(liveTensors()).toBe(live);
    }
    expect(liveTensors()).toBe(live);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect([...(vars.buffers['condition_modules.0.W'] as tf.Tensor).dataSync()]).toEqual(w0);
    expect([...(vars.buffers[rv] as tf.Tensor).dataSync()]).not.toEqual(rv0);
    tf.dispose(Object.values(params));
    tf.dispose([x, sigma, onehot]);
    disposeVariables(vars);
  });
});
