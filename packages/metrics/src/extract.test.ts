import { key, normal } from '@scorekit/core';
import { expectNoLeaksAsync } from '@scorekit/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { extractStatistics } from './extract.js';
import { classifierExtractor, INCEPTION_V3_POOL3, metricLabel } from './extractor.js';
import { featureSet, groupByClass } from './featureSet.js';
import { fid } from './frechet.js';
import { inceptionScore } from './inceptionScore.js';
import { gaussianStats } from './moments.js';
import { batchesOf, labelledBatchesOf } from './stream.js';

/** A stand-in classifier: logits = the 3 channel means of each image, plus σ. */
const channelMeans = (x: tf.Tensor, sigma: tf.Tensor1D) =>
  tf.add(tf.mean(x, [1, 2]), tf.reshape(sigma, [-1, 1])) as tf.Tensor2D;
/** Penultimate "features": the flattened image. */
const pixels = (x: tf.Tensor) => tf.reshape(x, [x.shape[0]!, -1]);

const maxRelDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!) / (1 + Math.abs(b[i]!))), 0);

describe('metricLabel and classifierExtractor', () => {
  it('only the declared Inception extractor is labelled FID / IS', () => {
    expect(metricLabel('FID', INCEPTION_V3_POOL3)).toBe('FID');
    expect(metricLabel('IS', INCEPTION_V3_POOL3)).toBe('IS');
    expect(metricLabel('FID', 'resnet18')).toBe('FD_resnet18');
    expect(metricLabel('IS', 'resnet18')).toBe('IS_resnet18');
    expect(() => classifierExtractor(channelMeans, { name: INCEPTION_V3_POOL3, sigma: 0 })).toThrow(
      /other than the Inception/,
    );
  });

  it('evaluates the classifier at the given σ, features from featureFn or the logits', () => {
    const x = tf.tensor4d([0, 1, 2, 3, 4, 5], [1, 1, 2, 3]);
    const e1 = classifierExtractor(channelMeans, { sigma: 0.5 });
    const e2 = classifierExtractor(channelMeans, { sigma: 0.5, featureFn: pixels, name: 'px' });
    const l = e1.logits!(x);
    const f1 = e1.features(x);
    const f2 = e2.features(x);
    // channel means of pixels (0,1,2) and (3,4,5) are 1.5, 2.5, 3.5; + σ = 0.5
    expect(l.arraySync()).toEqual([[2, 3, 4]]);
    expect(f1.arraySync()).toEqual([[2, 3, 4]]);
    expect(f2.arraySync()).toEqual([[0, 1, 2, 3, 4, 5]]);
    expect([e1.name, e2.name]).toEqual(['classifier', 'px']);
    tf.dispose([x, l, f1, f2]);
  });
});

describe('extractStatistics (one streaming pass)', () => {
  it('batch-streamed statistics equal the all-at-once ones, without leaks', async () => {
    const n = 60;
    const images = tf.tidy(() => tf.sigmoid(normal(key(1), [n, 2, 2, 3])));
    const labels = tf.tensor1d(
      Array.from({ length: n }, (_, i) => (i * 7) % 3),
      'int32',
    );
    const extractor = classifierExtractor(channelMeans, {
      sigma: 0,
      featureFn: pixels,
      name: 'px',
    });
    const { streamed, once, labelled } = await expectNoLeaksAsync(async () => ({
      streamed: await extractStatistics(extractor, batchesOf(images, 7), {
        features: true,
        inceptionScore: { splits: 3, total: n },
      }),
      once: await extractStatistics(extractor, [images], {
        features: true,
        inceptionScore: { splits: 3, total: n },
      }),
      labelled: await extractStatistics(
        extractor,
        labelledBatchesOf({ x: images, y: labels }, 11),
        { byClass: true, features: true },
      ),
    }));
    // references computed directly from the whole tensors
    const allFeatures = tf.tidy(() => pixels(images));
    const allLogits = tf.tidy(() => channelMeans(images, tf.zeros([n]) as tf.Tensor1D));
    const ref = gaussianStats(featureSet(allFeatures, 'px'));
    const refIs = inceptionScore(allLogits, { splits: 3, extractor: 'px' });
    const refByClass = groupByClass(featureSet(allFeatures, 'px'), labels.dataSync());
    tf.dispose([allFeatures, allLogits]);

    expect(streamed.count).toBe(n);
    expect(streamed.extractor).toBe('px');
    expect(maxRelDiff(streamed.stats!.mean, ref.mean)).toBeLessThan(1e-12);
    expect(maxRelDiff(streamed.stats!.cov, ref.cov)).toBeLessThan(1e-12);
    expect(maxRelDiff(once.stats!.cov, ref.cov)).toBeLessThan(1e-12);
    expect(streamed.features!.data).toEqual(once.features!.data);
    expect(streamed.inceptionScore!.splits).toEqual(refIs.splits.map((s) => expect.closeTo(s, 12)));
    expect(streamed.inceptionScore!.name).toBe('IS_px');
    expect(fid(streamed.stats!, once.stats!).value).toBeLessThan(1e-9);
    expect(fid(streamed.stats!, once.stats!).name).toBe('FD_px');

    // labelled: per-class Gaussians and the merged overall Gaussian
    expect([...labelled.statsByClass!.keys()]).toEqual([0, 1, 2]);
    for (const [c, s] of labelled.statsByClass!) {
      const r = gaussianStats(refByClass.get(c)!);
      expect(s.count).toBe(r.count);
      expect(maxRelDiff(s.cov, r.cov)).toBeLessThan(1e-12);
    }
    expect(maxRelDiff(labelled.stats!.cov, ref.cov)).toBeLessThan(1e-12);
    expect(Array.from(labelled.labels!)).toEqual(Array.from(labels.dataSync()));
    tf.dispose([images, labels]);
  });

  it('needs logits for the Inception score and labels for class-wise statistics', async () => {
    const x = tf.zeros([4, 1, 1, 1]);
    const noLogits = {
      name: 'f',
      features: (i: tf.Tensor) => tf.reshape(i, [4, 1]) as tf.Tensor2D,
    };
    await expect(
      extractStatistics(noLogits, [x], { inceptionScore: { total: 4, splits: 1 } }),
    ).rejects.toThrow(/logits for the Inception score/);
    await expect(extractStatistics(noLogits, [x], { byClass: true })).rejects.toThrow(
      /labelled batches/,
    );
    x.dispose();
  });
});
