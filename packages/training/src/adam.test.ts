import { expectNoLeaks } from '@scorekit/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { adam } from './adam.js';
import { disposeOptimizerState } from './optimizer.js';

/** torch.optim.Adam, one parameter vector, in float64 (the hand computation). */
function adamReference(
  p0: number[],
  grads: number[][],
  o: { lr: number; b1: number; b2: number; eps: number; wd: number; lrAt?: (s: number) => number },
): number[] {
  let p = [...p0];
  let m = p.map(() => 0);
  let v = p.map(() => 0);
  grads.forEach((g0, s) => {
    const t = s + 1;
    const g = g0.map((gi, i) => gi + o.wd * p[i]!);
    m = m.map((mi, i) => o.b1 * mi + (1 - o.b1) * g[i]!);
    v = v.map((vi, i) => o.b2 * vi + (1 - o.b2) * g[i]! * g[i]!);
    const lr = o.lrAt ? o.lrAt(s) : o.lr;
    const stepSize = lr / (1 - o.b1 ** t);
    const bc2 = Math.sqrt(1 - o.b2 ** t);
    p = p.map((pi, i) => pi - (stepSize * m[i]!) / (Math.sqrt(v[i]!) / bc2 + o.eps));
  });
  return p;
}

/** Runs `opt` over the gradient sequence from p0 and returns the final values. */
function run(opt: ReturnType<typeof adam>, p0: number[], grads: number[][]): number[] {
  return expectNoLeaks(() => {
    let params: Record<string, tf.Tensor> = { w: tf.tensor1d(p0) };
    let state = opt.init(params);
    grads.forEach((g, s) => {
      const gt = { w: tf.tensor1d(g) };
      const next = opt.update(gt, state, params, s);
      tf.dispose([params.w!, gt.w]);
      disposeOptimizerState(state);
      params = { ...next.params };
      state = next.state;
    });
    const out = Array.from(params.w!.dataSync());
    params.w!.dispose();
    disposeOptimizerState(state);
    return out;
  });
}

const expectClose = (got: number[], want: number[], tol = 1e-6) => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) =>
    expect(Math.abs(g - want[i]!)).toBeLessThan(tol * (1 + Math.abs(want[i]!))),
  );
};

describe('adam', () => {
  it('matches a hand-computed two-step torch.optim.Adam update (defaults, no clipping)', () => {
    const opt = adam({ lr: 0.1, gradClip: null });
    expect(opt.config).toMatchObject({ beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
    const p0 = [1, -2, 0.5];
    const grads = [
      [0.3, -0.1, 2],
      [-0.2, 0.4, 1],
    ];
    const got = run(opt, p0, grads);
    // Step 1 by hand: m̂ = g, v̂ = g², so every coordinate moves by lr·sign(g) (up to eps).
    // Step 2, coordinate 0: m = 0.9·0.03 + 0.1·(−0.2) = 0.007, v = 0.999·9e-5 + 0.001·0.04
    // = 1.2991e-4; θ = 0.9 − (0.1/0.19)·0.007/(√v/√(1−0.999²) + 1e-8).
    const m = 0.9 * 0.03 + 0.1 * -0.2;
    const v = 0.999 * 0.001 * 0.09 + 0.001 * 0.04;
    const byHand0 =
      1 - 0.1 - ((0.1 / (1 - 0.81)) * m) / (Math.sqrt(v) / Math.sqrt(1 - 0.999 ** 2) + 1e-8);
    expect(got[0]!).toBeCloseTo(byHand0, 6);
    expectClose(got, adamReference(p0, grads, { lr: 0.1, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0 }));
  });

  it('adds weight decay to the gradient (L2, as torch.optim.Adam) and honours β and eps', () => {
    const cfg = { lr: 0.01, beta1: 0.5, beta2: 0.9, eps: 1e-3, weightDecay: 0.1 };
    const p0 = [2, -3];
    const grads = [
      [0.01, 0.02],
      [0.03, -0.01],
      [0, 0.5],
    ];
    expectClose(
      run(adam({ ...cfg, gradClip: null }), p0, grads),
      adamReference(p0, grads, { lr: 0.01, b1: 0.5, b2: 0.9, eps: 1e-3, wd: 0.1 }),
    );
  });

  it('warm-up advances the learning rate linearly: lr·min(1, step/warmup)', () => {
    const opt = adam({ lr: 0.2, warmup: 4, gradClip: null });
    const lrs = [0, 1, 2, 3, 4, 5, 100].map((s) => opt.learningRate(s));
    [0, 0.05, 0.1, 0.15, 0.2, 0.2, 0.2].forEach((lr, i) => expect(lrs[i]!).toBeCloseTo(lr, 12));
    const p0 = [1, 1];
    const grads = [
      [1, -1],
      [0.5, 2],
      [-1, 1],
      [3, 0.1],
      [0.2, 0.2],
      [1, 1],
    ];
    const lrAt = (s: number) => 0.2 * Math.min(1, s / 4);
    const got = run(opt, p0, grads);
    expectClose(
      got,
      adamReference(p0, grads, { lr: 0.2, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0, lrAt }),
    );
    // It really advances: not the constant-lr result, and not frozen at lr 0.
    const constant = adamReference(p0, grads, { lr: 0.2, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0 });
    expect(Math.abs(got[0]! - constant[0]!)).toBeGreaterThan(1e-2);
    expect(Math.abs(got[0]! - p0[0]!)).toBeGreaterThan(1e-2);
    // A single first update taken at step 2 of the warm-up moves each coordinate by lr/2.
    const firstAt2 = expectNoLeaks(() => {
      const params = { w: tf.tensor1d([0, 0]) };
      const g = { w: tf.tensor1d([5, -0.5]) };
      const s = opt.init(params);
      const out = opt.update(g, s, params, 2);
      const values = Array.from(out.params.w!.dataSync());
      tf.dispose([params.w, g.w, out.params.w!]);
      disposeOptimizerState(s);
      disposeOptimizerState(out.state);
      return values;
    });
    expectClose(firstAt2, [-0.1, 0.1], 1e-6);
  });

  it('clips by the global norm before the update (grad_clip 1, the default)', () => {
    const opt = adam({ lr: 0.1 });
    expect(opt.config.gradClip).toBe(1);
    const p0 = [0, 0, 0];
    // Norm 13 → scaled by 1/(13 + 1e-6); then norm 0.5 → unchanged.
    const grads = [
      [3, 4, 12],
      [0.3, 0, -0.4],
    ];
    const clipped = [grads[0]!.map((g) => g / (13 + 1e-6)), grads[1]!];
    const ref = { lr: 0.1, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0 };
    const got = run(opt, p0, grads);
    expectClose(got, adamReference(p0, clipped, ref));
    // Without clipping the second step differs (Adam is not scale invariant across steps).
    const unclipped = adamReference(p0, grads, ref);
    expect(Math.abs(got[2]! - unclipped[2]!)).toBeGreaterThan(1e-3);
  });

  it('is deterministic, returns new tensors and disposes nothing it was given', () => {
    const opt = adam({ lr: 0.05 });
    expectNoLeaks(() => {
      const params = { a: tf.tensor2d([[1, 2]]), b: tf.scalar(3) };
      const grads = { a: tf.tensor2d([[0.1, -0.2]]), b: tf.scalar(0.7) };
      const s0 = opt.init(params);
      const u1 = opt.update(grads, s0, params, 0);
      const u2 = opt.update(grads, s0, params, 0);
      for (const t of [...Object.values(params), ...Object.values(grads)])
        expect(t.isDisposed).toBe(false);
      expect(u1.params.a).not.toBe(params.a);
      expect(u1.state.count).toBe(1);
      expect(Array.from(u1.params.a!.dataSync())).toEqual(Array.from(u2.params.a!.dataSync()));
      expect(u1.params.b!.dataSync()[0]).toBe(u2.params.b!.dataSync()[0]);
      tf.dispose([...Object.values(params), ...Object.values(grads)]);
      tf.dispose([...Object.values(u1.params), ...Object.values(u2.params)]);
      for (const s of [s0, u1.state, u2.state]) disposeOptimizerState(s);
    });
  });

  it('rejects a bad config naming the field, and a missing gradient naming the param', () => {
    expect(() => adam({ beta1: 1.5 })).toThrow(/beta1/);
    expect(() => adam({ lr: -1 })).toThrow(/lr/);
    const opt = adam();
    expectNoLeaks(() => {
      const params = { w: tf.zeros([2]), b: tf.zeros([1]) };
      const s = opt.init(params);
      expect(() => opt.update({ w: params.w }, s, params, 0)).toThrow(/'b'/);
      tf.dispose(Object.values(params));
      disposeOptimizerState(s);
    });
  });
});
