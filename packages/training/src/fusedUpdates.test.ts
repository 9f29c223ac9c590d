import { key, normal } from '@scorekit/core';
import { expectNoLeaks } from '@scorekit/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { adam } from './adam.js';
import { clipByGlobalNorm } from './clip.js';
import { emaInit, emaUpdate } from './ema.js';
import { fusedEmaUpdate, fusedUpdatesAvailable } from './fusedUpdates.js';
import { disposeOptimizerState } from './optimizer.js';

const shapes: Record<string, number[]> = {
  'conv.weight': [3, 3, 2, 4],
  'conv.bias': [4],
  w: [5, 7],
};

/**
 * The per-tensor Adam ops (Kingma & Ba 2015, Alg. 1, as torch.optim.Adam) that the fused
 * kernel replaces, written out: the reference it must match bit for bit.
 */
function perTensorAdam(
  p: tf.Tensor,
  g0: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  o: { b1: number; b2: number; eps: number; wd: number; stepSize: number; bc2Sqrt: number },
) {
  const g = o.wd !== 0 ? tf.add(g0, tf.mul(p, o.wd)) : g0;
  const mT = tf.add(tf.mul(m, o.b1), tf.mul(g, 1 - o.b1));
  const vT = tf.add(tf.mul(v, o.b2), tf.mul(tf.square(g), 1 - o.b2));
  const denom = tf.add(tf.div(tf.sqrt(vT), o.bc2Sqrt), o.eps);
  return { p: tf.sub(p, tf.mul(tf.div(mT, denom), o.stepSize)), m: mT, v: vT };
}

/** Three Adam steps through `adam` and through the per-tensor ops; all values of both. */
function threeSteps(clip: number | null, wd: number): { fused: number[]; reference: number[] } {
  return tf.tidy(() => {
    const opt = adam({ lr: 1e-2, warmup: 2, gradClip: clip, weightDecay: wd });
    const cfg = opt.config;
    let params: Record<string, tf.Tensor> = {};
    Object.entries(shapes).forEach(([n, s], i) => {
      params[n] = normal(key(i), s);
    });
    let state = opt.init(params);
    let ref = { ...params };
    let m: Record<string, tf.Tensor> = {};
    let v: Record<string, tf.Tensor> = {};
    for (const n of Object.keys(shapes)) {
      m[n] = tf.zerosLike(params[n]!);
      v[n] = tf.zerosLike(params[n]!);
    }
    for (let step = 0; step < 3; step++) {
      const grads: Record<string, tf.Tensor> = {};
      Object.entries(shapes).forEach(([n, s], i) => {
        grads[n] = tf.mul(normal(key(10 * step + i + 100), s), 3);
      });
      const next = opt.update(grads, state, params, step);
      params = { ...next.params };
      state = next.state;
      const t = step + 1;
      const scalars = {
        b1: cfg.beta1,
        b2: cfg.beta2,
        eps: cfg.eps,
        wd,
        stepSize: opt.learningRate(step) / (1 - cfg.beta1 ** t),
        bc2Sqrt: Math.sqrt(1 - cfg.beta2 ** t),
      };
      const g = clip === null ? grads : clipByGlobalNorm(grads, clip);
      const r: Record<string, tf.Tensor> = {};
      for (const n of Object.keys(shapes)) {
        const u = perTensorAdam(ref[n]!, g[n]!, m[n]!, v[n]!, scalars);
        r[n] = u.p;
        m = { ...m, [n]: u.m };
        v = { ...v, [n]: u.v };
      }
      ref = r;
    }
    const flat = (rec: Record<string, tf.Tensor>) =>
      Object.keys(shapes).flatMap((n) => Array.from(rec[n]!.dataSync()));
    const slots = state.slots;
    return {
      fused: [...flat(params), ...flat(slots['exp_avg']!), ...flat(slots['exp_avg_sq']!)],
      reference: [...flat(ref), ...flat(m), ...flat(v)],
    };
  });
}

describe('fused Adam and EMA updates', () => {
  it('run on the test backend', () => {
    expect(fusedUpdatesAvailable()).toBe(true);
    expect(fusedUpdatesAvailable('cpu')).toBe(true);
  });

  for (const [clip, wd] of [
    [null, 0],
    [0.5, 0],
    [1, 0.01],
  ] as const)
    it(`Adam is bit-identical to the per-tensor ops (clip ${clip}, weight decay ${wd})`, () => {
      const { fused, reference } = expectNoLeaks(() => threeSteps(clip, wd));
      expect(fused.length).toBe(3 * (72 + 4 + 35));
      expect(fused).toEqual(reference);
    });

  it('Adam is bit-identical to the per-tensor ops on the cpu backend too', async () => {
    const previous = tf.getBackend();
    await tf.setBackend('cpu');
    try {
      const { fused, reference } = expectNoLeaks(() => threeSteps(1, 0.01));
      expect(fused).toEqual(reference);
    } finally {
      await tf.setBackend(previous);
    }
  });

  it('Adam is one kernel per step (plus the clip coefficient’s), not 13 per tensor', async () => {
    const opt = adam({ lr: 1e-3, gradClip: null });
    const params = tf.tidy(() => ({ a: tf.ones([3]), b: tf.ones([2, 2]) }));
    const grads = tf.tidy(() => ({ a: tf.ones([3]), b: tf.ones([2, 2]) }));
    const state = opt.init(params);
    const info = await tf.profile(() => {
      const u = opt.update(grads, state, params, 0);
      tf.dispose(Object.values(u.params));
      disposeOptimizerState(u.state);
    });
    expect(info.kernels.map((k) => k.name)).toEqual(['ScorekitAdamUpdate']);
    tf.dispose([...Object.values(params), ...Object.values(grads)]);
    disposeOptimizerState(state);
  });

  it('EMA is bit-identical to s − (1 − d)(s − θ) per tensor', () => {
    const { fused, reference } = expectNoLeaks(() =>
      tf.tidy(() => {
        const p0 = { a: normal(key(1), [4, 3]), b: normal(key(2), [5]) };
        const p1 = { a: normal(key(3), [4, 3]), b: normal(key(4), [5]) };
        const e0 = emaInit(p0, 0.9);
        const e1 = emaUpdate(e0, p1);
        const e2 = emaUpdate(e1, p0);
        // score_sde's decay: min(d, (1 + n) / (10 + n)) for n = 1, 2
        let r = { ...p0 };
        for (const [n, p] of [
          [1, p1],
          [2, p0],
        ] as const) {
          const c = 1 - Math.min(0.9, (1 + n) / (10 + n));
          r = {
            a: tf.sub(r.a, tf.mul(tf.sub(r.a, p.a), c)),
            b: tf.sub(r.b, tf.mul(tf.sub(r.b, p.b), c)),
          };
        }
        const flat = (x: Record<string, tf.Tensor>) =>
          ['a', 'b'].flatMap((n) => Array.from(x[n]!.dataSync()));
        return { fused: flat(e2.params), reference: flat(r) };
      }),
    );
    expect(fused).toEqual(reference);
  });

  it('refuses mismatched shapes by name instead of reading past a tensor', () => {
    expectNoLeaks(() =>
      tf.tidy(() => {
        const params = { w: tf.ones([2, 3]) };
        const ema = emaInit({ w: tf.ones([3]) }, 0.9);
        expect(() => emaUpdate(ema, params)).toThrow(
          "emaUpdate: 'w' has shape [2,3] in params but [3] in the EMA",
        );
        const opt = adam({ gradClip: null });
        const slots = { exp_avg: { w: tf.zeros([3]) }, exp_avg_sq: { w: tf.zeros([2, 3]) } };
        expect(() => opt.update({ w: tf.ones([2, 3]) }, { count: 0, slots }, params, 0)).toThrow(
          /exp_avg\.w.*\[2,3\].*\[3\]/,
        );
        expect(() => fusedEmaUpdate([tf.ones([3])], [tf.ones([2, 3])], 0.1)).toThrow(
          'fusedEmaUpdate: params[0] has shape [2,3], expected [3]',
        );
      }),
    );
  });
});
