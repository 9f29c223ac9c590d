import {
  backend_util,
  getKernel,
  type KernelConfig,
  type KernelFunc,
  registerKernel,
  type TensorInfo,
  unregisterKernel,
} from '@tensorflow/tfjs-core';

interface WasmBackendLike {
  disposeData(dataId: object): boolean;
  incRef(dataId: object): void;
}

type KernelArgs = Parameters<KernelFunc>[0];

let registered = false;

function wasmKernel(name: string): KernelFunc {
  const k = getKernel(name, 'wasm');
  if (!k) throw new Error(`wasm backend has no ${name} kernel`);
  return k.kernelFunc;
}

/**
 * Registers the convolution gradient kernels that tfjs-backend-wasm lacks or runs slowly,
 * built from the wasm backend's own forward `Conv2D`, `Transpose`, `Reverse` and `Slice`:
 *
 * - `Conv2DBackpropFilter` (missing on wasm): ∂L/∂W[a,b,ci,co] = Σ_{n,i,j} x̂[n, i·s+a, j·s+b, ci]
 *   · dy[n,i,j,co], computed as a forward convolution of the padded input transposed to
 *   [Cin, H, W, B] with dy transposed to [Ho, Wo, B, Cout], dilated by the stride.
 * - `Conv2DBackpropInput`: a forward convolution of dy (with s − 1 zeros inserted between rows
 *   and columns for stride s) with the spatially flipped, transposed filter — several times
 *   faster than wasm's own kernel, which remains the fallback for unusual paddings.
 *
 * Only kernels are replaced: tfjs's gradient definitions stay, so second-order gradients
 * (double back-propagation, Chao et al. 2022 eq. 10) keep working. Idempotent.
 */
export function registerWasmConvGradients(): void {
  if (registered) return;
  const conv2d = wasmKernel('Conv2D');
  const transpose = wasmKernel('Transpose');
  const slice = wasmKernel('Slice');
  const reverse = wasmKernel('Reverse');
  const reshapeK = wasmKernel('Reshape');
  const padK = wasmKernel('PadV2');
  const originalInput = getKernel('Conv2DBackpropInput', 'wasm');

  const backpropFilter = ({ inputs, attrs, backend }: KernelArgs): TensorInfo => {
    const wasm = backend as unknown as WasmBackendLike;
    const x = inputs['x'] as TensorInfo;
    const dy = inputs['dy'] as TensorInfo;
    const a = attrs as unknown as {
      strides: number | [number, number];
      pad: backend_util.PadInfo['type'] | number | backend_util.ExplicitPadding;
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
      filterShape: [number, number, number, number];
    };
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      a.filterShape,
      a.strides,
      1,
      a.pad as 'same',
      a.dimRoundingMode,
    );
    const { top, bottom, left, right } = info.padInfo;
    const [fh, fw, cin, cout] = a.filterShape;
    const xT = transpose({ inputs: { x }, attrs: { perm: [3, 1, 2, 0] }, backend }) as TensorInfo;
    const dyT = transpose({
      inputs: { x: dy },
      attrs: { perm: [1, 2, 0, 3] },
      backend,
    }) as TensorInfo;
    const out = conv2d({
      inputs: { x: xT, filter: dyT },
      attrs: {
        strides: [1, 1],
        pad: [
          [0, 0],
          [top, bottom],
          [left, right],
          [0, 0],
        ],
        dataFormat: 'NHWC',
        dilations: [info.strideHeight, info.strideWidth],
      },
      backend,
    }) as TensorInfo;
    wasm.disposeData(xT.dataId);
    wasm.disposeData(dyT.dataId);
    let cropped = out;
    if (out.shape[1] !== fh || out.shape[2] !== fw) {
      cropped = slice({
        inputs: { x: out },
        attrs: { begin: [0, 0, 0, 0], size: [cin, fh, fw, cout] },
        backend,
      }) as TensorInfo;
      wasm.disposeData(out.dataId);
    }
    const dW = transpose({
      inputs: { x: cropped },
      attrs: { perm: [1, 2, 0, 3] },
      backend,
    }) as TensorInfo;
    wasm.disposeData(cropped.dataId);
    return dW;
  };

  const backpropInput = (args: KernelArgs): TensorInfo => {
    const { inputs, attrs, backend } = args;
    const wasm = backend as unknown as WasmBackendLike;
    const dy = inputs['dy'] as TensorInfo;
    const filter = inputs['filter'] as TensorInfo;
    const a = attrs as unknown as {
      strides: number | [number, number];
      pad: 'same' | 'valid' | number | backend_util.ExplicitPadding;
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
      inputShape: [number, number, number, number];
    };
    const info = backend_util.computeConv2DInfo(
      a.inputShape,
      filter.shape as [number, number, number, number],
      a.strides,
      1,
      a.pad as 'same',
      a.dimRoundingMode,
    );
    const fh = info.filterHeight;
    const fw = info.filterWidth;
    const sh = info.strideHeight;
    const sw = info.strideWidth;
    // dy with (s − 1) zeros inserted after every row / column: [B, Ho·sh, Wo·sw, C]
    const dilatedHeight = info.outHeight * sh;
    const dilatedWidth = info.outWidth * sw;
    const padTop = fh - 1 - info.padInfo.top;
    const padLeft = fw - 1 - info.padInfo.left;
    let padBottom = info.inHeight + fh - 1 - padTop - dilatedHeight;
    let padRight = info.inWidth + fw - 1 - padLeft - dilatedWidth;
    // trailing inserted zeros may be cropped, real rows may not
    const fast =
      padTop >= 0 && padLeft >= 0 && padBottom > -sh && padRight > -sw && info.dilationHeight === 1;
    if (!fast) {
      if (!originalInput) throw new Error('wasm backend has no Conv2DBackpropInput kernel');
      return originalInput.kernelFunc(args) as TensorInfo;
    }
    let input = dy;
    if (sh > 1 || sw > 1) {
      const [b, ho, wo, c] = dy.shape as [number, number, number, number];
      const free = (t: TensorInfo) => wasm.disposeData(t.dataId);
      const r1 = reshapeK({
        inputs: { x: dy },
        attrs: { shape: [b, ho, 1, wo * c] },
        backend,
      }) as TensorInfo;
      const p1 = padK({
        inputs: { x: r1 },
        attrs: {
          paddings: [
            [0, 0],
            [0, 0],
            [0, sh - 1],
            [0, 0],
          ],
          constantValue: 0,
        },
        backend,
      }) as TensorInfo;
      free(r1);
      const r2 = reshapeK({
        inputs: { x: p1 },
        attrs: { shape: [b * ho * sh, wo, 1, c] },
        backend,
      }) as TensorInfo;
      free(p1);
      const p2 = padK({
        inputs: { x: r2 },
        attrs: {
          paddings: [
            [0, 0],
            [0, 0],
            [0, sw - 1],
            [0, 0],
          ],
          constantValue: 0,
        },
        backend,
      }) as TensorInfo;
      free(r2);
      input = reshapeK({
        inputs: { x: p2 },
        attrs: { shape: [b, dilatedHeight, dilatedWidth, c] },
        backend,
      }) as TensorInfo;
      free(p2);
      if (padBottom < 0 || padRight < 0) {
        const cropped = slice({
          inputs: { x: input },
          attrs: {
            begin: [0, 0, 0, 0],
            size: [
              b,
              dilatedHeight + Math.min(padBottom, 0),
              dilatedWidth + Math.min(padRight, 0),
              c,
            ],
          },
          backend,
        }) as TensorInfo;
        free(input);
        input = cropped;
        padBottom = Math.max(padBottom, 0);
        padRight = Math.max(padRight, 0);
      }
    }
    const flipped = reverse({
      inputs: { x: filter },
      attrs: { dims: [0, 1] },
      backend,
    }) as TensorInfo;
    const wT = transpose({
      inputs: { x: flipped },
      attrs: { perm: [0, 1, 3, 2] },
      backend,
    }) as TensorInfo;
    wasm.disposeData(flipped.dataId);
    const dx = conv2d({
      inputs: { x: input, filter: wT },
      attrs: {
        strides: [1, 1],
        pad: [
          [0, 0],
          [padTop, padBottom],
          [padLeft, padRight],
          [0, 0],
        ],
        dataFormat: 'NHWC',
        dilations: [1, 1],
      },
      backend,
    }) as TensorInfo;
    wasm.disposeData(wT.dataId);
    if (input !== dy) wasm.disposeData(input.dataId);
    return dx;
  };

  const filterConfig: KernelConfig = {
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: backpropFilter,
  };
  if (getKernel('Conv2DBackpropFilter', 'wasm')) unregisterKernel('Conv2DBackpropFilter', 'wasm');
  registerKernel(filterConfig);
  if (originalInput) unregisterKernel('Conv2DBackpropInput', 'wasm');
  const inputConfig: KernelConfig = {
    kernelName: 'Conv2DBackpropInput',
    backendName: 'wasm',
    kernelFunc: backpropInput,
  };
  // keep the original's set-up (its wasm function binding) for the strided fallback
  if (originalInput?.setupFunc) inputConfig.setupFunc = originalInput.setupFunc;
  registerKernel(inputConfig);
  registerTransposeFreeMatMul(transpose);
  registerSharingCopies();
  registered = true;
}

/**
 * wasm's `Identity` (run by `tf.clone`, and by the engine for every tensor a kernel saves for
 * its gradient) and a same-dtype `Cast` (tfjs's gradients cast float32 operands to float32,
 * e.g. Multiply's) copy the whole buffer. Tensors are immutable, so the output can share the
 * input's memory with a reference count — what wasm's own `Reshape` and the cpu backend's
 * `Identity` do. Removes ≈ 3000 buffer copies per DLSM + CE step of a ResNet-18.
 */
function registerSharingCopies(): void {
  const share = (
    name: string,
    sameType: (args: KernelArgs) => boolean,
    original: KernelConfig | undefined,
  ) => {
    if (!original) return;
    const kernelFunc = (args: KernelArgs): TensorInfo => {
      const x = args.inputs['x'] as TensorInfo;
      if (x.dtype === 'string' || !sameType(args)) return original.kernelFunc(args) as TensorInfo;
      (args.backend as unknown as WasmBackendLike).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    };
    unregisterKernel(name, 'wasm');
    const config: KernelConfig = { kernelName: name, backendName: 'wasm', kernelFunc };
    if (original.setupFunc) config.setupFunc = original.setupFunc;
    registerKernel(config);
  };
  share('Identity', () => true, getKernel('Identity', 'wasm'));
  share(
    'Cast',
    (args) => (args.attrs as { dtype?: string }).dtype === (args.inputs['x'] as TensorInfo).dtype,
    getKernel('Cast', 'wasm'),
  );
}

/**
 * wasm's `BatchMatMul` with `transposeA`/`transposeB` runs about 7× slower than an explicit
 * `Transpose` followed by the plain product (measured 185 vs 27 ms for [4096,128]·[128,128]ᵀ);
 * tfjs's matMul gradient always uses the transposed forms. This wrapper transposes explicitly.
 */
function registerTransposeFreeMatMul(transpose: KernelFunc): void {
  const original = getKernel('BatchMatMul', 'wasm');
  if (!original) return;
  const matMul = (args: KernelArgs): TensorInfo => {
    const { inputs, attrs, backend } = args;
    const a0 = inputs['a'] as TensorInfo;
    const b0 = inputs['b'] as TensorInfo;
    const { transposeA, transposeB } = attrs as unknown as {
      transposeA: boolean;
      transposeB: boolean;
    };
    if (!transposeA && !transposeB) return original.kernelFunc(args) as TensorInfo;
    const wasm = backend as unknown as WasmBackendLike;
    const swapLast = (t: TensorInfo): TensorInfo => {
      const r = t.shape.length;
      const perm = t.shape.map((_, i) => (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i));
      return transpose({ inputs: { x: t }, attrs: { perm }, backend }) as TensorInfo;
    };
    const a = transposeA ? swapLast(a0) : a0;
    const b = transposeB ? swapLast(b0) : b0;
    const out = original.kernelFunc({
      inputs: { a, b },
      attrs: { ...(attrs as object), transposeA: false, transposeB: false },
      backend,
    }) as TensorInfo;
    if (a !== a0) wasm.disposeData(a.dataId);
    if (b !== b0) wasm.disposeData(b.dataId);
    return out;
  };
  unregisterKernel('BatchMatMul', 'wasm');
  const config: KernelConfig = {
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    kernelFunc: matMul,
  };
  if (original.setupFunc) config.setupFunc = original.setupFunc;
  registerKernel(config);
}
