import * as tf from '@tensorflow/tfjs-core';
import { defaultInit, type InitScheme, kaimingUniform, pytorchBias, zeros } from './init.js';
import { getParam, type Layer, type VariableSpec } from './variables.js';

/** Options of {@link conv2dLayer}. */
export interface Conv2dOptions {
  readonly inChannels: number;
  readonly outChannels: number;
  /** Square kernel size: 3 or 1 (default 3). */
  readonly kernelSize?: 1 | 3;
  /** 1 or 2 (default 1); 'same' padding, so a stride of 2 halves H and W. */
  readonly stride?: 1 | 2;
  /** Add a bias (default true; ResNet convs use false). */
  readonly bias?: boolean;
  /** 'pytorch' (default) or 'ddpm' (score_sde default_init, zero bias). */
  readonly init?: InitScheme;
  /** Scale of default_init (init 'ddpm' only; 0 → 1e-10). */
  readonly initScale?: number;
}

/**
 * The variables of a conv layer (LeCun et al. 1989): `<name>.weight` [k, k, in, out] and
 * `<name>.bias` [out], with PyTorch or score_sde initialisation.
 *
 * @example
 * ```ts
 * conv2dSpecs('conv1', { inChannels: 3, outChannels: 64, bias: false }); // one spec, [3, 3, 3, 64]
 * ```
 */
export function conv2dSpecs(name: string, o: Conv2dOptions): VariableSpec[] {
  const k = o.kernelSize ?? 3;
  const ddpm = o.init === 'ddpm';
  const specs: VariableSpec[] = [
    {
      name: `${name}.weight`,
      shape: [k, k, o.inChannels, o.outChannels],
      init: ddpm ? defaultInit(o.initScale ?? 1) : kaimingUniform(),
      trainable: true,
    },
  ];
  if (o.bias ?? true)
    specs.push({
      name: `${name}.bias`,
      shape: [o.outChannels],
      init: ddpm ? zeros : pytorchBias(o.inChannels * k * k),
      trainable: true,
    });
  return specs;
}

/**
 * A 2-D convolution (LeCun et al. 1989) on NHWC inputs with filters [kh, kw, in, out],
 * 'same' padding and stride 1 or 2 — the convolutions of the ResNet classifier (He et al.
 * 2016) and of NCSN++ (Song et al. 2021, App. H). With 'same' padding a stride-2 3×3 conv pads
 * (0, 1) per axis (TensorFlow's convention, equal to score_sde's `Downsample`, which pads
 * (0, 1) explicitly; PyTorch's ResNet pads (1, 1), a one-pixel shift of the sampling grid).
 * Plain `tf.conv2d` (no fused op), so double back-propagation works.
 *
 * @example
 * ```ts
 * const conv = conv2dLayer('conv1', { inChannels: 3, outChannels: 64, bias: false });
 * const h = conv.apply(ctx, x); // [B, H, W, 64]
 * ```
 */
export function conv2dLayer(name: string, o: Conv2dOptions): Layer {
  const stride = o.stride ?? 1;
  const bias = o.bias ?? true;
  return {
    specs: conv2dSpecs(name, o),
    apply: (ctx, x) =>
      tf.tidy(() => {
        const w = getParam(ctx, `${name}.weight`) as tf.Tensor4D;
        const y = tf.conv2d(x as tf.Tensor4D, w, stride, 'same');
        return bias ? tf.add(y, getParam(ctx, `${name}.bias`)) : y;
      }),
  };
}
