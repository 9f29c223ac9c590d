import {
  fold,
  type Key,
  key,
  normal,
  type Params,
  perSample,
  type ScoreFn,
  veSde,
} from '@scorekit/core';
import { expectNoLeaks } from '@scorekit/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { weighted } from './combinators.js';
import { crossEntropy } from './crossEntropy.js';
import { dlsm } from './dlsm.js';
import type { LabelledBatch, Loss } from './loss.js';
import { sum } from './monoid.js';
import { perturb } from './perturb.js';

// Second-order gradients: DLSM's loss contains ∇_x̃ log p(y | x̃; θ), so ∂L/∂θ differentiates
// through an input gradient. We compare tfjs's ∂L/∂θ with central finite differences of L,
// along a random direction in each parameter tensor and one in all of them at once.

const sde = veSde({ sigmaMin: 0.5, sigmaMax: 2 });
const score: ScoreFn = (x) => tf.mul(x, -0.3); // any fixed prior score

type Classifier = (p: Params, x: tf.Tensor, t: tf.Tensor1D) => tf.Tensor2D;

// ReLU makes the input gradient, hence the DLSM loss, jump where a pre-activation changes
// sign, so finite differences are valid only if no ReLU switches within ±h. The probe records
// the sign pattern of every ReLU input during the finite-difference evaluations.
const probe: { on: boolean; signs: number[] } = { on: false, signs: [] };
const relu = (x: tf.Tensor) => {
  if (probe.on) probe.signs.push(...tf.tidy(() => Array.from(tf.sign(x).dataSync())));
  return tf.relu(x);
};
const silu = (x: tf.Tensor) => tf.mul(x, tf.sigmoid(x));
const logSigma = (t: tf.Tensor1D) => tf.reshape(tf.log(sde.marginalStd(t)), [-1, 1]) as tf.Tensor2D;

/** MLP: dense → SiLU → dense (+ σ embedding) → ReLU → dense; σ enters as log σ. */
const mlp: Classifier = (p, x, t) =>
  tf.tidy(() => {
    const ls = logSigma(t);
    const h1 = silu(
      tf.add(tf.matMul(tf.concat([x as tf.Tensor2D, ls], 1), p['w1'] as tf.Tensor2D), p['b1']!),
    );
    const emb = tf.matMul(ls, p['we'] as tf.Tensor2D);
    const h2 = relu(
      tf.add(tf.add(tf.matMul(h1 as tf.Tensor2D, p['w2'] as tf.Tensor2D), p['b2']!), emb),
    );
    return tf.add(tf.matMul(h2 as tf.Tensor2D, p['w3'] as tf.Tensor2D), p['b3']!) as tf.Tensor2D;
  });

const mlpParams = (): Record<string, tf.Tensor> => ({
  w1: tf.mul(normal(key(101), [4, 6]), 0.6),
  b1: tf.mul(normal(key(102), [6]), 0.1),
  we: tf.mul(normal(key(103), [1, 6]), 0.5),
  w2: tf.mul(normal(key(104), [6, 6]), 0.5),
  b2: tf.mul(normal(key(105), [6]), 0.1),
  w3: tf.mul(normal(key(106), [6, 3]), 0.5),
  b3: tf.mul(normal(key(107), [3]), 0.1),
});

/** Group norm from tf.moments over (H, W, channels of the group). */
const groupNorm = (x: tf.Tensor4D, groups: number, gamma: tf.Tensor, beta: tf.Tensor) => {
  const [b, h, w, c] = x.shape;
  const g = tf.reshape(x, [b, h, w, groups, c / groups]);
  const { mean, variance } = tf.moments(g, [1, 2, 4], true);
  const n = tf.div(tf.sub(g, mean), tf.sqrt(tf.add(variance, 1e-5)));
  return tf.add(tf.mul(tf.reshape(n, [b, h, w, c]), gamma), beta);
};

/** Conv net: conv 3×3 s1 → GroupNorm → SiLU (+ σ embedding) → conv 3×3 s2 → ReLU → mean pool → dense. */
const convNet: Classifier = (p, x, t) =>
  tf.tidy(() => {
    const c1 = tf.add(tf.conv2d(x as tf.Tensor4D, p['k1'] as tf.Tensor4D, 1, 'same'), p['bc1']!);
    const n1 = groupNorm(c1 as tf.Tensor4D, 2, p['gamma']!, p['beta']!);
    const emb = tf.reshape(silu(tf.matMul(logSigma(t), p['we'] as tf.Tensor2D)), [-1, 1, 1, 4]);
    const a1 = tf.add(silu(n1), emb);
    const c2 = tf.add(tf.conv2d(a1 as tf.Tensor4D, p['k2'] as tf.Tensor4D, 2, 'same'), p['bc2']!);
    const a2 = relu(c2);
    const [b, h, w, c] = a2.shape;
    const pooled = tf.mean(tf.reshape(a2, [b!, h! * w!, c!]), 1); // pooling by reshape + mean
    return tf.add(
      tf.matMul(pooled as tf.Tensor2D, p['wd'] as tf.Tensor2D),
      p['bd']!,
    ) as tf.Tensor2D;
  });

const convParams = (): Record<string, tf.Tensor> => ({
  k1: tf.mul(normal(key(201), [3, 3, 2, 4]), 1.5),
  bc1: tf.mul(normal(key(202), [4]), 0.1),
  gamma: tf.add(1, tf.mul(normal(key(203), [4]), 0.1)),
  beta: tf.mul(normal(key(204), [4]), 0.1),
  we: tf.mul(normal(key(205), [1, 4]), 0.5),
  k2: tf.mul(normal(key(206), [3, 3, 4, 5]), 1.5),
  bc2: tf.mul(normal(key(207), [5]), 0.1),
  wd: tf.mul(normal(key(208), [5, 3]), 3),
  bd: tf.mul(normal(key(209), [3]), 0.1),
});

/** DLSM written with tfjs's own tf.logSoftmax (which saves its output): the known-bad path. */
const naiveDlsm =
  (logits: Classifier): Loss<LabelledBatch> =>
  (params, batch, k) =>
    tf.tidy(() => {
      const { xTilde, t, z, std } = perturb(sde, batch.x, k, 1e-5);
      const C = 3;
      const onehot = tf.oneHot(batch.y, C);
      const g = tf.grad((xt: tf.Tensor) =>
        tf.sum(tf.mul(tf.logSoftmax(logits(params, xt, t)), onehot)),
      )(xTilde);
      const r = tf.add(tf.add(g, score(xTilde, t)), tf.div(z, perSample(std, z.rank)));
      const total = tf.mul(tf.mean(tf.square(r)), 0.5) as tf.Scalar;
      return { total, terms: { dlsm: tf.clone(total) } };
    });

interface Check {
  readonly name: string;
  readonly analytic: number;
  readonly fd: number;
  /** Whether some ReLU input changed sign between θ − h v and θ + h v (FD invalid). */
  readonly switched: boolean;
}

/** Directional derivatives of loss.total: tfjs's gradient vs central differences with step h. */
function directionalChecks(
  loss: Loss<LabelledBatch>,
  params: Record<string, tf.Tensor>,
  batch: LabelledBatch,
  k: Key,
  h: number,
): Check[] {
  return tf.tidy(() => {
    const names = Object.keys(params);
    const at = (ps: readonly tf.Tensor[]) => {
      probe.on = true;
      probe.signs = [];
      try {
        const value = tf.tidy(
          () =>
            loss(
              Object.fromEntries(names.map((n, i) => [n, ps[i]!])),
              batch,
              k,
            ).total.dataSync()[0]!,
        );
        return { value, signs: probe.signs.join() };
      } finally {
        probe.on = false;
      }
    };
    // variableGrads tolerates parameters without a gradient path (the tf.logSoftmax version
    // loses some entirely); a missing gradient counts as zero
    const vars = names.map((n) => tf.variable(params[n]!, true));
    const { grads: byName } = tf.variableGrads(
      () => loss(Object.fromEntries(names.map((n, i) => [n, vars[i]!])), batch, k).total,
      vars,
    );
    const grads = vars.map((v) => byName[v.name] ?? tf.zerosLike(v));
    const varsToFree = vars;
    const dirs = names.map((n, i) => normal(fold(key(999), i), params[n]!.shape));
    const checks: Check[] = [];
    const directions: Array<[string, number[]]> = [
      ...names.map((n, i): [string, number[]] => [n, [i]]),
      ['all parameters', names.map((_, i) => i)],
    ];
    for (const [name, which] of directions) {
      const analytic = which.reduce(
        (a, i) => a + tf.sum(tf.mul(grads[i]!, dirs[i]!)).dataSync()[0]!,
        0,
      );
      const step = (sign: number) =>
        names.map((n, i) =>
          which.includes(i) ? tf.add(params[n]!, tf.mul(dirs[i]!, sign * h)) : params[n]!,
        );
      const [plus, minus] = [at(step(1)), at(step(-1))];
      checks.push({
        name,
        analytic,
        fd: (plus.value - minus.value) / (2 * h),
        switched: plus.signs !== minus.signs,
      });
    }
    for (const v of varsToFree) v.dispose();
    return checks as unknown as tf.TensorContainer;
  }) as unknown as Check[];
}

/** The largest relative error, with a floor of 1e-3 × the largest |fd| for tiny derivatives. */
const worstRelativeError = (checks: readonly Check[]) => {
  const scale = Math.max(...checks.map((c) => Math.abs(c.fd)));
  return Math.max(
    ...checks.map((c) => Math.abs(c.analytic - c.fd) / Math.max(Math.abs(c.fd), 1e-3 * scale)),
  );
};

const mlpBatch = () => ({ x: normal(key(11), [3, 3]), y: tf.tensor1d([0, 2, 1], 'int32') });
const convBatch = () => ({ x: normal(key(12), [2, 6, 6, 2]), y: tf.tensor1d([1, 2], 'int32') });

describe('DLSM second-order gradients match central finite differences', () => {
  for (const [name, logits, makeParams, makeBatch, h] of [
    ['MLP (dense, SiLU, ReLU, σ input)', mlp, mlpParams, mlpBatch, 1e-3],
    [
      'conv net (conv s1/s2, group norm, SiLU/ReLU, reshape-mean pooling, dense)',
      convNet,
      convParams,
      convBatch,
      3e-3,
    ],
  ] as const) {
    it(name, () => {
      tf.tidy(() => {
        const params = makeParams();
        const batch = makeBatch();
        const checks = directionalChecks(dlsm({ sde, logits, score }), params, batch, key(21), h);
        expect(checks.length).toBe(Object.keys(params).length + 1);
        expect(checks.filter((c) => c.switched).map((c) => c.name)).toEqual([]);
        expect(worstRelativeError(checks)).toBeLessThan(1e-2);
        // the loss is not flat in any parameter tensor, so each check is meaningful
        for (const c of checks) expect(Math.abs(c.fd)).toBeGreaterThan(1e-4);
        // the same loss written with tf.logSoftmax has the same value but a wrong gradient:
        // tfjs drops the second-order paths through its saved output
        const ours = dlsm({ sde, logits, score })(params, batch, key(21)).total.dataSync()[0]!;
        const naive = naiveDlsm(logits)(params, batch, key(21)).total.dataSync()[0]!;
        expect(naive).toBeCloseTo(ours, 5);
        const bad = directionalChecks(naiveDlsm(logits), params, batch, key(21), h);
        expect(worstRelativeError(bad)).toBeGreaterThan(5e-2);
      });
    });
  }

  it('also through the shared DLSM + λ·CE objective (conv net)', () => {
    tf.tidy(() => {
      const objective = sum(
        dlsm({ sde, logits: convNet, score }),
        weighted(1)(crossEntropy({ sde, logits: convNet })),
      );
      const checks = directionalChecks(objective, convParams(), convBatch(), key(22), 3e-3);
      expect(checks.filter((c) => c.switched).map((c) => c.name)).toEqual([]);
      expect(worstRelativeError(checks)).toBeLessThan(1e-2);
    });
  });
});

describe('a DLSM training step', () => {
  it('leaks no tensor (explicit check around gradient steps of DLSM + λ·CE)', () => {
    const objective = sum(
      dlsm({ sde, logits: convNet, score }),
      weighted(0.125)(crossEntropy({ sde, logits: convNet })),
    );
    const params0 = tf.tidy(convParams);
    const batch = tf.tidy(convBatch);
    const names = Object.keys(params0);
    expectNoLeaks(() => {
      let params = names.map((n) => tf.clone(params0[n]!));
      for (let step = 0; step < 3; step++) {
        const { value, grads } = tf.valueAndGrads(
          (...ps: tf.Tensor[]) =>
            objective(
              Object.fromEntries(names.map((n, i) => [n, ps[i]!])),
              batch,
              fold(key(5), step),
            ).total,
        )(params);
        const next = params.map((p, i) => tf.tidy(() => tf.sub(p, tf.mul(grads[i]!, 0.01))));
        tf.dispose([value, ...grads, ...params]);
        params = next;
      }
      // evaluating the loss outside any tidy returns only owned tensors (total and terms)
      const v = objective(Object.fromEntries(names.map((n, i) => [n, params[i]!])), batch, key(6));
      expect(Object.keys(v.terms).sort()).toEqual(['crossEntropy', 'dlsm']);
      tf.dispose([v.total, ...Object.values(v.terms), ...params]);
    });
    tf.dispose([...Object.values(params0), batch.x, batch.y]);
  });
});
