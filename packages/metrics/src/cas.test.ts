import { expectNoLeaksAsync } from '@scorekit/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { type Classifier, cas, classifierAccuracy } from './cas.js';
import { labelledBatchesOf } from './stream.js';

/**
 * A nearest-class-mean trainer: class means of the flattened images; logits −‖x − m_c‖².
 * `disposed` counts the classifiers freed.
 */
function nearestMeanTrainer(counter: { disposed: number }) {
  return async (images: tf.Tensor, labels: tf.Tensor1D): Promise<Classifier> => {
    const means = tf.tidy(() => {
      const flat = tf.reshape(images, [images.shape[0]!, -1]);
      const onehot = tf.oneHot(labels, 2); // [N, 2]
      const sums = tf.matMul(onehot, flat, true, false); // [2, D]
      return tf.div(sums, tf.reshape(tf.sum(onehot, 0), [2, 1]));
    });
    return {
      predict: (x) =>
        tf.tidy(() => {
          const flat = tf.reshape(x, [x.shape[0]!, -1]);
          const d2 = tf.sub(
            tf.add(
              tf.sum(tf.square(flat), 1, true),
              tf.reshape(tf.sum(tf.square(means), 1), [1, 2]),
            ),
            tf.mul(2, tf.matMul(flat, means, false, true)),
          );
          return tf.neg(d2);
        }),
      dispose: () => {
        means.dispose();
        counter.disposed++;
      },
    };
  };
}

/** 1×1×1 "images" holding one number each, with labels. */
const set = (values: number[], labels: number[]) => ({
  x: tf.tensor4d(values, [values.length, 1, 1, 1]),
  y: tf.tensor1d(labels, 'int32'),
});

describe('cas (classification accuracy score)', () => {
  it('is 1 for separable samples with correct labels, 0 with swapped labels', async () => {
    const counter = { disposed: 0 };
    await expectNoLeaksAsync(async () => {
      const generated = set([-1, 0, 1, 9, 10, 11], [0, 0, 0, 1, 1, 1]);
      const swapped = set([-1, 0, 1, 9, 10, 11], [1, 1, 1, 0, 0, 0]);
      const test = set([-2, 0.5, 3, 8, 12, 7], [0, 0, 0, 1, 1, 1]);
      const good = await cas({ trainClassifier: nearestMeanTrainer(counter), generated, test });
      const bad = await cas({
        trainClassifier: nearestMeanTrainer(counter),
        generated: swapped,
        test: labelledBatchesOf(test, 4),
      });
      expect(good).toMatchObject({ name: 'CAS', accuracy: 1, count: 6 });
      expect(bad.accuracy).toBe(0);
      tf.dispose([generated.x, generated.y, swapped.x, swapped.y, test.x, test.y]);
    });
    expect(counter.disposed).toBe(2);
  });

  it('matches a hand computation when one class is generated badly', async () => {
    // Class means from the samples: m₀ = 0, m₁ = 3 (class 1 generated too close to class 0),
    // so the decision boundary is 1.5. Test points −1, 4 (class 0) and 6, 11 (class 1) are
    // predicted 0, 1, 1, 1 ⇒ accuracy 3/4; class 0: 1/2, class 1: 2/2.
    const generated = set([-1, 1, 2, 4], [0, 0, 1, 1]);
    const test = set([-1, 4, 6, 11], [0, 0, 1, 1]);
    const r = await cas({ trainClassifier: nearestMeanTrainer({ disposed: 0 }), generated, test });
    expect(r.accuracy).toBe(0.75);
    expect(r.perClass).toEqual([
      { label: 0, count: 2, accuracy: 0.5 },
      { label: 1, count: 2, accuracy: 1 },
    ]);
    tf.dispose([generated.x, generated.y, test.x, test.y]);
  });

  it('uses an injected evaluator and accepts label predictions', async () => {
    const generated = set([0, 1], [0, 1]);
    const test = set([0, 1, 1], [0, 1, 0]);
    const labeller: Classifier = {
      predict: (x) => tf.tidy(() => tf.cast(tf.reshape(x, [-1]), 'int32')),
    };
    const direct = await classifierAccuracy(labeller, test);
    expect(direct.accuracy).toBeCloseTo(2 / 3, 12);
    let calls = 0;
    const r = await cas({
      trainClassifier: async () => labeller,
      evaluate: async (c, t) => {
        calls++;
        return classifierAccuracy(c, t);
      },
      generated,
      test,
    });
    expect(calls).toBe(1);
    expect(r.accuracy).toBeCloseTo(2 / 3, 12);
    tf.dispose([generated.x, generated.y, test.x, test.y]);
  });
});
