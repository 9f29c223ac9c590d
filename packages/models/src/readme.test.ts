// The README example, verbatim (imports and body), followed by checks of what it claims.
import { fillTime, fold, key, uniform, veSde } from '@scorekit/core';
import {
  bindLogits,
  bindScore,
  countSpecs,
  disposeVariables,
  resnetClassifier,
  scoreUnet,
  unetTiny,
} from '@scorekit/models';
import { describe, expect, it } from 'vitest';

describe('README example', () => {
  it('runs as documented', () => {
    // --- README example ---
    const sde = veSde({ sigmaMin: 0.01, sigmaMax: 50 });
    const unet = scoreUnet({ ...unetTiny, imageSize: 16 }); // s(x, σ) ≈ ∇ log p_σ(x)
    const classifier = resnetClassifier({ depth: 18, width: 8, classes: 10 }); // p(y | x, σ)
    const k = key(0);
    const unetVars = unet.init(fold(k, 0));
    const clfVars = classifier.init(fold(k, 1));
    const score = bindScore(unet, unetVars, sde); // a ScoreFn over t: conditions on σ(t)
    const logits = bindLogits(classifier, clfVars, sde); // a LogitsFn, inference mode
    const x = uniform(fold(k, 2), [2, 16, 16, 3]);
    const t = fillTime(2, 0.5);
    const s = score(x, t); // [2, 16, 16, 3]
    const y = logits(x, t); // [2, 10]
    const paperSize = countSpecs(resnetClassifier().specs); // 11322634, nothing allocated
    for (const tensor of [x, t, s, y]) tensor.dispose();
    disposeVariables(unetVars);
    disposeVariables(clfVars);
    // --- end of README example ---

    expect(s.shape).toEqual([2, 16, 16, 3]);
    expect(y.shape).toEqual([2, 10]);
    expect(paperSize).toBe(11_322_634);
    expect(s.isDisposed && y.isDisposed).toBe(true);
  });
});
