import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Session } from './session.js';

const config = {
  seed: 0,
  perClass: 200,
  scoreSteps: 4,
  classifierSteps: 6,
  lambda: 0.125,
  every: 3,
  batch: 32,
  samplerSteps: 3,
};

describe('playground session', () => {
  it('trains both stages, evaluates D_L every few steps, samples and frees every tensor', async () => {
    const s = new Session(config, 7.5);
    try {
      const counts: number[] = [];
      while (await s.tick()) if (s.phase !== 'score') counts.push(tf.memory().numTensors);
      expect(s.phase).toBe('done');
      // live tensors stay flat over the classifier steps (old params and Adam state freed)
      expect(new Set(counts).size, `live tensors per classifier step: ${counts}`).toBe(1);
      expect(s.curves.crossEntropy.map((p) => p.step)).toEqual([0, 3, 6]);
      expect(s.curves.total.map((p) => p.step)).toEqual([0, 3, 6]);
      expect(s.curves.total[0]!.dL).toBe(s.curves.crossEntropy[0]!.dL); // same initialisation
      for (const p of [...s.curves.crossEntropy, ...s.curves.total])
        expect(p.dL).toBeGreaterThan(0);
      const before = tf.memory().numTensors;
      const f = s.fields(7.5, 2, 1, 9);
      expect(f.grid.length).toBe(2 * 9 * 6);
      expect(f.oracle.length).toBe(f.grid.length);
      expect(f.crossEntropy!.length).toBe(f.grid.length);
      expect(f.total!.every(Number.isFinite)).toBe(true);
      const samples = await s.samples('total', 7.5, 1, 0, 1);
      expect(samples!.length).toBe(2 * 300);
      expect(samples!.every(Number.isFinite)).toBe(true);
      expect(tf.memory().numTensors).toBe(before);
      // a new σ restarts the curves with one point at the current step
      s.setCurveSigma(2);
      expect(s.curves.total.map((p) => p.step)).toEqual([6]);
    } finally {
      s.dispose();
    }
  });
});
