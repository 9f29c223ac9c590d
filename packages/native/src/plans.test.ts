import { describe, expect, it } from 'vitest';
import { broadcastPlan, reductionPlan } from './plans.js';

describe('broadcastPlan', () => {
  it('same shapes collapse to one contiguous run', () => {
    expect(broadcastPlan([3, 5, 4], [3, 5, 4], [3, 5, 4])).toEqual([
      1, 1, 1, 60, 0, 0, 0, 1, 0, 0, 0, 1,
    ]);
  });

  it('a bias over the last axis: rows of a, b shared by every row', () => {
    expect(broadcastPlan([32, 8, 8, 16], [16], [32, 8, 8, 16])).toEqual([
      1, 1, 2048, 16, 0, 0, 16, 1, 0, 0, 0, 1,
    ]);
  });

  it('per-sample scalars and both sides broadcast', () => {
    expect(broadcastPlan([3, 1, 1, 1], [3, 2, 2, 5], [3, 2, 2, 5])).toEqual([
      1, 1, 3, 20, 0, 0, 1, 0, 0, 0, 20, 1,
    ]);
    expect(broadcastPlan([2, 1, 4], [1, 3, 1], [2, 3, 4])).toEqual([
      1, 2, 3, 4, 0, 4, 0, 1, 0, 0, 1, 0,
    ]);
  });

  it('a scalar operand and size-1 output dimensions', () => {
    expect(broadcastPlan([], [4, 1, 3], [4, 1, 3])).toEqual([1, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 1]);
  });

  it('more than four alternating dimensions are left to the wasm kernel', () => {
    expect(broadcastPlan([2, 1, 2, 1, 2], [1, 2, 1, 2, 1], [2, 2, 2, 2, 2])).toBeUndefined();
  });
});

describe('reductionPlan', () => {
  it('merges neighbouring kept or reduced dimensions and flags them', () => {
    expect(reductionPlan([32, 8, 8, 16], [0, 1, 2])).toEqual([1, 1, 2048, 16, 1, 1, 0, 1]);
    expect(reductionPlan([3, 7], [1])).toEqual([1, 1, 3, 7, 1, 1, 1, 0]);
    // group-norm moments: [B, H, W, G, C/G] over H, W and C/G
    expect(reductionPlan([2, 4, 4, 2, 8], [1, 2, 4])).toEqual([2, 16, 2, 8, 1, 0, 1, 0]);
    // size-1 dimensions drop out, so [0, 2] of [2, 1, 3, 4] is one reduced block
    expect(reductionPlan([2, 1, 3, 4], [0, 2])).toEqual([1, 1, 6, 4, 1, 1, 0, 1]);
  });

  it('more than four alternating dimensions, repeated or no axes are left to the wasm kernel', () => {
    expect(reductionPlan([2, 2, 2, 2, 2], [0, 2, 4])).toBeUndefined();
    expect(reductionPlan([2, 3, 4], [1, 1])).toBeUndefined();
    expect(reductionPlan([2, 3, 4], [])).toBeUndefined();
  });
});
