import { key } from '@scorekit/core';
import { liveTensors } from '@scorekit/core/testing';
import { describe, expect, it } from 'vitest';
import { countParams, countSpecs, disposeVariables, summary } from './params.js';
import { resnetClassifier } from './resnet.js';

describe('counting, summary, disposal', () => {
  it('countParams sums tensor sizes; countSpecs counts trainable specs only; summary lists names, shapes and totals', () => {
    const model = resnetClassifier({ depth: 18, width: 4, classes: 3 });
    const before = liveTensors();
    const vars = model.init(key(0));
    const n = countParams(vars.params);
    expect(countSpecs(model.specs)).toBe(n);
    const text = summary(model, vars);
    expect(text).toMatch(/^resnet18Classifier/);
    expect(text).toMatch(
      /classifier\.layer2\.0\.shortcut\.0\.weight\s+\[1, 1, 4, 8\]\s+32\s+param/,
    );
    expect(text).toMatch(/condition_modules\.0\.W\s+\[32\]\s+32\s+buffer/);
    expect(text).toContain(
      `trainable parameters: ${n.toLocaleString('en-US')} in ${Object.keys(vars.params).length} tensors`,
    );
    expect(text).toContain(`buffers: ${countParams(vars.buffers).toLocaleString('en-US')} values`);
    disposeVariables(vars);
    expect(liveTensors()).toBe(before);
  });
});
