import type { KernelBackend } from '@tensorflow/tfjs-core';
import {
  GpuDeviceError,
  type GpuErrorRecord,
  GpuSyncReadError,
  GpuTensorTooLargeError,
} from './webgpuErrors.js';

/** The parts of a WebGPU `GPUError` scorekit reads. */
interface GpuErrorLike {
  readonly message: string;
}

/** The parts of a WebGPU `GPUDevice` the guard uses. */
export interface GuardedDevice {
  pushErrorScope(filter: 'validation' | 'out-of-memory' | 'internal'): void;
  popErrorScope(): Promise<GpuErrorLike | null>;
  addEventListener(
    type: 'uncapturederror',
    listener: (event: { error: GpuErrorLike }) => void,
  ): void;
  readonly limits: { readonly maxStorageBufferBindingSize: number; readonly maxBufferSize: number };
}

/** The parts of tfjs's `WebGPUBackend` the guard overrides (tfjs-backend-webgpu 4.22). */
interface WebGPUBackendLike {
  readonly device: unknown;
  readonly tensorMap: { get(dataId: object): { values: unknown; shape: number[]; dtype: string } };
  runWebGPUProgram(
    program: { outputShape: number[]; constructor: { name: string } },
    inputs: Array<{ shape: number[]; dtype: string }>,
    ...rest: unknown[]
  ): unknown;
  read(dataId: object): Promise<unknown>;
  readSync(dataId: object): unknown;
  uploadToGPU(dataId: object): void;
}

/** int32 / bool tensors up to this many elements keep their host copy after upload. */
const HOST_COPY_LIMIT = 65_536;

/** The constructor of tfjs's `WebGPUBackend`. */
export type WebGPUBackendClass = new (device: never, adapterInfo?: never) => KernelBackend;

const SCOPES = ['internal', 'out-of-memory', 'validation'] as const;

/** The bytes tfjs's WebGPU backend allocates per element (float32, int32, bool as int32). */
const BYTES_PER_ELEMENT = 4;

/**
 * Wraps tfjs's `WebGPUBackend` so no GPU error is silent:
 * - every kernel whose inputs or output exceed the device's `maxStorageBufferBindingSize` or
 *   `maxBufferSize` is refused before dispatch with a {@link GpuTensorTooLargeError};
 * - every kernel runs inside validation / out-of-memory / internal error scopes; an error is
 *   recorded with the kernel's name and output shape, and the next `read` (every
 *   `await tensor.data()`) throws a {@link GpuDeviceError};
 * - errors outside any kernel reach the device's `uncapturederror` listener and are raised the
 *   same way;
 * - a synchronous read of GPU data throws {@link GpuSyncReadError} (tfjs would fail inside with
 *   `OffscreenCanvas is not defined`).
 *
 * @returns a backend class with the constructor of `Base`, plus `checkErrors()`.
 */
export function guardedWebgpuBackend(Base: WebGPUBackendClass): WebGPUBackendClass {
  const BaseClass = Base as unknown as new (
    device: GuardedDevice,
    info: unknown,
  ) => WebGPUBackendLike;
  class GuardedWebGPUBackend extends BaseClass {
    private readonly pending = new Set<Promise<void>>();
    private readonly failures: GpuErrorRecord[] = [];
    private lastOp = 'no kernel yet';
    private readonly bindingLimit: number;
    private readonly bufferLimit: number;

    constructor(device: GuardedDevice, info: unknown) {
      super(device, info);
      this.bindingLimit = device.limits.maxStorageBufferBindingSize;
      this.bufferLimit = device.limits.maxBufferSize;
      device.addEventListener('uncapturederror', (event) => {
        this.failures.push({
          kind: 'validation',
          op: `outside any kernel (after ${this.lastOp})`,
          shape: [],
          message: event.error.message,
        });
      });
    }

    private refuseTooLarge(op: string, shape: readonly number[]): void {
      const bytes = shape.reduce((a, b) => a * b, 1) * BYTES_PER_ELEMENT;
      if (bytes > this.bindingLimit)
        throw new GpuTensorTooLargeError(
          op,
          shape,
          bytes,
          'maxStorageBufferBindingSize',
          this.bindingLimit,
        );
      if (bytes > this.bufferLimit)
        throw new GpuTensorTooLargeError(op, shape, bytes, 'maxBufferSize', this.bufferLimit);
    }

    override runWebGPUProgram(
      program: { outputShape: number[]; constructor: { name: string } },
      inputs: Array<{ shape: number[]; dtype: string }>,
      ...rest: unknown[]
    ): unknown {
      const op = program.constructor.name;
      this.refuseTooLarge(op, program.outputShape);
      for (const input of inputs) this.refuseTooLarge(`${op} (input)`, input.shape);
      const device = this.device as GuardedDevice;
      for (const scope of SCOPES) device.pushErrorScope(scope);
      this.lastOp = op;
      try {
        return super.runWebGPUProgram(program, inputs, ...rest);
      } finally {
        const shape = [...program.outputShape];
        for (const kind of [...SCOPES].reverse()) {
          const done: Promise<void> = device.popErrorScope().then(
            (error) => {
              if (error) this.failures.push({ kind, op, shape, message: error.message });
              this.pending.delete(done);
            },
            (cause: unknown) => {
              this.failures.push({ kind, op, shape, message: String(cause) });
              this.pending.delete(done);
            },
          );
          this.pending.add(done);
        }
      }
    }

    /** Waits for every kernel's error scopes, then throws the errors recorded so far. */
    async checkErrors(): Promise<void> {
      while (this.pending.size > 0) await Promise.all([...this.pending]);
      if (this.failures.length > 0) {
        const errors = this.failures.splice(0);
        throw new GpuDeviceError(errors);
      }
    }

    override async read(dataId: object): Promise<unknown> {
      const values = await super.read(dataId);
      await this.checkErrors();
      return values;
    }

    /**
     * tfjs drops the host values of a tensor once it is uploaded; small int32 / bool tensors
     * (labels, indices) keep them, so label checks (`dataSync` of labels) still work after the
     * labels fed a GPU kernel. Tensors are immutable, so the copy cannot go stale.
     */
    override uploadToGPU(dataId: object): void {
      const data = this.tensorMap.get(dataId);
      const keep =
        (data.dtype === 'int32' || data.dtype === 'bool') &&
        data.values != null &&
        data.shape.reduce((a, b) => a * b, 1) <= HOST_COPY_LIMIT
          ? data.values
          : null;
      super.uploadToGPU(dataId);
      if (keep !== null) data.values = keep;
    }

    override readSync(dataId: object): unknown {
      const data = this.tensorMap.get(dataId);
      if (data.values == null && data.dtype !== 'string') throw new GpuSyncReadError(data.shape);
      return super.readSync(dataId);
    }
  }
  return GuardedWebGPUBackend as unknown as WebGPUBackendClass;
}

/** Whether `backend` is a guarded WebGPU backend, with its error check. */
export function hasErrorCheck(backend: unknown): backend is { checkErrors(): Promise<void> } {
  return (
    typeof backend === 'object' &&
    backend !== null &&
    typeof (backend as { checkErrors?: unknown }).checkErrors === 'function'
  );
}
