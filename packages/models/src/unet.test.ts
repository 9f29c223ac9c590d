import { key, ScorekitException } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { countParams, countSpecs, disposeVariables } from './params.js';
import { assertChecks, directionalChecks } from './testing/gradcheck.js';
import { type ScoreUnetOptions, scoreUnet } from './unet.js';
import { ncsnppCifar10, unetSmall, unetTiny } from './unetPresets.js';

const tiny: ScoreUnetOptions = {
  ...unetTiny,
  imageSize: 8,
  nf: 8,
  midAttention: true,
  initScale: 1,
};

/** Parameters of a DDPM residual block with a 4·nf = 32 embedding, by hand. */
const resBlock = (i: number, o: number) =>
  2 * i + (9 * i * o + o) + (32 * o + o) + 2 * o + (9 * o * o + o) + (i !== o ? i * o + o : 0);

describe('scoreUnet', () => {
  it('parameter count by hand (tiny preset at nf 8 with middle attention: chMult (1, 2), 1 block, DDPM blocks)', () => {
    const expected =
      16 * 32 +
      32 +
      (32 * 32 + 32) + // Fourier (8 → 16 features) → dense 32 → dense 32
      (9 * 3 * 8 + 8) + // input conv
      resBlock(8, 8) +
      (9 * 8 * 8 + 8) + // level 32: block, stride-2 conv
      resBlock(8, 16) + // level 16
      resBlock(16, 16) +
      (2 * 16 + 4 * (16 * 16 + 16)) +
      resBlock(16, 16) + // middle
      resBlock(32, 16) +
      resBlock(24, 16) +
      (9 * 16 * 16 + 16) + // up level 16 + nearest + conv
      resBlock(24, 8) +
      resBlock(16, 8) + // up level 32
      2 * 8 +
      (9 * 8 * 3 + 3); // GroupNorm, output conv
    const model = scoreUnet(tiny);
    expect(countSpecs(model.specs)).toBe(expected);
    const vars = model.init(key(0));
    expect(countParams(vars.params)).toBe(expected);
    expect(Object.keys(vars.buffers)).toEqual(['all_modules.0.W']);
    disposeVariables(vars);
  });

  it('maps [B, H, W, C] to a score of the same shape, divided by σ when scaleBySigma (VE)', () => {
    const scaled = scoreUnet(tiny);
    const plain = scoreUnet({ ...tiny, scaleBySigma: false });
    const vars = scaled.init(key(1));
    const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 1);
    const sigma = tf.tensor1d([0.05, 20]);
    const s = scaled.apply(vars.params, x, sigma, { training: false, buffers: vars.buffers });
    const h = plain.apply(vars.params, x, sigma, { training: false, buffers: vars.buffers });
    expect(s.shape).toEqual([2, 8, 8, 3]);
    const sv = s.dataSync();
    const hv = h.dataSync();
    expect(Math.max(...hv.map(Math.abs))).toBeGreaterThan(1e-3);
    for (let i = 0; i < sv.length; i++) {
      const sig = i < sv.length / 2 ? 0.05 : 20;
      expect((sv[i] as number) * sig).toBeCloseTo(hv[i] as number, 4);
    }
    tf.dispose([x, sigma, s, h]);
    disposeVariables(vars);
  });

  it('maps inputs in [0, 1] to [−1, 1] inside unless centered', () => {
    const raw = scoreUnet(tiny);
    const centered = scoreUnet({ ...tiny, centered: true });
    const vars = raw.init(key(2));
    const x = tf.randomUniform([1, 8, 8, 3], 0, 1, 'float32', 2);
    const sigma = tf.tensor1d([1]);
    const a = raw.apply(vars.params, x, sigma, { training: false, buffers: vars.buffers });
    const x2 = tf.tidy(() => tf.sub(tf.mul(x, 2), 1));
    const b = centered.apply(vars.params, x2, sigma, { training: false, buffers: vars.buffers });
    const err = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
    expect(err.dataSync()[0]).toBeLessThan(1e-5);
    tf.dispose([x, x2, sigma, a, b, err]);
    disposeVariables(vars);
  });

  it('NCSN++ CIFAR-10 (the paper): names follow the reference module list; 107 586 947 parameters (counted, never run)', () => {
    const model = scoreUnet(ncsnppCifar10);
    expect(countSpecs(model.specs)).toBe(107_586_947);
    const shape = (name: string) => model.specs.find((s) => s.name === name)?.shape;
    expect(model.specs.find((s) => s.name === 'all_modules.0.W')?.trainable).toBe(false);
    expect(shape('all_modules.0.W')).toEqual([128]);
    expect(shape('all_modules.1.weight')).toEqual([256, 512]);
    expect(shape('all_modules.3.weight')).toEqual([3, 3, 3, 128]);
    expect(shape('all_modules.12.Conv_2.weight')).toEqual([1, 1, 128, 128]); // BigGAN down block
    expect(shape('all_modules.13.Conv_0.weight')).toEqual([3, 3, 3, 128]); // input pyramid
    expect(shape('all_modules.15.NIN_0.W')).toEqual([256, 256]); // attention at 16×16
    expect(shape('all_modules.14.Conv_2.weight')).toEqual([1, 1, 128, 256]); // block widening 128 → 256
  });

  it('small preset (BigGAN blocks, input pyramid, attention, dropout): shapes, and dropout needs a key in training', () => {
    const model = scoreUnet({
      ...unetSmall,
      imageSize: 8,
      channels: 1,
      nf: 8,
      attnResolutions: [2],
      initScale: 1,
    });
    const vars = model.init(key(3));
    const x = tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 3);
    const sigma = tf.tensor1d([0.1, 3]);
    const inference = model.apply(vars.params, x, sigma, {
      training: false,
      buffers: vars.buffers,
    });
    expect(inference.shape).toEqual([2, 8, 8, 1]);
    expect(() =>
      model.apply(vars.params, x, sigma, { training: true, buffers: vars.buffers }),
    ).toThrow(/key is required/);
    const t1 = model.apply(vars.params, x, sigma, {
      training: true,
      buffers: vars.buffers,
      key: key(4),
    });
    const t2 = model.apply(vars.params, x, sigma, {
      training: true,
      buffers: vars.buffers,
      key: key(4),
    });
    expect([...t1.dataSync()]).toEqual([...t2.dataSync()]);
    expect([...t1.dataSync()]).not.toEqual([...inference.dataSync()]);
    tf.dispose([x, sigma, inference, t1, t2]);
    disposeVariables(vars);
  });

  it("'sinusoidal' embedding (VP): no Fourier buffer, the first dense reads nf features", () => {
    const model = scoreUnet({ ...tiny, embedding: 'sinusoidal' });
    const vars = model.init(key(5));
    expect(Object.keys(vars.buffers)).toEqual([]);
    expect(vars.params['all_modules.0.weight']?.shape).toEqual([8, 32]);
    const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 5);
    const sigma = tf.tensor1d([0.01, 0.99]);
    const y = model.apply(vars.params, x, sigma, { training: false, buffers: vars.buffers });
    expect(y.shape).toEqual([2, 8, 8, 3]);
    tf.dispose([x, sigma, y]);
    disposeVariables(vars);
  });

  it('rejects configs it cannot build, naming the field', () => {
    const error = (o: ScoreUnetOptions) => {
      try {
        scoreUnet(o);
      } catch (e) {
        return e instanceof ScorekitException ? e.error : undefined;
      }
      return undefined;
    };
    expect(error({ ...tiny, imageSize: 6, chMult: [1, 2, 2] })).toMatchObject({
      _tag: 'ConfigError',
      path: 'imageSize',
    });
    expect(error({ ...tiny, dropout: 1.5 })?.message).toMatch(/dropout/);
    expect(error({ ...tiny, nf: 40, chMult: [1, 5] })).toMatchObject({
      _tag: 'ConfigError',
      path: 'nf',
    });
  });

  it('first-order parameter gradient (the DSM case) matches finite differences', () => {
    const model = scoreUnet({
      ...unetSmall,
      imageSize: 4,
      channels: 1,
      nf: 4,
      chMult: [1, 2],
      attnResolutions: [2],
      dropout: 0,
      initScale: 1,
    });
    const vars = model.init(key(6));
    const x = tf.randomUniform([2, 4, 4, 1], 0, 1, 'float32', 6);
    const sigma = tf.tensor1d([0.5, 2]);
    const w = tf.randomNormal([2, 4, 4, 1], 0, 1, 'float32', 7);
    const objective = (p: Record<string, tf.Tensor>) =>
      tf.tidy(
        () =>
          tf.sum(
            tf.mul(model.apply(p, x, sigma, { training: false, buffers: vars.buffers }), w),
          ) as tf.Scalar,
      );
    const names = [
      'all_modules.1.weight',
      'all_modules.3.weight',
      'all_modules.4.Conv_0.weight',
      'all_modules.7.Conv_0.weight',
    ];
    const attn = Object.keys(vars.params).find((n) => n.endsWith('NIN_1.W')) as string;
    const checks = directionalChecks(objective, vars.params, key(8), {
      names: [...names, attn],
      direction: 'mixed',
    });
    assertChecks(checks, 1e-2);
    tf.dispose([x, sigma, w]);
    disposeVariables(vars);
  });
});
