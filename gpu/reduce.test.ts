// Reductions over more elements than one shader invocation can loop over: Mesa's llvmpipe stops
// every shader after 65,535 loop iterations (LP_MAX_TGSI_LOOP_ITERATIONS), and tfjs's reduce
// kernel loops ⌈n / 512⌉ times in each of the 512 threads of one workgroup, so a 1-D sum of 2^25
// elements came out wrong (131,070 instead of 33,554,432) without any error. The guarded
// backend splits such reductions into two stages; these tests check both the large case and
// the chunked path itself (forced on small tensors) against the cpu backend.
import { GpuReductionTooLargeError, setSafeReduceSize } from '@scorekit/core/node';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { adapter, onBackend, unavailable } from './harness.js';

/** Live tensors and backend buffers (the kernel's intermediates are buffers, not tensors). */
const counts = () => ({ tensors: tf.memory().numTensors, buffers: tf.memory().numDataBuffers });

type Reduction = 'sum' | 'mean' | 'max' | 'min' | 'prod' | 'all' | 'any';

function reduce(
  op: Reduction,
  x: tf.Tensor,
  axis: number | number[] | undefined,
  keepDims: boolean,
): tf.Tensor {
  switch (op) {
    case 'sum':
      return tf.sum(x, axis, keepDims);
    case 'mean':
      return tf.mean(x, axis, keepDims);
    case 'max':
      return tf.max(x, axis, keepDims);
    case 'min':
      return tf.min(x, axis, keepDims);
    case 'prod':
      return tf.prod(x, axis, keepDims);
    case 'all':
      return tf.all(tf.greater(x, -2.5), axis, keepDims);
    case 'any':
      return tf.any(tf.greater(x, 2.9), axis, keepDims);
  }
}

/**
 * Values in [-3, 3) from a fixed seed (prod: near 1, so products stay finite); for all/any,
 * zeros with one deciding element near the end of a row (in the last chunk).
 */
function values(op: Reduction, shape: number[]): Float32Array {
  let s = 12345;
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (op === 'all' || op === 'any') {
    const row = shape[shape.length - 1] as number;
    if (op === 'all')
      out[n - 2] = -3; // the last row is false, the others true
    else out[row - 3] = 3; // the first row is true, the others false
    return out;
  }
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const u = s / 2147483648;
    out[i] = op === 'prod' ? 0.98 + 0.04 * u : 6 * u - 3;
  }
  return out;
}

async function compute(
  op: Reduction,
  shape: number[],
  axis: number | number[] | undefined,
  keepDims: boolean,
): Promise<{ shape: number[]; dtype: string; values: number[] }> {
  const v = values(op, shape);
  const y = tf.tidy(() => reduce(op, tf.tensor(v, shape), axis, keepDims));
  const out = { shape: [...y.shape], dtype: y.dtype, values: Array.from(await y.data()) };
  y.dispose();
  return out;
}

if (adapter)
  describe('webgpu reductions beyond the shader loop limit', () => {
    afterEach(() => setSafeReduceSize(null));

    it('a 1-D sum of 2^25 ones is 2^25 (one 128 MiB tensor)', async () => {
      const before = counts();
      const n = 2 ** 25;
      const s = tf.tidy(() => tf.sum(tf.ones([n])));
      expect((await s.data())[0]).toBe(n);
      s.dispose();
      expect(counts()).toEqual(before);
    });

    const cases: [Reduction, number[], number | number[] | undefined, boolean][] = [
      ['sum', [5003], undefined, false], // last chunk partial
      ['sum', [3, 1024], 1, true],
      ['sum', [1500, 3], 0, false], // a transposed reduction
      ['mean', [2, 3, 700], [1, 2], false],
      ['mean', [4100], 0, true],
      ['max', [3, 2049], -1, false],
      ['min', [2, 2500], 1, false],
      ['prod', [2, 3000], 1, false],
      ['all', [2, 3000], 1, false],
      ['any', [2, 3000], 1, true],
    ];
    for (const [op, shape, axis, keepDims] of cases)
      it(`${op} over ${JSON.stringify(axis)} of [${shape}] in chunks equals cpu`, async () => {
        const before = counts();
        setSafeReduceSize(1000); // a reduced size above this goes through the two stages
        const gpu = await compute(op, shape, axis, keepDims);
        const cpu = await onBackend('cpu', () => compute(op, shape, axis, keepDims));
        expect(gpu.shape).toEqual(cpu.shape);
        expect(gpu.dtype).toBe(cpu.dtype);
        gpu.values.forEach((g, i) => {
          const c = cpu.values[i] as number;
          expect(Math.abs(g - c), `${op} element ${i}: ${g} vs ${c}`).toBeLessThanOrEqual(
            1e-5 * Math.max(1, Math.abs(c)) * Math.sqrt(shape.reduce((a, b) => a * b, 1)),
          );
        });
        expect(counts()).toEqual(before);
      });

    it('argMax / argMin beyond 2^21 elements per output are refused with a named error', async () => {
      const n = 2 ** 22; // 16 MiB; tfjs returned index 0 here on llvmpipe
      const x = tf.tidy(() => tf.cast(tf.equal(tf.range(0, n, 1, 'int32'), n - 5), 'float32'));
      expect(() => tf.argMax(x)).toThrow(GpuReductionTooLargeError);
      expect(() => tf.argMin(x)).toThrow(/ArgMin over 4194304 elements per output/);
      const small = tf.tidy(() => tf.argMax(tf.slice(x, n - 2 ** 20)));
      expect((await small.data())[0]).toBe(2 ** 20 - 5); // within the limit: computed, right
      tf.dispose([x, small]);
    });

    it('max and min keep NaN through the chunks', async () => {
      setSafeReduceSize(1000);
      const v = new Float32Array(5000).fill(1);
      v[4321] = Number.NaN;
      const [mx, mn] = tf.tidy(() => {
        const x = tf.tensor(v);
        return [tf.max(x), tf.min(x)];
      });
      expect((await (mx as tf.Tensor).data())[0]).toBeNaN();
      expect((await (mn as tf.Tensor).data())[0]).toBeNaN();
      tf.dispose([mx as tf.Tensor, mn as tf.Tensor]);
    });
  });

if (!adapter)
  describe('webgpu reductions beyond the shader loop limit', () => {
    it.skip(unavailable, () => {});
  });
