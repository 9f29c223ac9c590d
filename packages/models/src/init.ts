import { type Key, normalArray, uniformArray } from '@scorekit/core';

/**
 * An initialiser: the initial values of a variable of `shape`, drawn from `key` (host-side,
 * deterministic: same key ⇒ same values on every backend).
 */
export type Initializer = (key: Key, shape: readonly number[]) => Float32Array;

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Fan-in and fan-out of a weight in scorekit's layouts — dense `[in, out]`, conv
 * `[kh, kw, in, out]`: fanIn = in · receptive field, fanOut = out · receptive field
 * (the convention of PyTorch and of score_sde's `_compute_fans`).
 *
 * @example
 * ```ts
 * fans([3, 3, 16, 32]); // { fanIn: 144, fanOut: 288 }
 * ```
 */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) {
    const n = shape[0] ?? 1;
    return { fanIn: n, fanOut: n };
  }
  const fanInAxis = shape[shape.length - 2] as number;
  const fanOutAxis = shape[shape.length - 1] as number;
  const receptive = size(shape) / (fanInAxis * fanOutAxis);
  return { fanIn: fanInAxis * receptive, fanOut: fanOutAxis * receptive };
}

/** All zeros (biases of score_sde layers, batch-norm shift β and running mean). */
export const zeros: Initializer = (_key, shape) => new Float32Array(size(shape));

/** All ones (normalisation scale γ, batch-norm running variance). */
export const ones: Initializer = (_key, shape) => new Float32Array(size(shape)).fill(1);

/**
 * Uniform in [−bound, bound).
 *
 * @example
 * ```ts
 * uniformInit(0.5)(key(0), [3]); // three numbers in [−0.5, 0.5)
 * ```
 */
export function uniformInit(bound: number): Initializer {
  return (key, shape) => {
    const u = uniformArray(key, size(shape));
    for (let i = 0; i < u.length; i++) u[i] = (2 * u[i]! - 1) * bound;
    return u;
  };
}

/**
 * Normal N(0, std²): the fixed random frequencies of Gaussian Fourier features are
 * `normalInit(16)` (Tancik et al. 2020; Song et al. 2021, App. H "fourier_scale 16").
 */
export function normalInit(std: number): Initializer {
  return (key, shape) => {
    const z = normalArray(key, size(shape));
    for (let i = 0; i < z.length; i++) z[i] = z[i]! * std;
    return z;
  };
}

/**
 * PyTorch's default weight init of `nn.Linear` / `nn.Conv2d`: `kaiming_uniform_(a = √5)`, i.e.
 * U(±gain·√(3/fanIn)) with gain = √(2/(1+a²)), which is U(±1/√fanIn) (He et al. 2015, eq. 16;
 * used by the paper's ResNet classifier, Chao et al. 2022 §5).
 *
 * @example
 * ```ts
 * kaimingUniform()(key(0), [3, 3, 16, 32]); // U(±1/√144)
 * ```
 */
export function kaimingUniform(a = Math.sqrt(5)): Initializer {
  return (key, shape) => {
    const gain = Math.sqrt(2 / (1 + a * a));
    return uniformInit(gain * Math.sqrt(3 / fans(shape).fanIn))(key, shape);
  };
}

/** PyTorch's default bias init of a layer whose weight has fan-in `fanIn`: U(±1/√fanIn). */
export function pytorchBias(fanIn: number): Initializer {
  return uniformInit(fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0);
}

/** Mode and distribution of {@link varianceScaling}. */
export interface VarianceScalingOptions {
  readonly scale: number;
  readonly mode: 'fanIn' | 'fanOut' | 'fanAvg';
  readonly distribution: 'uniform' | 'normal';
}

/**
 * JAX's `variance_scaling`: variance = scale / n with n = fanIn, fanOut or their mean;
 * uniform U(±√(3·variance)) or normal N(0, variance).
 *
 * @example
 * ```ts
 * varianceScaling({ scale: 1, mode: 'fanAvg', distribution: 'uniform' }); // Glorot uniform
 * ```
 */
export function varianceScaling(options: VarianceScalingOptions): Initializer {
  return (key, shape) => {
    const { fanIn, fanOut } = fans(shape);
    const n =
      options.mode === 'fanIn' ? fanIn : options.mode === 'fanOut' ? fanOut : (fanIn + fanOut) / 2;
    const variance = options.scale / n;
    return options.distribution === 'uniform'
      ? uniformInit(Math.sqrt(3 * variance))(key, shape)
      : normalInit(Math.sqrt(variance))(key, shape);
  };
}

/**
 * score_sde's `default_init(scale)` (the DDPM initialisation, Ho et al. 2020; Song et al. 2021
 * code): variance scaling, fan_avg, uniform; a scale of 0 becomes 1e-10 (layers that start
 * as the identity of their residual branch, e.g. the last conv of a residual block).
 *
 * @example
 * ```ts
 * defaultInit()(key(0), [3, 3, 64, 64]); // U(±√(6 / (576 + 576)))
 * ```
 */
export function defaultInit(scale = 1): Initializer {
  return varianceScaling({
    scale: scale === 0 ? 1e-10 : scale,
    mode: 'fanAvg',
    distribution: 'uniform',
  });
}

/** Which initialisation family a layer uses: PyTorch defaults or score_sde's `default_init`. */
export type InitScheme = 'pytorch' | 'ddpm';
