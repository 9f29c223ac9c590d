import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { key, normalPerSample, perSample, reverse, type ScoreFn, split, veSde } from './index.js';

it('README example runs and gives the probability-flow drift ½ g² x / σ²', () => {
  tf.tidy(() => {
    const sde = veSde({ sigmaMin: 0.01, sigmaMax: 50 }); // Song et al. 2021, eq. 9
    const [kData, kNoise] = split(key(0));
    const x0 = normalPerSample(kData!, [4, 2]); // one key per sample
    const t = tf.tensor1d([0.1, 0.4, 0.7, 1.0]);
    const { mean, std } = sde.marginal(x0, t); // p_0t(x_t | x_0)
    const xt = tf.add(mean, tf.mul(perSample(std, 2), normalPerSample(kNoise!, [4, 2])));
    const score: ScoreFn = (x, tt) =>
      tf.div(tf.neg(x), perSample(tf.square(sde.marginalStd(tt)), 2));
    const ode = reverse(sde, score, { probabilityFlow: true }); // eq. 13
    const dxdt = ode.drift(xt, t);
    // VE has no drift, so dx/dt = −½ g² s = ½ g² x / σ²
    const g2 = perSample(tf.square(sde.diffusion(t)), 2);
    const expected = tf.div(tf.mul(0.5, tf.mul(g2, xt)), perSample(tf.square(std), 2));
    expect(tf.max(tf.abs(tf.sub(dxdt, expected))).dataSync()[0]).toBeLessThan(1e-3);
  });
});
