import { availableParallelism } from 'node:os';
import {
  backend_util,
  getKernel,
  type KernelConfig,
  type KernelFunc,
  registerKernel,
  type TensorInfo,
  unregisterKernel,
  util,
} from '@tensorflow/tfjs-core';
import { type ConvShapeArgs, loadAddon, type NativeAddon } from './addon.js';
import { broadcastPlan, reductionPlan } from './plans.js';

/** The parts of tfjs-backend-wasm's backend the native kernels use (its heap and tensor map). */
interface WasmBackendLike {
  readonly wasm: { readonly HEAPU8: Uint8Array };
  readonly dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  disposeData(dataId: object): boolean;
}

type KernelArgs = Parameters<KernelFunc>[0];

/** What {@link registerNativeKernels} did. */
export interface NativeKernels {
  /** oneDNN's version, e.g. "2.6.3". */
  readonly version: string;
  /** The wasm kernels now served natively (each falls back to the previous kernel when it cannot). */
  readonly kernels: readonly string[];
  /** oneDNN's thread count. */
  readonly threads: number;
}

/** Options of {@link registerNativeKernels}. */
export interface NativeKernelOptions {
  /**
   * oneDNN threads. Default: `SCOREKIT_NATIVE_THREADS`, else 1 inside a vitest worker (the
   * workers already use every core) and min(2, cores) otherwise.
   */
  readonly threads?: number;
}

/** The thread count {@link registerNativeKernels} uses by default (see {@link NativeKernelOptions}). */
export function defaultNativeThreads(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SCOREKIT_NATIVE_THREADS;
  if (raw !== undefined) {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1)
      throw new RangeError(`SCOREKIT_NATIVE_THREADS: expected a positive integer, got '${raw}'`);
    return n;
  }
  if (env.VITEST_WORKER_ID !== undefined || env.VITEST_POOL_ID !== undefined) return 1;
  return Math.max(1, Math.min(2, availableParallelism()));
}

let registered: NativeKernels | undefined;

/**
 * How often the native kernels ran natively and how often they fell back to the previous
 * kernel since start-up (diagnostics; tests use it to see that the native path really ran).
 */
export const nativeKernelCalls = { native: 0, fallback: 0 };

/** float32, NHWC, and every tensor in the wasm heap: what the native path handles. */
function offsets(backend: WasmBackendLike, ts: readonly TensorInfo[]): number[] | undefined {
  const out: number[] = [];
  for (const t of ts) {
    if (t.dtype !== 'float32') return undefined;
    const d = backend.dataIdMap.get(t.dataId);
    if (!d) return undefined;
    out.push(d.memoryOffset);
  }
  return out;
}

/**
 * Runs `native` into a fresh float32 output of `shape`: the output is allocated first (it may
 * grow the wasm memory), then the heap and the offsets are read. On any failure the output is
 * freed and `fallback` runs.
 */
function intoOutput(
  args: KernelArgs,
  inputs: readonly TensorInfo[],
  shape: number[],
  native: (heap: ArrayBuffer, offs: number[], out: number) => void,
  fallback: KernelFunc,
): TensorInfo {
  const backend = args.backend as unknown as WasmBackendLike;
  if (inputs.some((t) => t.dtype !== 'float32')) return fellBack(args, fallback);
  const out = backend.makeOutput(shape, 'float32');
  if (util.sizeFromShape(shape) === 0) return out;
  const offs = offsets(backend, inputs);
  const outOff = backend.dataIdMap.get(out.dataId)?.memoryOffset;
  const heap = backend.wasm.HEAPU8.buffer;
  if (offs === undefined || outOff === undefined || !(heap instanceof ArrayBuffer)) {
    backend.disposeData(out.dataId);
    return fellBack(args, fallback);
  }
  try {
    native(heap, offs, outOff);
    nativeKernelCalls.native++;
    return out;
  } catch {
    backend.disposeData(out.dataId);
    return fellBack(args, fallback);
  }
}

function fellBack(args: KernelArgs, fallback: KernelFunc): TensorInfo {
  nativeKernelCalls.fallback++;
  return fallback(args) as TensorInfo;
}

interface ConvAttrs {
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape?: [number, number, number, number];
  filterShape?: [number, number, number, number];
}

function convArgs(info: backend_util.Conv2DInfo): ConvShapeArgs {
  const p = info.padInfo;
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    p.top,
    p.left,
    p.bottom,
    p.right,
  ];
}

function convInfo(
  xShape: number[],
  filterShape: number[],
  a: ConvAttrs,
): backend_util.Conv2DInfo | undefined {
  if ((a.dataFormat ?? 'NHWC') !== 'NHWC') return undefined;
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    a.dilations ?? 1,
    a.pad as 'same',
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
}

function conv2dKernel(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const filter = args.inputs.filter as TensorInfo;
    const info = convInfo(x.shape, filter.shape, args.attrs as unknown as ConvAttrs);
    if (!info) return fellBack(args, fallback);
    return intoOutput(
      args,
      [x, filter],
      info.outShape,
      (heap, [ox, ow], oy) => addon.conv2dForward(heap, ox!, ow!, oy, ...convArgs(info)),
      fallback,
    );
  };
}

function backpropInputKernel(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (args) => {
    const dy = args.inputs.dy as TensorInfo;
    const filter = args.inputs.filter as TensorInfo;
    const a = args.attrs as unknown as ConvAttrs;
    const info = a.inputShape ? convInfo(a.inputShape, filter.shape, a) : undefined;
    if (!info) return fellBack(args, fallback);
    return intoOutput(
      args,
      [dy, filter],
      info.inShape,
      (heap, [ody, ow], odx) => addon.conv2dBackwardData(heap, ody!, ow!, odx, ...convArgs(info)),
      fallback,
    );
  };
}

function backpropFilterKernel(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const dy = args.inputs.dy as TensorInfo;
    const a = args.attrs as unknown as ConvAttrs;
    const info = a.filterShape ? convInfo(x.shape, a.filterShape, a) : undefined;
    if (!info || !a.filterShape) return fellBack(args, fallback);
    return intoOutput(
      args,
      [x, dy],
      [...a.filterShape],
      (heap, [ox, ody], odw) => addon.conv2dBackwardFilter(heap, ox!, ody!, odw, ...convArgs(info)),
      fallback,
    );
  };
}

function matMulKernel(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (args) => {
    const a = args.inputs.a as TensorInfo;
    const b = args.inputs.b as TensorInfo;
    const { transposeA, transposeB } = args.attrs as unknown as {
      transposeA: boolean;
      transposeB: boolean;
    };
    const ra = a.shape.length;
    const rb = b.shape.length;
    if (ra < 2 || rb < 2) return fellBack(args, fallback);
    const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
    const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
    const kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
    const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
    if (k !== kb) return fellBack(args, fallback); // the fallback reports the shape error
    const batchShapeA = a.shape.slice(0, -2);
    const batchShapeB = b.shape.slice(0, -2);
    const batchA = util.sizeFromShape(batchShapeA);
    const batchB = util.sizeFromShape(batchShapeB);
    let outBatch: number[];
    try {
      outBatch = backend_util.assertAndGetBroadcastShape(batchShapeA, batchShapeB);
    } catch {
      return fellBack(args, fallback);
    }
    const batch = util.sizeFromShape(outBatch);
    // one flat batch on each side, or one side a single matrix shared by all
    if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1))
      return fellBack(args, fallback);
    return intoOutput(
      args,
      [a, b],
      [...outBatch, m, n],
      (heap, [oa, ob], oc) =>
        addon.matMul(
          heap,
          oa!,
          ob!,
          oc,
          batchA,
          batchB,
          m,
          k,
          n,
          transposeA ? 1 : 0,
          transposeB ? 1 : 0,
        ),
      fallback,
    );
  };
}

/**
 * The mark of a `BatchMatMul` kernel whose transposed operands cost nothing extra; the key of
 * `@scorekit/core`'s `transposeFreeMatMul` (layers then multiply by transposed operands instead
 * of transposing first).
 */
const transposeFree = Symbol.for('@scorekit/transposeFreeMatMul');

function markedMatMulKernel(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return Object.assign(matMulKernel(addon, fallback), { [transposeFree]: true });
}

/** a ⊙ b with NumPy broadcasting, for the addon's op codes (see `binary` in addon.cc). */
function binaryKernel(op: number) {
  return (addon: NativeAddon, fallback: KernelFunc): KernelFunc =>
    (args) => {
      const a = args.inputs.a as TensorInfo;
      const b = args.inputs.b as TensorInfo;
      if (a.dtype !== 'float32' || b.dtype !== 'float32') return fellBack(args, fallback);
      let outShape: number[];
      try {
        outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
      } catch {
        return fellBack(args, fallback); // the fallback reports the shape error
      }
      const plan = broadcastPlan(a.shape, b.shape, outShape);
      if (!plan) return fellBack(args, fallback);
      return intoOutput(
        args,
        [a, b],
        outShape,
        (heap, [oa, ob], oc) => addon.binary(heap, op, oa!, ob!, oc, ...plan),
        fallback,
      );
    };
}

/** Σ (or mean) over any axes (up to four alternating blocks), without wasm's transpose. */
function reduceKernel(mean: boolean) {
  return (addon: NativeAddon, fallback: KernelFunc): KernelFunc =>
    (args) => {
      const x = args.inputs.x as TensorInfo;
      const { axis, keepDims } = args.attrs as unknown as {
        axis: number | number[];
        keepDims: boolean;
      };
      if (util.sizeFromShape(x.shape) === 0) return fellBack(args, fallback);
      let axes: number[];
      try {
        axes = util.parseAxisParam(axis, x.shape);
      } catch {
        return fellBack(args, fallback);
      }
      const plan = reductionPlan(x.shape, axes);
      if (!plan) return fellBack(args, fallback);
      const outShape = keepDims
        ? x.shape.map((s, i) => (axes.includes(i) ? 1 : s))
        : x.shape.filter((_, i) => !axes.includes(i));
      return intoOutput(
        args,
        [x],
        outShape,
        (heap, [ox], out) => addon.reduce(heap, ox!, out, ...plan, mean ? 1 : 0),
        fallback,
      );
    };
}

/** Byte offsets of `ts` in the wasm heap (all float32), or a TypeError naming `what`. */
function heapOffsets(backend: WasmBackendLike, ts: readonly TensorInfo[], what: string): number[] {
  const offs = offsets(backend, ts);
  if (!offs) throw new TypeError(`${what}: expected float32 tensors of the wasm backend`);
  return offs;
}

/**
 * `ScorekitAdamUpdate` (the contract of `@scorekit/training`'s `fusedAdamUpdate`): inputs
 * p_i, g_i, m_i, v_i (and `coef` when clipped), outputs [p_i′, m_i′, v_i′] for every i, one
 * native loop per tensor, bit-identical to the per-tensor ops.
 */
function adamKernel(addon: NativeAddon): KernelFunc {
  return ({ inputs, backend: b, attrs }) => {
    const backend = b as unknown as WasmBackendLike;
    const a = attrs as unknown as {
      n: number;
      beta1: number;
      beta2: number;
      stepSize: number;
      bc2Sqrt: number;
      eps: number;
      weightDecay: number;
      clipped: boolean;
    };
    let coef = 1;
    if (a.clipped) {
      const [off] = heapOffsets(backend, [inputs.coef as TensorInfo], 'adam: clip coefficient');
      coef = new Float32Array(backend.wasm.HEAPU8.buffer, off!, 1)[0]!;
    }
    const out: TensorInfo[] = [];
    for (let i = 0; i < a.n; i++) {
      const ins = ['p', 'g', 'm', 'v'].map((k) => inputs[`${k}${i}`] as TensorInfo);
      const shape = ins[0]!.shape;
      const outs = [0, 1, 2].map(() => backend.makeOutput(shape, 'float32'));
      out.push(...outs);
      const len = util.sizeFromShape(shape);
      if (len === 0) continue;
      // after the allocations (they may grow the heap)
      const [op, og, om, ov] = heapOffsets(backend, ins, 'adam');
      const [pOut, mOut, vOut] = heapOffsets(backend, outs, 'adam');
      addon.adamUpdate(
        backend.wasm.HEAPU8.buffer as ArrayBuffer,
        op!,
        og!,
        om!,
        ov!,
        pOut!,
        mOut!,
        vOut!,
        len,
        a.beta1,
        1 - a.beta1,
        a.beta2,
        1 - a.beta2,
        a.bc2Sqrt,
        a.eps,
        a.stepSize,
        a.weightDecay,
        coef,
        a.clipped ? 1 : 0,
      );
      nativeKernelCalls.native++;
    }
    return out;
  };
}

/** `ScorekitEmaUpdate` (`@scorekit/training`'s `fusedEmaUpdate`): s_i′ = s_i − c·(s_i − p_i). */
function emaKernel(addon: NativeAddon): KernelFunc {
  return ({ inputs, backend: b, attrs }) => {
    const backend = b as unknown as WasmBackendLike;
    const { n, oneMinusDecay } = attrs as unknown as { n: number; oneMinusDecay: number };
    const out: TensorInfo[] = [];
    for (let i = 0; i < n; i++) {
      const s = inputs[`s${i}`] as TensorInfo;
      const p = inputs[`p${i}`] as TensorInfo;
      const o = backend.makeOutput(s.shape, 'float32');
      out.push(o);
      const len = util.sizeFromShape(s.shape);
      if (len === 0) continue;
      const [os, opar, oo] = heapOffsets(backend, [s, p, o], 'ema');
      addon.emaUpdate(
        backend.wasm.HEAPU8.buffer as ArrayBuffer,
        os!,
        opar!,
        oo!,
        len,
        oneMinusDecay,
      );
      nativeKernelCalls.native++;
    }
    return out;
  };
}

/** Kernels scorekit defines itself (no wasm kernel to fall back to), served natively. */
const ownKernels: Record<string, (addon: NativeAddon) => KernelFunc> = {
  ScorekitAdamUpdate: adamKernel,
  ScorekitEmaUpdate: emaKernel,
};

const factories: Record<string, (addon: NativeAddon, fallback: KernelFunc) => KernelFunc> = {
  Conv2D: conv2dKernel,
  Conv2DBackpropInput: backpropInputKernel,
  Conv2DBackpropFilter: backpropFilterKernel,
  BatchMatMul: markedMatMulKernel,
  Add: binaryKernel(0),
  Sub: binaryKernel(1),
  Multiply: binaryKernel(2),
  RealDiv: binaryKernel(3),
  Sum: reduceKernel(false),
  Mean: reduceKernel(true),
};

/**
 * Replaces tfjs-backend-wasm's `Conv2D`, `Conv2DBackpropInput`, `Conv2DBackpropFilter` and
 * `BatchMatMul` kernels by oneDNN ones, and its float32 `Add`, `Sub`, `Multiply`, `RealDiv`
 * (with broadcasting) and `Sum`, `Mean` (over up to four alternating blocks of axes) by C++ loops that
 * give the same bits without wasm's generic broadcast indexing and transposes; all read and
 * write the wasm heap in place; and serves `@scorekit/training`'s fused Adam and EMA updates
 * (`ScorekitAdamUpdate`, `ScorekitEmaUpdate`) natively. Only
 * kernels change: tfjs's gradient definitions stay, so second-order gradients (DLSM's double
 * back-propagation, Chao et al. 2022 eq. 10) go through the native kernels too. Each native
 * kernel falls back to the kernel registered before it (non-float32, NCHW, unusual batch
 * broadcasting, any native error). Call before `tf.setBackend('wasm')` (the fallbacks keep
 * the originals' set-up) and after scorekit's own wasm kernels (`registerWasmConvGradients`).
 * Throws when the addon is not built (see {@link loadAddon}); idempotent.
 *
 * @example
 * ```ts
 * const { version, kernels } = registerNativeKernels(); // "2.6.3", ['Conv2D', …]
 * ```
 */
export function registerNativeKernels(options: NativeKernelOptions = {}): NativeKernels {
  if (registered) return registered;
  const status = loadAddon();
  if (!status.available) throw new Error(`@scorekit/native: ${status.reason}`);
  const addon = status.addon;
  const threads = options.threads ?? defaultNativeThreads();
  addon.setThreads(threads);
  const kernels: string[] = [];
  for (const [name, make] of Object.entries(factories)) {
    const previous = getKernel(name, 'wasm');
    if (!previous) continue;
    const config: KernelConfig = {
      kernelName: name,
      backendName: 'wasm',
      kernelFunc: make(addon, previous.kernelFunc),
    };
    // the fallback needs the original's set-up (its wasm function binding)
    if (previous.setupFunc) config.setupFunc = previous.setupFunc;
    if (previous.disposeFunc) config.disposeFunc = previous.disposeFunc;
    unregisterKernel(name, 'wasm');
    registerKernel(config);
    kernels.push(name);
  }
  for (const [name, make] of Object.entries(ownKernels)) {
    if (getKernel(name, 'wasm')) unregisterKernel(name, 'wasm');
    registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: make(addon) });
    kernels.push(name);
  }
  registered = { version: addon.version(), kernels, threads: addon.getThreads() };
  return registered;
}
