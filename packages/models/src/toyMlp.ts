import { parseConfig, shapeError } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { type } from 'arktype';
import { relu } from './activations.js';
import { denseLayer } from './dense.js';
import { type Network, network } from './network.js';
import type { Layer, LayerContext } from './variables.js';

/**
 * Config of the toy MLPs (Chao et al. 2022 §6 / App.; the reference `simple_noise_conditioned_*`
 * with nf = 16): a trunk on x, a branch on σ, ReLU between layers, concatenated and mapped
 * linearly to `outFeatures`. Defaults are the paper's: trunk 2→256→128→64, noise 1→64→32→16.
 */
export const toyMlpConfig = type({
  inFeatures: 'number.integer > 0 = 2',
  trunk: ['(number.integer > 0)[] >= 1', '=', () => [256, 128, 64]],
  noise: ['(number.integer > 0)[] >= 1', '=', () => [64, 32, 16]],
  outFeatures: 'number.integer > 0 = 2',
});
/** The resolved config of a toy MLP (Chao et al. 2022 §6). */
export type ToyMlpConfig = typeof toyMlpConfig.infer;
/** What the toy factories accept: any subset of the config, e.g. `{ trunk: [64, 32] }`. */
export type ToyMlpOptions = typeof toyMlpConfig.inferIn;

function mlp(
  prefix: string,
  first: number,
  inFeatures: number,
  widths: readonly number[],
): Layer[] {
  let inF = inFeatures;
  return widths.map((outF, i) => {
    const layer = denseLayer(`${prefix}.${first + 2 * i}`, { inFeatures: inF, outFeatures: outF });
    inF = outF;
    return layer;
  });
}

function runMlp(layers: readonly Layer[], ctx: LayerContext, x: tf.Tensor): tf.Tensor {
  let h = x;
  layers.forEach((layer, i) => {
    h = layer.apply(ctx, h);
    if (i < layers.length - 1) h = relu(h);
  });
  return h;
}

/**
 * The noise-conditioned toy MLP of the two-moons experiment (Chao et al. 2022 §6):
 * out = linear([trunk(x), noise(σ)]) where trunk and noise are ReLU MLPs with a linear last
 * layer. Variable names follow the reference PyTorch module (`layers.1`, `layers.3`,
 * `layers.5`, `cond_layers.0/2/4`, `linear`); PyTorch's default init.
 */
function toyMlp(name: string, options: ToyMlpOptions): Network<tf.Tensor2D> {
  const config = parseConfig(toyMlpConfig, options, name);
  const trunk = mlp('layers', 1, config.inFeatures, config.trunk);
  const noise = mlp('cond_layers', 0, 1, config.noise);
  const head = denseLayer('linear', {
    inFeatures: (config.trunk.at(-1) as number) + (config.noise.at(-1) as number),
    outFeatures: config.outFeatures,
  });
  const specs = [...trunk, ...noise, head].flatMap((l) => l.specs);
  return network(name, config, specs, (ctx, x, cond) => {
    if (x.rank !== 2 || x.shape[1] !== config.inFeatures)
      shapeError(name, `x of shape [B, ${config.inFeatures}]`, `shape [${x.shape}]`);
    if (cond.shape[0] !== x.shape[0])
      shapeError(name, `one noise level per sample (${x.shape[0]})`, `shape [${cond.shape}]`);
    const h = runMlp(trunk, ctx, x);
    const e = runMlp(noise, ctx, tf.reshape(cond, [-1, 1]));
    return head.apply(ctx, tf.concat([h, e], 1)) as tf.Tensor2D;
  });
}

/**
 * The toy score model s(x̃, σ; φ) ∈ R² of the two-moons experiment (Chao et al. 2022 §6,
 * trained with DSM, Vincent 2011 / Song et al. 2021 eq. 7): conditioned on σ itself.
 * 44 818 parameters with the default config.
 *
 * @example
 * ```ts
 * const model = toyScoreModel();
 * const { params, buffers } = model.init(key(0));
 * const s = model.apply(params, x, sigma, { training: false, buffers }); // [B, 2]
 * ```
 */
export function toyScoreModel(
  options: Omit<ToyMlpOptions, 'outFeatures'> = {},
): Network<tf.Tensor2D> {
  return toyMlp('toyScoreModel', { ...options, outFeatures: options.inFeatures ?? 2 });
}

/**
 * The toy noise-conditioned classifier p(y | x̃, σ; θ) of the two-moons experiment (Chao et al.
 * 2022 §6): the same shape as {@link toyScoreModel} with `classes` logits.
 *
 * @example
 * ```ts
 * const clf = toyClassifier({ classes: 2 });
 * const logits = clf.apply(params, x, sigma, { training: true, buffers }); // [B, 2]
 * ```
 */
export function toyClassifier(
  options: Omit<ToyMlpOptions, 'outFeatures'> & { readonly classes?: number } = {},
): Network<tf.Tensor2D> {
  const { classes, ...rest } = options;
  return toyMlp('toyClassifier', { ...rest, outFeatures: classes ?? 2 });
}
