import { type Key, logSoftmax, normal, type Params, split } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * A DLSM-shaped objective for finite-difference tests of second-order gradients (Chao et al.
 * 2022, eq. 10): L(θ) = ‖∇ₓ Σᵢ log softmax(f_θ(x))ᵢ[yᵢ] − c‖² with a fixed target c (the
 * role of the score and (x − x̃)/σ² terms). ∂L/∂θ needs double back-propagation through f.
 * Uses core's `logSoftmax` (tfjs's loses second-order paths).
 */
export function dlsmObjective(
  logits: (params: Params, x: tf.Tensor) => tf.Tensor,
  x: tf.Tensor,
  labels: readonly number[],
  classes: number,
  target: tf.Tensor,
): ((params: Params) => tf.Scalar) & { dispose(): void } {
  const onehot = tf.tidy(() => tf.oneHot(tf.tensor1d(labels as number[], 'int32'), classes));
  const objective = (params: Params) =>
    tf.tidy(() => {
      const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(logSoftmax(logits(params, xx)), onehot)))(
        x,
      );
      return tf.sum(tf.square(tf.sub(g, target))) as tf.Scalar;
    });
  return Object.assign(objective, { dispose: () => onehot.dispose() });
}

/** One directional comparison: analytic ⟨∂L/∂θ, v⟩ against a central difference along v. */
export interface DirectionalCheck {
  readonly name: string;
  readonly analytic: number;
  readonly numeric: number;
  /** Float32 round-off of the central difference: 4 ulp of |L(θ)| / h. */
  readonly roundoff: number;
}

const scalar = (t: tf.Tensor): number => {
  const v = t.dataSync()[0] as number;
  t.dispose();
  return v;
};

/**
 * For each parameter tensor named in `names` (default: all) and each of `directions` unit
 * directions v: the analytic ⟨tf.grads(L)(θ), v⟩ and the central difference
 * (L(θ + h v) − L(θ − h v)) / 2h, moving only that tensor. Directions are random (`'random'`,
 * drawn from `key`) or `'mixed'`: the normalised sum of the analytic gradient's direction and a
 * random one, which keeps the signal well above float32 round-off for tensors whose random
 * projections are tiny while still detecting errors orthogonal to the analytic gradient.
 */
export function directionalChecks(
  objective: (params: Params) => tf.Scalar,
  params: Params,
  key: Key,
  options: {
    readonly h?: number;
    readonly directions?: number;
    readonly names?: readonly string[];
    readonly direction?: 'random' | 'mixed';
  } = {},
): DirectionalCheck[] {
  const h = options.h ?? 1e-2;
  const names = options.names ?? Object.keys(params);
  const all = Object.keys(params);
  const grads = tf.grads((...ts: tf.Tensor[]) =>
    objective(Object.fromEntries(all.map((n, i) => [n, ts[i] as tf.Tensor]))),
  )(all.map((n) => params[n] as tf.Tensor));
  const gradOf = Object.fromEntries(all.map((n, i) => [n, grads[i] as tf.Tensor]));
  const roundoff = (4 * 2 ** -24 * Math.abs(scalar(objective(params)))) / h;
  const out: DirectionalCheck[] = [];
  const keys = split(key, names.length * (options.directions ?? 1));
  let k = 0;
  for (const name of names) {
    const p = params[name] as tf.Tensor;
    for (let d = 0; d < (options.directions ?? 1); d++) {
      const v = tf.tidy(() => {
        const z = normal(keys[k++] as Key, p.shape);
        const unitZ = tf.div(z, tf.norm(z));
        if (options.direction !== 'mixed') return unitZ;
        const g = gradOf[name] as tf.Tensor;
        const gNorm = tf.norm(g).dataSync()[0] as number;
        if (gNorm === 0) return unitZ;
        const sum = tf.add(tf.div(g, gNorm), unitZ);
        return tf.div(sum, tf.norm(sum));
      });
      const analytic = scalar(tf.tidy(() => tf.sum(tf.mul(gradOf[name] as tf.Tensor, v))));
      const at = (step: number) => {
        const moved = tf.tidy(() => tf.add(p, tf.mul(v, step)));
        const value = scalar(objective({ ...params, [name]: moved }));
        moved.dispose();
        return value;
      };
      const numeric = (at(h) - at(-h)) / (2 * h);
      v.dispose();
      out.push({ name, analytic, numeric, roundoff });
    }
  }
  tf.dispose(grads);
  return out;
}

/**
 * Throws, listing every check, unless |analytic − numeric| ≤ rtol · max(|analytic|, |numeric|)
 * + atol + roundoff for all checks; `atol` defaults to rtol × 1e-3 × the largest |analytic|,
 * so that directions with a near-zero derivative do not demand impossible relative accuracy.
 */
export function assertChecks(
  checks: readonly DirectionalCheck[],
  rtol = 1e-2,
  atol?: number,
): void {
  const scale = Math.max(...checks.map((c) => Math.abs(c.analytic)));
  const abs = atol ?? rtol * 1e-3 * scale;
  const bad = checks.filter(
    (c) =>
      !(
        Math.abs(c.analytic - c.numeric) <=
        rtol * Math.max(Math.abs(c.analytic), Math.abs(c.numeric)) + abs + c.roundoff
      ),
  );
  if (bad.length > 0 || scale === 0 || !Number.isFinite(scale)) {
    const rows = checks.map(
      (c) =>
        `${c.name}: analytic ${c.analytic.toExponential(4)} numeric ${c.numeric.toExponential(4)}`,
    );
    throw new Error(`second-order gradient check failed (rtol ${rtol}):\n${rows.join('\n')}`);
  }
}
