// No silent GPU errors: oversize bindings refused up front, device validation errors raised at
// the next read naming the kernel, synchronous reads named, adapters classified.
import { GpuDeviceError, GpuSyncReadError, GpuTensorTooLargeError } from '@scorekit/core/node';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { adapter, unavailable } from './harness.js';

/** A tfjs WebGPU program whose shader does not compile: a real GPU validation error. */
class BrokenProgram {
  outputShape = [4];
  shaderKey = 'scorekit-broken';
  dispatchLayout = { x: [0] };
  dispatch: [number, number, number] = [1, 1, 1];
  variableNames = ['x'];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;
  getUserCode(): string {
    return 'fn main(index : i32) { let a : i32 = 1.5; }';
  }
}

interface ProgramRunner {
  runWebGPUProgram(program: unknown, inputs: tf.TensorInfo[], dtype: string): tf.TensorInfo;
  disposeData(dataId: object): void;
  readonly device: { createBuffer(d: { size: number; usage: number }): unknown };
}

if (adapter)
  describe('webgpu guard', () => {
    it('refuses a tensor larger than maxStorageBufferBindingSize before computing it', () => {
      const limit = adapter?.limits.maxStorageBufferBindingSize as number;
      const n = limit / 4 + 4;
      let caught: unknown;
      try {
        tf.tidy(() => tf.fill([n], 1.5));
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(GpuTensorTooLargeError);
      const err = caught as GpuTensorTooLargeError;
      expect(err.shape).toEqual([n]);
      expect(err.bytes).toBe(n * 4);
      expect(err.limit.name).toBe('maxStorageBufferBindingSize');
      expect(err.message).toMatch(/FillProgram needs a tensor of shape/);
    });

    it('the largest allowed single tensor computes right', async () => {
      const limit = adapter?.limits.maxStorageBufferBindingSize as number;
      const n = Math.floor(limit / 4 / 8); // 1/8 of the limit: ≤ 16 MiB, quick on a software adapter
      const s = tf.tidy(() => tf.sum(tf.fill([n], 0.5)));
      expect((await s.data())[0]).toBeCloseTo(n * 0.5, -2);
      s.dispose();
    });

    it("a kernel's GPU validation error is thrown at the next read, naming the kernel and size", async () => {
      const backend = tf.backend() as unknown as ProgramRunner;
      const x = tf.tensor1d([1, 2, 3, 4]);
      const out = backend.runWebGPUProgram(new BrokenProgram(), [x], 'float32');
      const y = tf.add(x, 1);
      const read = y.data();
      await expect(read).rejects.toThrow(GpuDeviceError);
      await expect(read).rejects.toThrow(
        /validation error in BrokenProgram \(output \[4\], 4 elements\)/,
      );
      await expect(y.data()).resolves.toBeDefined(); // reported once; the device stays usable
      backend.disposeData(out.dataId);
      tf.dispose([x, y]);
    });

    it('an error outside any kernel is thrown at the next read too', async () => {
      const backend = tf.backend() as unknown as ProgramRunner;
      backend.device.createBuffer({ size: 4, usage: 0 }); // usage 0 is invalid
      const y = tf.tidy(() => tf.mul(tf.tensor1d([1, 2]), 2));
      const read = y.data();
      await expect(read).rejects.toThrow(/outside any kernel/);
      y.dispose();
    });

    it('a synchronous read of GPU data says to use await data()', () => {
      const y = tf.fill([1000], 2); // computed on the GPU (tiny CPU-held inputs may stay on the CPU)
      expect(() => y.dataSync()).toThrow(GpuSyncReadError);
      expect(() => y.arraySync()).toThrow(/await tensor.data\(\)/);
      y.dispose();
    });

    it('a sum of more tensors than storage bindings (chunked AddN) is right', async () => {
      const ts = Array.from({ length: 37 }, (_, i) => tf.fill([5], i + 1));
      const s = tf.addN(ts);
      expect(Array.from(await s.data())).toEqual(Array(5).fill((37 * 38) / 2));
      tf.dispose([...ts, s]);
    });
  });

if (!adapter)
  describe('webgpu guard', () => {
    it.skip(unavailable, () => {});
  });
