// The README's example, verbatim (imports here, body inside the test), then checks of what it
// computes. Keep the two in sync.
// --- README example: imports ---
import { key, normal } from '@scorekit/core';
import { batchesOf, classifierExtractor, extractStatistics, fid, prdc } from '@scorekit/metrics';
import * as tf from '@tensorflow/tfjs-core';
// --- end ---
import { expect, it } from 'vitest';

it('README example runs and labels non-Inception metrics FD_<name>', async () => {
  // --- README example: body ---
  // Any network can be the extractor; results on it read "FD_<name>", never "FID".
  const flat = (x: tf.Tensor) => tf.reshape(x, [x.shape[0]!, -1]);
  const extractor = classifierExtractor(flat, { name: 'pixels', sigma: 0.01 });
  const real = tf.tidy(() => tf.sigmoid(normal(key(0), [200, 4, 4, 3])));
  const fake = tf.tidy(() => tf.sigmoid(tf.add(normal(key(1), [200, 4, 4, 3]), 0.5)));
  const r = await extractStatistics(extractor, batchesOf(real, 50), { features: true });
  const f = await extractStatistics(extractor, batchesOf(fake, 50), { features: true });
  const distance = fid(r.stats!, f.stats!); // { name: 'FD_pixels', value ≈ 0.76, … }
  const quality = prdc(r.features!, f.features!, { k: 3 }); // precision, recall, density, coverage
  tf.dispose([real, fake]);
  // --- end ---

  expect(distance.name).toBe('FD_pixels');
  expect(distance.value).toBeGreaterThan(0.3);
  expect(fid(r.stats!, r.stats!).value).toBeLessThan(1e-9);
  expect(quality.extractor).toBe('pixels');
  for (const v of [quality.precision, quality.recall, quality.coverage]) {
    expect(v).toBeGreaterThan(0);
    expect(v).toBeLessThanOrEqual(1);
  }
});
