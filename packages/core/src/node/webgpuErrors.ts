/**
 * The errors scorekit's WebGPU backend throws instead of computing wrong numbers silently.
 *
 * Dawn reports validation and out-of-memory failures asynchronously and, without a listener,
 * only prints them: a kernel whose buffer exceeds `maxStorageBufferBindingSize` returns
 * zeros or garbage. The guarded backend (see `webgpuGuard.ts`) turns every such report into
 * one of these, thrown at the next read (`await tensor.data()`) or at an explicit
 * {@link checkWebgpuErrors}-style boundary.
 */

/** A tensor too large for one GPU buffer binding, refused before anything ran. */
export class GpuTensorTooLargeError extends Error {
  /** The kernel (tfjs WebGPU program) that would have bound the tensor. */
  readonly op: string;
  readonly shape: readonly number[];
  readonly bytes: number;
  /** The device limit exceeded, by name and value. */
  readonly limit: { readonly name: string; readonly bytes: number };
  constructor(
    op: string,
    shape: readonly number[],
    bytes: number,
    limitName: string,
    limit: number,
  ) {
    super(
      `webgpu: ${op} needs a tensor of shape [${shape.join(', ')}] = ${bytes} bytes, more than ` +
        `the device's ${limitName} of ${limit} bytes; split the batch or use a smaller model ` +
        '(a larger binding would be computed wrong, not refused, by the GPU)',
    );
    this.name = 'GpuTensorTooLargeError';
    this.op = op;
    this.shape = shape;
    this.bytes = bytes;
    this.limit = { name: limitName, bytes: limit };
  }
}

/** One error the GPU device reported, attributed to the kernel that caused it. */
export interface GpuErrorRecord {
  /** `validation`, `out-of-memory` or `internal` (the WebGPU error-scope filters). */
  readonly kind: 'validation' | 'out-of-memory' | 'internal';
  /** The kernel that was dispatching, or `outside any kernel (after …)`. */
  readonly op: string;
  /** The output shape of that kernel (empty when unknown). */
  readonly shape: readonly number[];
  readonly message: string;
}

/** GPU validation / out-of-memory errors, raised at the first read after they happened. */
export class GpuDeviceError extends Error {
  readonly errors: readonly GpuErrorRecord[];
  constructor(errors: readonly GpuErrorRecord[]) {
    // a kernel's own error first: errors outside kernels are usually its consequences
    const first = errors.find((e) => !e.op.startsWith('outside')) ?? errors[0];
    const head = first
      ? `webgpu ${first.kind} error in ${first.op} (output [${first.shape.join(', ')}], ` +
        `${first.shape.reduce((a, b) => a * b, 1)} elements): ${first.message.split('\n')[0]}`
      : 'webgpu error';
    const more = errors.length > 1 ? ` (+${errors.length - 1} more)` : '';
    super(`${head}${more}; results computed since are not trustworthy`);
    this.name = 'GpuDeviceError';
    this.errors = errors;
  }
}

/** A synchronous read (`dataSync`, `arraySync`, `bufferSync`) of a tensor living on the GPU. */
export class GpuSyncReadError extends Error {
  readonly shape: readonly number[];
  constructor(shape: readonly number[]) {
    super(
      `webgpu: a synchronous read (dataSync/arraySync) of a tensor of shape [${shape.join(', ')}] ` +
        'is not possible in Node on the webgpu backend; read it with `await tensor.data()` ' +
        '(or `await tensor.array()`), once per step or batch',
    );
    this.name = 'GpuSyncReadError';
    this.shape = shape;
  }
}

/**
 * A reduction whose per-output size is beyond what one tfjs WebGPU kernel computes right and
 * scorekit cannot split (`ArgMax` / `ArgMin`: one workgroup of 64 threads loops ⌈n / 64⌉
 * times, and Mesa's llvmpipe ends a shader after 65,535 loop iterations, returning index 0).
 */
export class GpuReductionTooLargeError extends Error {
  readonly op: string;
  readonly reduceSize: number;
  readonly limit: number;
  constructor(op: string, shape: readonly number[], reduceSize: number, limit: number) {
    super(
      `webgpu: ${op} over ${reduceSize} elements per output (input shape [${shape.join(', ')}]) ` +
        `exceeds the ${limit} elements one kernel reduces reliably; reduce in parts ` +
        '(e.g. reshape to [k, n / k], reduce the inner axis, then the outer)',
    );
    this.name = 'GpuReductionTooLargeError';
    this.op = op;
    this.reduceSize = reduceSize;
    this.limit = limit;
  }
}
