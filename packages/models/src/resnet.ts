import { parseConfig, shapeError } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { type } from 'arktype';
import { activation, silu } from './activations.js';
import { batchNormLayer } from './batchNorm.js';
import { conv2dLayer } from './conv.js';
import { denseLayer } from './dense.js';
import { groupNormLayer } from './groupNorm.js';
import { type Network, network } from './network.js';
import { noiseEmbeddingLayer } from './noiseEmbedding.js';
import { globalMeanPool } from './pooling.js';
import type { Layer, LayerContext } from './variables.js';

/**
 * Config of {@link resnetClassifier}. Defaults: the paper's CIFAR-10 classifier (Chao et al.
 * 2022 §5, reference `resnet18_cond` with classifier.nf = 32): ResNet-18, width 64, 10
 * classes, batch norm (momentum 0.1, ε 1e-5), Fourier embedding of log σ with 32 frequencies
 * ~ N(0, 16²) → 64 features → dense 128 → SiLU → dense 128.
 */
export const resnetClassifierConfig = type({
  depth: '18 | 34 = 18',
  width: 'number.integer > 0 = 64',
  classes: 'number.integer > 1 = 10',
  inChannels: 'number.integer > 0 = 3',
  norm: "'batch' | 'group' = 'batch'",
  /** The block nonlinearity: ReLU as in ResNet (default), or SiLU (smooth). */
  activation: "'relu' | 'silu' = 'relu'",
  fourierSize: 'number.integer > 0 = 32',
  fourierScale: 'number > 0 = 16',
  embeddingDim: 'number.integer > 0 = 128',
  bnMomentum: '0 <= number <= 1 = 0.1',
  normEps: 'number > 0 = 0.00001',
});
/** The resolved config of {@link resnetClassifier} (every field present; Chao et al. 2022 §5). */
export type ResnetClassifierConfig = typeof resnetClassifierConfig.infer;
/** What {@link resnetClassifier} accepts: any subset of the config, e.g. `{ depth: 34, classes: 100 }`. */
export type ResnetClassifierOptions = typeof resnetClassifierConfig.inferIn;

/** BasicBlocks per stage: ResNet-18 [2, 2, 2, 2], ResNet-34 [3, 4, 6, 3] (He et al. 2016, Table 1). */
export const resnetStages = { 18: [2, 2, 2, 2], 34: [3, 4, 6, 3] } as const;

function normLayer(name: string, channels: number, c: ResnetClassifierConfig): Layer {
  return c.norm === 'batch'
    ? batchNormLayer(name, { channels, momentum: c.bnMomentum, eps: c.normEps })
    : groupNormLayer(name, { channels, eps: c.normEps });
}

/**
 * A BasicBlock (He et al. 2016, Fig. 2): relu(bn1(conv1(x))) → bn2(conv2(·)) + shortcut(x) →
 * relu, with a 1×1 conv + norm shortcut when the stride or width changes. Names follow
 * kuangliu's CIFAR ResNet used by the reference: conv1, bn1, conv2, bn2, shortcut.0,
 * shortcut.1.
 */
function basicBlock(
  name: string,
  inPlanes: number,
  planes: number,
  stride: 1 | 2,
  c: ResnetClassifierConfig,
): Layer {
  const conv1 = conv2dLayer(`${name}.conv1`, {
    inChannels: inPlanes,
    outChannels: planes,
    stride,
    bias: false,
  });
  const bn1 = normLayer(`${name}.bn1`, planes, c);
  const conv2 = conv2dLayer(`${name}.conv2`, {
    inChannels: planes,
    outChannels: planes,
    bias: false,
  });
  const bn2 = normLayer(`${name}.bn2`, planes, c);
  const projected = stride !== 1 || inPlanes !== planes;
  const shortcut: Layer[] = projected
    ? [
        conv2dLayer(`${name}.shortcut.0`, {
          inChannels: inPlanes,
          outChannels: planes,
          kernelSize: 1,
          stride,
          bias: false,
        }),
        normLayer(`${name}.shortcut.1`, planes, c),
      ]
    : [];
  const act = activation(c.activation);
  return {
    specs: [conv1, bn1, conv2, bn2, ...shortcut].flatMap((l) => l.specs),
    apply: (ctx, x) =>
      tf.tidy(() => {
        const h = bn2.apply(ctx, conv2.apply(ctx, act(bn1.apply(ctx, conv1.apply(ctx, x)))));
        const s = shortcut.reduce((acc, layer) => layer.apply(ctx, acc), x);
        return act(tf.add(h, s));
      }),
  };
}

/**
 * The noise-conditioned ResNet classifier p(y | x̃, σ; θ) of DLSM (Chao et al. 2022 §5 and
 * App.; He et al. 2016 CIFAR layout): 3×3 stem conv (stride 1) + norm + ReLU; four stages of
 * BasicBlocks with widths w, 2w, 4w, 8w (stride 2 at stages 2–4); after stage s the noise
 * embedding is added to the feature map, h += dense_s(SiLU(emb(σ))) broadcast over H, W;
 * global average pool (reshape-mean) → linear to `classes` logits. emb(σ): Gaussian Fourier
 * features of log σ (a buffer) → dense → SiLU → dense (see {@link noiseEmbeddingLayer}).
 *
 * Every op is second-order differentiable (no fused ops, pools or logSoftmax), so the DLSM
 * loss (Chao et al. 2022, eq. 10) can be trained through it. `apply(params, x, σ, …)` takes
 * NHWC images [B, H, W, inChannels] and returns logits [B, classes]; in training mode batch
 * norm uses batch statistics and updates its running statistics.
 *
 * Variable names follow the reference state dict (`condition_modules.0.W`,
 * `classifier.layer2.0.shortcut.1.running_var`, …; the norm layers keep the `bn` names with
 * `norm: 'group'`). Layouts are TensorFlow's: conv [kh, kw, in, out], dense [in, out].
 * ResNet-18 at width 64 with 10 classes has 11 322 634 trainable parameters.
 *
 * @example
 * ```ts
 * const clf = resnetClassifier({ depth: 18, width: 8, classes: 10 });
 * const { params, buffers } = clf.init(key(0));
 * const logits = clf.apply(params, x, sigma, { training: false, buffers }); // [B, 10]
 * ```
 */
export function resnetClassifier(options: ResnetClassifierOptions = {}): Network<tf.Tensor2D> {
  const c = parseConfig(resnetClassifierConfig, options, 'resnetClassifier');
  const w = c.width;
  const act = activation(c.activation);
  const embedding = noiseEmbeddingLayer({
    kind: 'fourier',
    size: c.fourierSize,
    fourierScale: c.fourierScale,
    dim: c.embeddingDim,
    names: {
      fourier: 'condition_modules.0',
      dense0: 'condition_modules.1',
      dense1: 'condition_modules.2',
    },
  });
  const stem = conv2dLayer('classifier.conv1', {
    inChannels: c.inChannels,
    outChannels: w,
    bias: false,
  });
  const stemNorm = normLayer('classifier.bn1', w, c);
  const widths = [w, 2 * w, 4 * w, 8 * w] as const;
  let inPlanes = w;
  const stages = resnetStages[c.depth].map((blocks, s) => {
    const planes = widths[s] as number;
    const layers: Layer[] = [];
    for (let b = 0; b < blocks; b++) {
      const stride = b === 0 && s > 0 ? 2 : 1;
      layers.push(basicBlock(`classifier.layer${s + 1}.${b}`, inPlanes, planes, stride, c));
      inPlanes = planes;
    }
    const project = denseLayer(`classifier.dense_${s + 1}`, {
      inFeatures: c.embeddingDim,
      outFeatures: planes,
    });
    return { layers, project };
  });
  const head = denseLayer('classifier.linear', { inFeatures: 8 * w, outFeatures: c.classes });
  const specs = [
    ...embedding.specs,
    ...stem.specs,
    ...stemNorm.specs,
    ...stages.flatMap((st) => [...st.project.specs, ...st.layers.flatMap((l) => l.specs)]),
    ...head.specs,
  ];
  const forward = (ctx: LayerContext, x: tf.Tensor, sigma: tf.Tensor1D): tf.Tensor2D => {
    if (x.rank !== 4 || x.shape[3] !== c.inChannels)
      shapeError('resnetClassifier', `images [B, H, W, ${c.inChannels}]`, `shape [${x.shape}]`);
    if (sigma.rank !== 1 || sigma.shape[0] !== x.shape[0])
      shapeError(
        'resnetClassifier',
        `one noise level per image (${x.shape[0]})`,
        `shape [${sigma.shape}]`,
      );
    const temb = silu(embedding.apply(ctx, sigma));
    let h = act(stemNorm.apply(ctx, stem.apply(ctx, x)));
    for (const stage of stages) {
      for (const layer of stage.layers) h = layer.apply(ctx, h);
      const bias = stage.project.apply(ctx, temb);
      h = tf.add(h, tf.reshape(bias, [bias.shape[0] as number, 1, 1, -1]));
    }
    return head.apply(ctx, globalMeanPool(h)) as tf.Tensor2D;
  };
  return network(`resnet${c.depth}Classifier`, c, specs, forward);
}
