import { matMulTransposesAreFree } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { defaultInit, type InitScheme, kaimingUniform, pytorchBias, zeros } from './init.js';
import { getParam, type Layer, type LayerContext, type VariableSpec } from './variables.js';

/** Options of {@link denseLayer}. */
export interface DenseOptions {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** Add a bias (default true). */
  readonly bias?: boolean;
  /** 'pytorch' (default): kaiming-uniform(a=√5) weight, U(±1/√in) bias; 'ddpm': default_init, zero bias. */
  readonly init?: InitScheme;
  /** The scale of score_sde's default_init (only with init 'ddpm'; 0 → 1e-10). */
  readonly initScale?: number;
}

/**
 * The variables of a dense layer: `<name>.weight` [in, out] and `<name>.bias` [out], with
 * PyTorch or score_sde initialisation.
 *
 * @example
 * ```ts
 * denseSpecs('linear', { inFeatures: 80, outFeatures: 2 }); // linear.weight [80, 2], linear.bias [2]
 * ```
 */
export function denseSpecs(name: string, o: DenseOptions): VariableSpec[] {
  const ddpm = o.init === 'ddpm';
  const specs: VariableSpec[] = [
    {
      name: `${name}.weight`,
      shape: [o.inFeatures, o.outFeatures],
      init: ddpm ? defaultInit(o.initScale ?? 1) : kaimingUniform(),
      trainable: true,
    },
  ];
  if (o.bias ?? true)
    specs.push({
      name: `${name}.bias`,
      shape: [o.outFeatures],
      init: ddpm ? zeros : pytorchBias(o.inFeatures),
      trainable: true,
    });
  return specs;
}

/**
 * y = x W + b over the last axis of `x` (any rank ≥ 2; a 1×1 "network-in-network" projection
 * on [B, H, W, C]). Layout: W is [in, out] (PyTorch's `nn.Linear.weight` transposed).
 */
export function dense(ctx: LayerContext, name: string, x: tf.Tensor, bias = true): tf.Tensor {
  return linear(
    x,
    getParam(ctx, `${name}.weight`),
    bias ? getParam(ctx, `${name}.bias`) : undefined,
  );
}

/**
 * x W for 2-D x and W with a gradient written with explicit transposes: tfjs's MatMul gradient
 * multiplies by transposed operands (`transposeA` / `transposeB`), which the wasm backend runs
 * about 7× slower than a transpose followed by a plain product (measured: 1.4 vs 10–13 GFLOP/s
 * at [4096, 128] × [128, 128]). The gradient saves the inputs and is built from differentiable
 * ops, so double back-propagation (Chao et al. 2022, eq. 10) still works. Used only where the
 * backend's matmul is not marked transpose-free (`matMulTransposesAreFree`, e.g. plain wasm).
 */
const matMulFast: (x: tf.Tensor, w: tf.Tensor) => tf.Tensor = tf.customGrad(
  (...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, w, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([x, w]);
    return {
      value: tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
        // the gradient's own products use matMulFast too, so a second-order pass stays fast
        return [matMulFast(dy, tf.transpose(ws)), matMulFast(tf.transpose(xs), dy)];
      },
    };
  },
) as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor;

/**
 * x W (+ b) over the last axis of `x` for an explicit weight [in, out] and bias [out] — the
 * affine map of every dense / NIN layer.
 *
 * @example
 * ```ts
 * linear(h, w, b); // [B, H, W, in] → [B, H, W, out]
 * ```
 */
export function linear(x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [inF, outF] = weight.shape as [number, number];
    const lead = x.shape.slice(0, -1);
    const x2 = x.rank === 2 ? x : tf.reshape(x, [-1, inF]);
    // tfjs's own MatMul gradient multiplies by transposed operands: right where they are free
    let y: tf.Tensor = matMulTransposesAreFree()
      ? tf.matMul(x2 as tf.Tensor2D, weight as tf.Tensor2D)
      : matMulFast(x2, weight);
    if (bias !== undefined) y = tf.add(y, bias);
    return x.rank === 2 ? y : tf.reshape(y, [...lead, outF]);
  });
}

/**
 * A fully connected layer y = x W + b (Rumelhart et al. 1986): the linear maps of the toy MLPs
 * and noise embeddings (Chao et al. 2022 §5–6) and the NIN projections of attention
 * (Ho et al. 2020).
 *
 * @example
 * ```ts
 * const fc = denseLayer('linear', { inFeatures: 80, outFeatures: 2 });
 * const { params } = initVariables(key(0), fc.specs);
 * const y = fc.apply({ params, buffers: {}, training: false }, x); // [B, 2]
 * ```
 */
export function denseLayer(name: string, o: DenseOptions): Layer {
  const bias = o.bias ?? true;
  return { specs: denseSpecs(name, o), apply: (ctx, x) => dense(ctx, name, x, bias) };
}

/**
 * score_sde's `NIN` ("network in network", Lin et al. 2013): a 1×1 projection over the channel
 * axis with variables `<name>.W` [in, out] (default_init(initScale), default scale 0.1) and
 * `<name>.b` [out] (zeros). Used by attention blocks and DDPM residual-block shortcuts
 * (Song et al. 2021, App. H).
 *
 * @example
 * ```ts
 * ninLayer('all_modules.5.NIN_0', { inFeatures: 64, outFeatures: 64 }).apply(ctx, h);
 * ```
 */
export function ninLayer(
  name: string,
  o: { readonly inFeatures: number; readonly outFeatures: number; readonly initScale?: number },
): Layer {
  return {
    specs: [
      {
        name: `${name}.W`,
        shape: [o.inFeatures, o.outFeatures],
        init: defaultInit(o.initScale ?? 0.1),
        trainable: true,
      },
      { name: `${name}.b`, shape: [o.outFeatures], init: zeros, trainable: true },
    ],
    apply: (ctx, x) => linear(x, getParam(ctx, `${name}.W`), getParam(ctx, `${name}.b`)),
  };
}
