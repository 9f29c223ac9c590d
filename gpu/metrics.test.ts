// Metrics feature extraction on webgpu: extractStatistics reads each batch asynchronously (a
// synchronous read of GPU data is impossible in Node), and its statistics match cpu's.
import { classifierExtractor, extractStatistics, labelledBatchesOf } from '@scorekit/metrics';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { adapter, onBackend, unavailable } from './harness.js';

/** A stand-in classifier: logits = the 3 channel means of each image (plus σ). */
const channelMeans = (x: tf.Tensor, sigma: tf.Tensor1D) =>
  tf.add(tf.mean(x, [1, 2]), tf.reshape(sigma, [-1, 1])) as tf.Tensor2D;
/** Features: the flattened image. */
const pixels = (x: tf.Tensor) => tf.reshape(x, [x.shape[0] as number, -1]);

const n = 48;
const images = Float32Array.from({ length: n * 2 * 2 * 3 }, (_, i) => (Math.sin(i * 1.7) + 1) / 2);
const labels = Int32Array.from({ length: n }, (_, i) => (i * 7) % 3);

/** Statistics of the fixed images on the current backend, as plain numbers. */
async function statistics() {
  const x = tf.tensor4d(images, [n, 2, 2, 3]);
  const y = tf.tensor1d(labels, 'int32');
  try {
    const extractor = classifierExtractor(channelMeans, {
      sigma: 0,
      featureFn: pixels,
      name: 'px',
    });
    const s = await extractStatistics(extractor, labelledBatchesOf({ x, y }, 10), {
      features: true,
      byClass: true,
      inceptionScore: { splits: 2, total: n },
    });
    return {
      count: s.count,
      mean: Array.from(s.stats?.mean ?? []),
      classes: [...(s.statsByClass?.keys() ?? [])],
      features: Array.from(s.features?.data ?? []),
      labels: Array.from(s.labels ?? []),
      is: s.inceptionScore?.mean ?? Number.NaN,
    };
  } finally {
    tf.dispose([x, y]);
  }
}

if (adapter)
  describe('metrics on webgpu', () => {
    it('extractStatistics (features, per-class moments, IS, labels) matches cpu', async () => {
      const gpu = await statistics();
      const cpu = await onBackend('cpu', statistics);
      expect(gpu.count).toBe(n);
      expect(gpu.labels).toEqual(cpu.labels);
      expect(gpu.classes).toEqual(cpu.classes);
      expect(gpu.features.length).toBe(n * 12);
      gpu.features.forEach((v, i) => expect(v).toBeCloseTo(cpu.features[i] as number, 6));
      gpu.mean.forEach((v, i) => expect(v).toBeCloseTo(cpu.mean[i] as number, 6));
      expect(gpu.is).toBeCloseTo(cpu.is, 5);
    });
  });

if (!adapter)
  describe('metrics on webgpu', () => {
    it.skip(unavailable, () => {});
  });
