import { fillTime, key, normal, type Params, veSde } from '@scorekit/core';
import { expectNoLeaks, liveTensors } from '@scorekit/core/testing';
import { perturb } from '@scorekit/losses';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { clippedGuidance } from './clippedGuidance.js';
import { confidencePenalty } from './confidencePenalty.js';
import { runNewMethod, testSize } from './run.js';

const linear = (p: Params, x: tf.Tensor) =>
  tf.matMul(x as tf.Tensor2D, p['w'] as tf.Tensor2D) as tf.Tensor2D;

describe('the guide’s pieces', () => {
  it('confidencePenalty is −H(p(·|x̃)) at the losses’ perturbed batch (by hand)', () => {
    const sde = veSde({ sigmaMin: 0.1, sigmaMax: 2 });
    expectNoLeaks(() =>
      tf.tidy(() => {
        const params = { w: normal(key(1), [2, 3]) };
        const batch = { x: normal(key(2), [5, 2]), y: tf.tensor1d([0, 1, 2, 0, 1], 'int32') };
        const got = confidencePenalty(sde, linear)(params, batch, key(3)).total.dataSync()[0]!;
        const rows = linear(params, perturb(sde, batch.x, key(3), 0).xTilde).arraySync();
        let acc = 0;
        for (const row of rows) {
          const z = row.reduce((a, v) => a + Math.exp(v), 0);
          for (const v of row) acc += (Math.exp(v) / z) * (v - Math.log(z));
        }
        expect(got).toBeCloseTo(acc / rows.length, 5);
        expect(got).toBeLessThan(0);
      }),
    );
  });

  it('clippedGuidance adds α(t)·g, rescaled per sample to at most ratio·‖s‖', () => {
    expectNoLeaks(() =>
      tf.tidy(() => {
        const w = tf.tensor2d([
          [3, -3],
          [0, 0],
        ]); // logits (3 x₀, −3 x₀): for y = 1, g = W[:, 1] − W p = (−3 − 3 (p₀ − p₁), 0)
        const logits = (x: tf.Tensor) => linear({ w }, x);
        const x = tf.tensor2d([
          [0.1, 1],
          [2, 4],
        ]);
        const s = tf.tensor2d([
          [0, 10],
          [0, 0.01],
        ]);
        const score = () => tf.clone(s);
        const t = fillTime(2, 0.25);
        const scale = (tt: tf.Tensor1D) => tf.add(1, tt) as tf.Tensor1D; // α(0.25) = 1.25
        const guided = clippedGuidance(score, logits, [1, 1], { scale, ratio: 0.5 })(x, t);
        const p = tf.softmax(logits(x)).arraySync();
        const g = p.map((r) => [-3 - 3 * (r[0]! - r[1]!), 0]);
        const out = guided.arraySync() as number[][];
        const sArr = s.arraySync();
        for (let b = 0; b < 2; b++) {
          const gn = Math.abs(g[b]![0]!);
          const sn = Math.hypot(sArr[b]![0]!, sArr[b]![1]!);
          const clip = Math.min(1, (0.5 * sn) / gn);
          expect(out[b]![0]!).toBeCloseTo(sArr[b]![0]! + 1.25 * clip * g[b]![0]!, 4);
          expect(out[b]![1]!).toBeCloseTo(sArr[b]![1]!, 4);
        }
        // sample 0: ‖s‖ = 10 ≫ ‖g‖, no clipping; sample 1: confidently wrong (‖g‖ ≈ 6) and
        // ‖s‖ = 0.01, so α g is clipped to α · 0.5 · 0.01
        expect(Math.abs(out[1]![0]!)).toBeCloseTo(1.25 * 0.005, 5);
      }),
    );
  });
});

describe('the guide end to end at test size', () => {
  it('trains, evaluates and samples; the printed numbers are the measured ones', async () => {
    const before = liveTensors();
    const printed: string[] = [];
    const r = await runNewMethod(testSize, (line) => printed.push(line));
    expect(liveTensors()).toBe(before);
    expect(printed).toEqual(r.lines);
    // the new objective decreases over training, every term finite
    expect(r.lossLast['total']!).toBeLessThan(r.lossFirst['total']!);
    expect(Object.keys(r.lossFirst).sort()).toEqual([
      'confidence',
      'crossEntropy',
      'dlsm',
      'total',
    ]);
    // three terms, one classifier forward pass (the shared evaluation of the sum)
    expect(r.forwardPasses).toBe(1);
    // both trained classifiers' likelihood scores are closer to the oracle than at init
    expect(r.dL.paper).toBeLessThan(r.dL.untrained);
    expect(r.dL.newObjective).toBeLessThan(r.dL.untrained);
    // guidance puts most samples on the requested moon (chance is 0.5)
    expect(r.onRequestedMoon.bayes).toBeGreaterThan(0.6);
    expect(r.onRequestedMoon.clipped).toBeGreaterThan(0.6);
    // the printed lines carry exactly these numbers
    const text = printed.join('\n');
    expect(text).toContain(
      `total ${r.lossFirst['total']!.toFixed(4)} -> ${r.lossLast['total']!.toFixed(4)}`,
    );
    expect(text).toContain(
      'classifier forward passes per evaluation of the three-term objective: 1',
    );
    expect(text).toContain(
      `untrained ${r.dL.untrained.toFixed(4)}, paper objective ${r.dL.paper.toFixed(4)}, new objective ${r.dL.newObjective.toFixed(4)}`,
    );
    expect(text).toContain(
      `Bayes (alpha 1) ${r.onRequestedMoon.bayes.toFixed(4)}, clipped t-dependent ${r.onRequestedMoon.clipped.toFixed(4)}`,
    );
    console.log(printed.join('\n'));
  });
});
