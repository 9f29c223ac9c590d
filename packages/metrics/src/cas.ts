import { shapeError } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import type { LabelledImages, Stream } from './stream.js';

/**
 * A trained classifier as CAS sees it: `predict` maps images [B, ...] to logits [B, K] (the
 * arg-max is the prediction) or directly to int labels [B]. Outputs are owned by the caller.
 */
export interface Classifier {
  predict(images: tf.Tensor): tf.Tensor;
  dispose?(): void;
}

/** Accuracy on a labelled set, overall and per class. */
export interface AccuracyResult {
  readonly accuracy: number;
  readonly count: number;
  readonly perClass: ReadonlyArray<{
    readonly label: number;
    readonly accuracy: number;
    readonly count: number;
  }>;
}

/**
 * The accuracy of `classifier` on a labelled test set given whole or as a stream of batches
 * (batches are not disposed; see `Stream`).
 *
 * @example
 * ```ts
 * const { accuracy, perClass } = await classifierAccuracy(classifier, { x: testImages, y: testLabels });
 * ```
 */
export async function classifierAccuracy(
  classifier: Classifier,
  test: LabelledImages | Stream<LabelledImages>,
): Promise<AccuracyResult> {
  const stream: Stream<LabelledImages> = 'x' in test && 'y' in test ? [test] : test;
  const correct = new Map<number, number>();
  const seen = new Map<number, number>();
  for await (const { x, y } of stream) {
    const predicted = tf.tidy(() => {
      const out = classifier.predict(x);
      if (out.rank === 2) return tf.argMax(out, 1);
      if (out.rank === 1) return tf.cast(out, 'int32');
      return shapeError('classifier.predict', 'logits [B, K] or labels [B]', `[${out.shape}]`);
    });
    const p = predicted.dataSync();
    predicted.dispose();
    const truth = y.dataSync();
    if (p.length !== truth.length)
      shapeError('classifier.predict', `${truth.length}`, `${p.length}`);
    for (let i = 0; i < truth.length; i++) {
      const c = truth[i]!;
      seen.set(c, (seen.get(c) ?? 0) + 1);
      if (p[i] === c) correct.set(c, (correct.get(c) ?? 0) + 1);
    }
  }
  const labels = [...seen.keys()].sort((a, b) => a - b);
  const count = labels.reduce((s, c) => s + seen.get(c)!, 0);
  if (count === 0) shapeError('classifierAccuracy: test set', 'at least one image', 'none');
  const hits = labels.reduce((s, c) => s + (correct.get(c) ?? 0), 0);
  return {
    accuracy: hits / count,
    count,
    perClass: labels.map((label) => ({
      label,
      count: seen.get(label)!,
      accuracy: (correct.get(label) ?? 0) / seen.get(label)!,
    })),
  };
}

/** Inputs of {@link cas}: how to train and evaluate, and the data. */
export interface CasOptions {
  /** Trains a classifier on (generated images, their conditioning labels). */
  readonly trainClassifier: (images: tf.Tensor, labels: tf.Tensor1D) => Promise<Classifier>;
  /** Evaluates on the real test set (default {@link classifierAccuracy}). */
  readonly evaluate?: (
    classifier: Classifier,
    test: LabelledImages | Stream<LabelledImages>,
  ) => Promise<AccuracyResult>;
  /** Generated samples x with the labels y they were conditioned on. */
  readonly generated: LabelledImages;
  /** The real test set, whole or as batches. */
  readonly test: LabelledImages | Stream<LabelledImages>;
}

/** The classification accuracy score and its per-class accuracies. */
export interface CasResult extends AccuracyResult {
  readonly name: 'CAS';
}

/**
 * The Classification Accuracy Score (Ravuri & Vinyals 2019; Chao et al. 2022, Table 2): train
 * a classifier only on conditionally generated samples, report its accuracy on the real test
 * set. Training is injected (metrics depends on no model or training code); the classifier
 * it returns is disposed after evaluation.
 *
 * @example
 * ```ts
 * const { accuracy } = await cas({
 *   trainClassifier: async (x, y) => trainResNet(x, y), // wired in by the examples
 *   generated: { x: samples, y: sampleLabels },
 *   test: labelledBatchesOf(realTest, 500),
 * });
 * ```
 */
export async function cas(options: CasOptions): Promise<CasResult> {
  const { generated } = options;
  if (generated.x.shape[0] !== generated.y.shape[0]) {
    shapeError('cas: generated labels', `${generated.x.shape[0]}`, `${generated.y.shape[0]}`);
  }
  const classifier = await options.trainClassifier(generated.x, generated.y);
  try {
    const result = await (options.evaluate ?? classifierAccuracy)(classifier, options.test);
    return { name: 'CAS', ...result };
  } finally {
    classifier.dispose?.();
  }
}
