import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { key, normal } from './random.js';

const onWasm = tf.getBackend() === 'wasm';

/** Runs `f` on the cpu backend and returns host arrays, then restores the backend. */
async function onCpu<T>(f: () => T): Promise<T> {
  const previous = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    return f();
  } finally {
    await tf.setBackend(previous);
  }
}

type Case = {
  name: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  stride: number;
  pad: 'same' | 'valid';
};
const cases: Case[] = [
  { name: '3×3 stride 1 same', x: [2, 6, 6, 3], w: [3, 3, 3, 4], stride: 1, pad: 'same' },
  { name: '3×3 stride 2 same', x: [2, 6, 6, 3], w: [3, 3, 3, 4], stride: 2, pad: 'same' },
  { name: '3×3 stride 2 same, odd size', x: [2, 7, 7, 2], w: [3, 3, 2, 3], stride: 2, pad: 'same' },
  { name: '1×1 stride 2', x: [3, 6, 6, 4], w: [1, 1, 4, 2], stride: 2, pad: 'same' },
  { name: '3×3 valid', x: [2, 7, 6, 2], w: [3, 3, 2, 3], stride: 1, pad: 'valid' },
  { name: '3×3 stride 2 valid', x: [2, 8, 8, 2], w: [3, 3, 2, 3], stride: 2, pad: 'valid' },
];

/**
 * The DLSM pattern on one conv layer: L(W) = ‖∇ₓ Σ tanh(conv(x, W)) · c‖², differentiated
 * w.r.t. W — exercises Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter kernels.
 */
function firstAndSecondOrder(c: Case): { dx: number[]; dW: number[]; dWdx: number[] } {
  return tf.tidy(() => {
    const x = normal(key(1), c.x) as tf.Tensor4D;
    const W = tf.mul(normal(key(2), c.w), 0.5) as tf.Tensor4D;
    const f = (xx: tf.Tensor, ww: tf.Tensor) => {
      const y = tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.stride, c.pad);
      return tf.sum(tf.mul(tf.tanh(y), tf.sin(y)));
    };
    const [dx, dW] = tf.grads(f)([x, W]);
    const [dWdx] = tf.grads((ww: tf.Tensor) =>
      tf.sum(tf.square(tf.grad((xx: tf.Tensor) => f(xx, ww))(x))),
    )([W]);
    return {
      dx: Array.from(dx!.dataSync()),
      dW: Array.from(dW!.dataSync()),
      dWdx: Array.from(dWdx!.dataSync()),
    };
  });
}

const maxRelErr = (a: number[], b: number[]) => {
  const scale = Math.max(...b.map(Math.abs), 1e-6);
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]!))) / scale;
};

describe.runIf(onWasm)('wasm convolution gradient kernels', () => {
  it.each(cases)('$name: first and second order match the cpu backend', async (c) => {
    const wasm = firstAndSecondOrder(c);
    const cpu = await onCpu(() => firstAndSecondOrder(c));
    expect(maxRelErr(wasm.dx, cpu.dx)).toBeLessThan(1e-4);
    expect(maxRelErr(wasm.dW, cpu.dW)).toBeLessThan(1e-4);
    expect(maxRelErr(wasm.dWdx, cpu.dWdx)).toBeLessThan(1e-3);
  });
});

describe.runIf(onWasm)('wasm matMul with transposed operands', () => {
  it.each([
    [false, true],
    [true, false],
    [true, true],
  ])('transposeA %s, transposeB %s matches the cpu backend (2-D and batched)', async (ta, tb) => {
    const run = () =>
      tf.tidy(() => {
        const a2 = normal(key(3), ta ? [5, 7] : [7, 5]);
        const b2 = normal(key(4), tb ? [3, 5] : [5, 3]);
        const a3 = normal(key(5), ta ? [2, 5, 7] : [2, 7, 5]);
        const b3 = normal(key(6), tb ? [2, 3, 5] : [2, 5, 3]);
        return [
          ...tf.matMul(a2 as tf.Tensor2D, b2 as tf.Tensor2D, ta, tb).dataSync(),
          ...tf.matMul(a3 as tf.Tensor3D, b3 as tf.Tensor3D, ta, tb).dataSync(),
        ];
      });
    const wasm = run();
    const cpu = await onCpu(run);
    expect(maxRelErr(wasm, cpu)).toBeLessThan(1e-5);
  });
});

describe.runIf(onWasm)('wasm Identity and same-dtype Cast share memory', () => {
  it('clone and cast give equal, independent tensors; memory is freed with the last user', () => {
    const before = tf.memory().numBytes;
    const buffersBefore = tf.memory().numDataBuffers;
    const tensorsBefore = tf.memory().numTensors;
    const x = tf.tensor1d([1, 2, 3]);
    const y = tf.clone(x);
    const z = tf.cast(x, 'float32');
    expect(tf.memory().numDataBuffers - buffersBefore).toBe(1); // one buffer for x, y and z
    const i = tf.cast(x, 'int32'); // a real cast still converts
    expect(i.dtype).toBe('int32');
    expect(Array.from(i.dataSync())).toEqual([1, 2, 3]);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
    y.dispose();
    expect(Array.from(z.dataSync())).toEqual([1, 2, 3]);
    tf.dispose([z, i]);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(tf.memory().numBytes).toBe(before);
    expect(tf.memory().numDataBuffers).toBe(buffersBefore);
  });

  it('a second-order gradient through Multiply (Cast and saved-tensor clones) is unchanged', async () => {
    const run = () =>
      tf.tidy(() => {
        const x = normal(key(7), [4, 3]);
        const w = normal(key(8), [4, 3]);
        const f = (xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(tf.sigmoid(tf.mul(xx, ww)), ww));
        const g = tf.grad((ww: tf.Tensor) =>
          tf.sum(tf.square(tf.grad((xx: tf.Tensor) => f(xx, ww))(x))),
        )(w);
        return Array.from(g.dataSync());
      });
    const wasm = run();
    const cpu = await onCpu(run);
    expect(maxRelErr(wasm, cpu)).toBeLessThan(1e-5);
  });
});
