import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { checkLabelRange, checkLabels, checkLogits } from './labels.js';

describe('label and logits checks', () => {
  it('name both sizes when labels and batch disagree', () => {
    tf.tidy(() => {
      expect(() => checkLabels(tf.tensor1d([0, 1], 'int32'), 3)).toThrow(
        'labels: expected one label per sample (a [3] int32 tensor for x of batch 3), got shape [2]',
      );
      expect(() => checkLabels(tf.tensor1d([0, 1]), 2)).toThrow(
        'labels: expected dtype int32, got dtype float32',
      );
      expect(() => checkLabels(tf.tensor1d([0, 1], 'int32'), 2)).not.toThrow();
    });
  });

  it('reject labels ≥ the number of classes, or negative', () => {
    tf.tidy(() => {
      expect(() => checkLabelRange(tf.tensor1d([0, 12], 'int32'), 10)).toThrow(
        'labels: expected every label in [0, 10) (logits have 10 classes), got 12 at index 1',
      );
      expect(() => checkLabelRange(tf.tensor1d([-1], 'int32'), 10)).toThrow(/got -1 at index 0/);
      expect(() => checkLabelRange(tf.tensor1d([9, 0], 'int32'), 10)).not.toThrow();
    });
  });

  it('require logits of shape [B, C]', () => {
    tf.tidy(() => {
      expect(checkLogits(tf.zeros([4, 10]), 4)).toBe(10);
      expect(() => checkLogits(tf.zeros([4, 10, 1]), 4)).toThrow(
        'logits: expected shape [4, C] (rank 2, batch 4, C classes), got shape [4,10,1]',
      );
      expect(() => checkLogits(tf.zeros([3, 10]), 4)).toThrow(
        /expected shape \[4, C\].*got shape \[3,10\]/,
      );
    });
  });
});
