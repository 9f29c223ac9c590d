import * as tf from '@tensorflow/tfjs-core';
import { GpuReductionTooLargeError } from './webgpuErrors.js';

/** The kernel-function arguments tfjs passes (the parts used here). */
interface KernelArgs {
  readonly inputs: tf.NamedTensorInfoMap;
  readonly backend: tf.KernelBackend & {
    readonly device: { readonly limits: Record<string, number> };
  };
  readonly attrs?: tf.NamedAttrMap;
}

type KernelFunc = (args: KernelArgs) => tf.TensorInfo;

let registered = false;

/** The reductions tfjs-backend-webgpu runs with its one-workgroup-per-row `ReduceProgram`. */
type ReduceType = 'sum' | 'mean' | 'max' | 'min' | 'prod' | 'all' | 'any';

/** Each reduction kernel, its reduce type and the attribute holding its axes. */
const REDUCE_KERNELS: readonly { kernel: string; type: ReduceType; axisAttr: string }[] = [
  { kernel: 'Sum', type: 'sum', axisAttr: 'axis' },
  { kernel: 'Mean', type: 'mean', axisAttr: 'axis' },
  { kernel: 'Max', type: 'max', axisAttr: 'reductionIndices' },
  { kernel: 'Min', type: 'min', axisAttr: 'axis' },
  { kernel: 'Prod', type: 'prod', axisAttr: 'axis' },
  { kernel: 'All', type: 'all', axisAttr: 'axis' },
  { kernel: 'Any', type: 'any', axisAttr: 'axis' },
];

/**
 * Loop iterations one shader invocation may run, with a 2× margin: Mesa's llvmpipe (the
 * software adapter of CI, through Dawn's OpenGL ES backend) ends every shader after 65,535
 * loop iterations counted over all its loops (`LP_MAX_TGSI_LOOP_ITERATIONS` in gallivm), and
 * writes whatever it has — no error reaches WebGPU.
 */
const SAFE_LOOP_ITERATIONS = 32_768;

/** Threads of tfjs's `ArgMinMaxProgram` workgroup (one workgroup per output). */
const ARG_THREADS = 64;

/** Loop iterations per thread of the first stage (elements per thread of one chunk). */
const CHUNK_ITERATIONS = 1024;

let safeReduceSizeOverride: number | null = null;

/**
 * Overrides the largest reduced size (elements per output) that the webgpu backend reduces in
 * one dispatch of tfjs's own kernel; larger reductions run in two stages. `null` restores the
 * device-derived value (see {@link safeReduceSize}). For tests and diagnosis: a small value
 * sends small tensors through the two-stage path.
 */
export function setSafeReduceSize(size: number | null): void {
  if (size !== null && !(Number.isInteger(size) && size >= 2))
    throw new Error(`setSafeReduceSize: size must be an integer ≥ 2 or null, got ${size}`);
  safeReduceSizeOverride = size;
}

/**
 * The largest reduced size tfjs's `ReduceProgram` handles within {@link SAFE_LOOP_ITERATIONS}
 * per thread: it runs one workgroup of 512 threads per output (256 when the device's
 * `maxComputeWorkgroupSizeX` is below 512) and each thread loops ⌈size / threads⌉ times.
 */
export function safeReduceSize(limits: Readonly<Record<string, number>>): number {
  if (safeReduceSizeOverride !== null) return safeReduceSizeOverride;
  const threads = (limits['maxComputeWorkgroupSizeX'] ?? 256) >= 512 ? 512 : 256;
  return threads * SAFE_LOOP_ITERATIONS;
}

/** A tfjs WebGPU program (the fields `runWebGPUProgram` reads). */
interface WebgpuProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  uniforms: string;
  workgroupSize: [number, number, number];
  size: boolean;
  getUserCode(): string;
}

/**
 * First stage of a two-stage reduction: the input seen as `[batch, reduceSize]` (reduced axes
 * innermost), cut into chunks of `chunkSize` elements per row; one workgroup reduces one chunk,
 * so the output is `[batch, numChunks]`. The reduction of each chunk mirrors tfjs's
 * `ReduceProgram` (strided loop, then a tree in workgroup memory, same NaN rule for max/min).
 * `mean` writes each chunk's sum divided by the whole `reduceSize`, so summing the chunks gives
 * the mean. The tree always spans the full workgroup (threads past the chunk's end hold the
 * identity, or the chunk's first element for max/min), so every barrier is in uniform control
 * flow.
 */
class ChunkedReduceProgram implements WebgpuProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames = ['x'];
  uniforms = 'reduceSize : i32, chunkSize : i32, numChunks : i32,';
  workgroupSize: [number, number, number];
  size = true;
  private readonly reduceType: ReduceType;

  constructor(batch: number, numChunks: number, reduceType: ReduceType, threads: number) {
    this.outputShape = [batch, numChunks];
    this.workgroupSize = [threads, 1, 1];
    this.dispatchLayout = { x: [0, 1] };
    // one workgroup per output element (runWebGPUProgram reshapes a too-large x dispatch)
    this.dispatch = [batch * numChunks, 1, 1];
    this.reduceType = reduceType;
    this.shaderKey = `scorekit_chunked_reduce_${reduceType}_${threads}`;
  }

  getUserCode(): string {
    const threads = this.workgroupSize[0];
    let init = '0.0';
    let op = 'bestValue = bestValue + candidate;';
    switch (this.reduceType) {
      case 'max':
      case 'min':
        init = 'f32(x[offset])';
        op = `if (isnan(candidate)) { bestValue = uniforms.NAN; }
              else if (!isnan(bestValue) && candidate ${this.reduceType === 'min' ? '<' : '>'} bestValue) { bestValue = candidate; }`;
        break;
      case 'prod':
        init = '1.0';
        op = 'bestValue = bestValue * candidate;';
        break;
      case 'all':
        init = '1.0';
        op = 'bestValue = f32(bestValue >= 1.0 && candidate >= 1.0);';
        break;
      case 'any':
        op = 'bestValue = f32(bestValue >= 1.0 || candidate >= 1.0);';
        break;
      default:
        break;
    }
    const result =
      this.reduceType === 'mean' ? 'bestValue / f32(uniforms.reduceSize)' : 'bestValue';
    return `
      var<workgroup> xBestValues : array<f32, ${threads}>;
      fn main(index : i32) {
        let outputIndex = index / ${threads};
        let valid = outputIndex < uniforms.size;
        let row = outputIndex / uniforms.numChunks;
        let start = (outputIndex - row * uniforms.numChunks) * uniforms.chunkSize;
        let offset = select(0, row * uniforms.reduceSize + start, valid);
        let len = select(0, min(uniforms.chunkSize, uniforms.reduceSize - start), valid);
        var bestValue = ${init};
        for (var k = i32(localId.x); k < len; k = k + ${threads}) {
          let candidate = f32(x[offset + k]);
          ${op}
        }
        xBestValues[localId.x] = bestValue;
        workgroupBarrier();
        for (var width = ${threads}u / 2u; width > 0u; width = width / 2u) {
          if (localId.x < width) {
            let candidate = xBestValues[localId.x + width];
            ${op}
            xBestValues[localId.x] = bestValue;
          }
          workgroupBarrier();
        }
        if (localId.x == 0u && valid) {
          setOutputAtIndex(outputIndex, ${result});
        }
      }
    `;
  }
}

/** The backend methods the two-stage reduction calls (tfjs-backend-webgpu 4.22). */
interface ReduceBackend {
  readonly device: { readonly limits: Record<string, number> };
  runWebGPUProgram(
    program: WebgpuProgram,
    inputs: tf.TensorInfo[],
    dtype: tf.DataType,
    uniforms: { type: 'int32'; data: number[] }[],
  ): tf.TensorInfo;
  disposeData(dataId: object): void;
}

function kernelOf(name: string): KernelFunc {
  const k = tf.getKernel(name, 'webgpu');
  if (!k) throw new Error(`webgpuKernels: tfjs-backend-webgpu has no ${name} kernel`);
  return k.kernelFunc as unknown as KernelFunc;
}

/**
 * A reduction kernel that runs tfjs's own kernel when the reduced size is at most
 * {@link safeReduceSize}, and otherwise reduces in two stages: {@link ChunkedReduceProgram}
 * (chunks of `threads × 1024` elements, one workgroup each), then the original kernel over the
 * chunks (Sum for mean). Intermediates are disposed; the result has tfjs's shape and dtype.
 */
function twoStageReduce(
  type: ReduceType,
  axisAttr: string,
  original: KernelFunc,
  sumKernel: KernelFunc,
): KernelFunc {
  return (args) => {
    const x = args.inputs['x'] as tf.TensorInfo;
    const attrs = (args.attrs ?? {}) as Record<string, unknown>;
    const axes = tf.util.parseAxisParam(attrs[axisAttr] as number | number[], x.shape);
    const reduceSize = axes.reduce((a, d) => a * (x.shape[d] as number), 1);
    const backend = args.backend as unknown as ReduceBackend & tf.KernelBackend;
    const limits = backend.device.limits;
    if (reduceSize <= safeReduceSize(limits)) return original(args);
    const toDispose: tf.TensorInfo[] = [];
    try {
      const perm = tf.backend_util.getAxesPermutation(axes, x.shape.length);
      let input = x;
      if (perm !== null) {
        input = kernelOf('Transpose')({ ...args, inputs: { x }, attrs: { perm } });
        toDispose.push(input);
      }
      const batch = tf.util.sizeFromShape(x.shape) / reduceSize;
      const threads = Math.min(
        256,
        limits['maxComputeWorkgroupSizeX'] ?? 256,
        limits['maxComputeInvocationsPerWorkgroup'] ?? 256,
      );
      // chunks never longer than the safe size (a small override sends small tensors through
      // several chunks)
      const chunkSize = Math.min(threads * CHUNK_ITERATIONS, safeReduceSize(limits));
      const numChunks = Math.ceil(reduceSize / chunkSize);
      const dtype: tf.DataType =
        type === 'mean'
          ? 'float32'
          : type === 'all' || type === 'any'
            ? 'bool'
            : tf.sumOutType(x.dtype);
      const partial = backend.runWebGPUProgram(
        new ChunkedReduceProgram(batch, numChunks, type, threads),
        [input],
        dtype,
        [
          { type: 'int32', data: [reduceSize] },
          { type: 'int32', data: [chunkSize] },
          { type: 'int32', data: [numChunks] },
        ],
      );
      toDispose.push(partial);
      const second = type === 'mean' ? sumKernel : original;
      const reduced = second({
        ...args,
        inputs: { x: partial },
        attrs: { [axisAttr]: [1], keepDims: false },
      });
      toDispose.push(reduced);
      let outShape = tf.backend_util.computeOutAndReduceShapes(x.shape, axes)[0];
      if (attrs['keepDims'] === true)
        outShape = tf.backend_util.expandShapeToKeepDim(outShape, axes);
      return kernelOf('Reshape')({ ...args, inputs: { x: reduced }, attrs: { shape: outShape } });
    } finally {
      for (const t of toDispose) backend.disposeData(t.dataId);
    }
  };
}

/**
 * Replaces two groups of tfjs-backend-webgpu kernels that give wrong results without an error:
 * - `AddN`: sums at most `maxStorageBuffersPerShaderStage − 1` tensors per dispatch (one binding
 *   is the output). tfjs binds every addend at once, so `tf.addN` of more tensors — which
 *   gradient accumulation does whenever a tensor feeds more than a few ops — builds an invalid
 *   pipeline (8 storage buffers by default, 4 in compatibility mode) and yields garbage.
 * - `Sum`, `Mean`, `Max`, `Min`, `Prod`, `All`, `Any`: a reduction over more than
 *   {@link safeReduceSize} elements per output runs in two stages (chunks, then the chunks'
 *   results), so no shader invocation loops more than a few thousand times; tfjs's single
 *   workgroup per output loops ⌈n / 512⌉ times per thread, beyond what llvmpipe executes
 *   (a 1-D sum of 2^25 ones gave 131,070).
 * - `ArgMax`, `ArgMin`: refused with a {@link GpuReductionTooLargeError} beyond 64 × 32,768
 *   elements per output (tfjs's 64 threads per output returned index 0 for 2^23 elements).
 *
 * Idempotent.
 */
export function registerWebgpuKernels(): void {
  if (registered) return;
  const original = tf.getKernel('AddN', 'webgpu');
  if (!original) return;
  const addN = original.kernelFunc as unknown as KernelFunc;
  const chunkedAddN: KernelFunc = (args) => {
    // tf.addN passes its tensors as an array (tfjs's AddN kernels map over it)
    const tensors = args.inputs as unknown as tf.TensorInfo[];
    const limit = args.backend.device.limits['maxStorageBuffersPerShaderStage'] ?? 8;
    const perDispatch = Math.max(2, limit - 1);
    let level = tensors;
    let owned = false;
    while (level.length > perDispatch) {
      const next: tf.TensorInfo[] = [];
      for (let i = 0; i < level.length; i += perDispatch) {
        const chunk = level.slice(i, i + perDispatch);
        next.push(
          chunk.length === 1
            ? (chunk[0] as tf.TensorInfo)
            : addN({ ...args, inputs: chunk as never }),
        );
      }
      if (owned) for (const t of level) if (!next.includes(t)) args.backend.disposeData(t.dataId);
      level = next;
      owned = true;
    }
    const out = addN({ ...args, inputs: level as never });
    if (owned) for (const t of level) args.backend.disposeData(t.dataId);
    return out;
  };
  tf.unregisterKernel('AddN', 'webgpu');
  tf.registerKernel({ ...original, kernelFunc: chunkedAddN as unknown as tf.KernelFunc });
  const sumKernel = kernelOf('Sum');
  for (const { kernel, type, axisAttr } of REDUCE_KERNELS) {
    const config = tf.getKernel(kernel, 'webgpu');
    if (!config) continue;
    const wrapped = twoStageReduce(
      type,
      axisAttr,
      config.kernelFunc as unknown as KernelFunc,
      sumKernel,
    );
    tf.unregisterKernel(kernel, 'webgpu');
    tf.registerKernel({ ...config, kernelFunc: wrapped as unknown as tf.KernelFunc });
  }
  for (const kernel of ['ArgMax', 'ArgMin']) {
    const config = tf.getKernel(kernel, 'webgpu');
    if (!config) continue;
    const original = config.kernelFunc as unknown as KernelFunc;
    const refusing: KernelFunc = (args) => {
      const x = args.inputs['x'] as tf.TensorInfo;
      const axes = tf.util.parseAxisParam(args.attrs?.['axis'] as number | number[], x.shape);
      const reduceSize = x.shape[axes[0] as number] as number;
      const limit = ARG_THREADS * SAFE_LOOP_ITERATIONS;
      if (reduceSize > limit)
        throw new GpuReductionTooLargeError(kernel, x.shape, reduceSize, limit);
      return original(args);
    };
    tf.unregisterKernel(kernel, 'webgpu');
    tf.registerKernel({ ...config, kernelFunc: refusing as unknown as tf.KernelFunc });
  }
  registered = true;
}
