import { type ConditionalScoreFn, shapeError } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { type PointSet, pointsOfClass } from './pointSet.js';

/**
 * Data points for a Parzen density (Chao et al. 2022, §6 oracle): row-major float32
 * [count, dim] on the host.
 *
 * @example
 * ```ts
 * const pts: Points = { x: Float32Array.of(0, 0, 1, 1), dim: 2 };
 * ```
 */
export interface Points {
  readonly x: Float32Array;
  readonly dim: number;
}

/**
 * Chunking of the Parzen computations (Chao et al. 2022, §6 oracle): memory is bounded
 * whatever the sizes.
 *
 * @example
 * ```ts
 * parzenScore(moons, grid, 7.5, { queryChunk: 128, chunkElements: 2 ** 18 });
 * ```
 */
export interface ParzenOptions {
  /** Queries per chunk (default 256). */
  readonly queryChunk?: number;
  /** Most elements of one [queries, points] logit tensor (default 2¹⁹). */
  readonly chunkElements?: number;
}

/**
 * The sufficient statistics of the Parzen oracle (Chao et al. 2022, §6):
 * log Σ_i exp(−‖x̃ − x_i‖²/(2σ²)) and the softmax-weighted mean Σ_i w_i x_i for each query,
 * streamed over point chunks with a running log-sum-exp (max-shifted), query chunk by query
 * chunk. Owned tensors [M] and [M, d].
 *
 * @example
 * ```ts
 * const { lse, mean } = parzenStats(moons, grid, 7.5);
 * tf.dispose([lse, mean]);
 * ```
 */
export function parzenStats(
  points: Points,
  queries: tf.Tensor2D,
  sigma: number,
  options: ParzenOptions = {},
): { readonly lse: tf.Tensor1D; readonly mean: tf.Tensor2D } {
  const d = points.dim;
  const n = points.x.length / d;
  if (!Number.isInteger(n) || n === 0)
    shapeError('Parzen points', `a non-empty [N, ${d}] array`, `${points.x.length} values`);
  if (queries.shape[1] !== d) shapeError('Parzen queries', `[M, ${d}]`, `[${queries.shape}]`);
  if (!(sigma > 0)) shapeError('Parzen sigma', 'σ > 0', `${sigma}`);
  const m = queries.shape[0];
  const queryChunk = Math.max(1, Math.min(m, options.queryChunk ?? 256));
  const budget = options.chunkElements ?? 2 ** 19;
  const pointChunk = Math.max(1, Math.min(n, Math.floor(budget / queryChunk)));
  const scale = -1 / (2 * sigma * sigma);
  const lses: tf.Tensor1D[] = [];
  const means: tf.Tensor2D[] = [];
  for (let q0 = 0; q0 < m; q0 += queryChunk) {
    const mc = Math.min(queryChunk, m - q0);
    const q = tf.slice(queries, [q0, 0], [mc, d]);
    let runMax: tf.Tensor1D = tf.fill([mc], Number.NEGATIVE_INFINITY) as tf.Tensor1D;
    let runSum: tf.Tensor1D = tf.zeros([mc]) as tf.Tensor1D;
    let runVec: tf.Tensor2D = tf.zeros([mc, d]) as tf.Tensor2D;
    for (let p0 = 0; p0 < n; p0 += pointChunk) {
      const nc = Math.min(pointChunk, n - p0);
      const next = tf.tidy(() => {
        const p = tf.tensor2d(points.x.subarray(p0 * d, (p0 + nc) * d), [nc, d]);
        // ‖q − p‖² dimension by dimension with 2-D broadcasts (exact differences, no
        // ‖q‖² + ‖p‖² − 2q·p cancellation; faster on wasm than one [mc, nc, d] tensor).
        let dist: tf.Tensor | undefined;
        for (let j = 0; j < d; j++) {
          const qj = tf.slice(q, [0, j], [mc, 1]);
          const pj = tf.reshape(tf.slice(p, [0, j], [nc, 1]), [1, nc]);
          const sq = tf.square(tf.sub(qj, pj));
          dist = dist === undefined ? sq : tf.add(dist, sq);
        }
        const logits = tf.mul(dist!, scale) as tf.Tensor2D; // [mc, nc]
        const newMax = tf.maximum(runMax, tf.max(logits, 1)) as tf.Tensor1D;
        const w = tf.exp(tf.sub(logits, tf.expandDims(newMax, 1))) as tf.Tensor2D;
        const decay = tf.exp(tf.sub(runMax, newMax));
        const sum = tf.add(tf.mul(runSum, decay), tf.sum(w, 1)) as tf.Tensor1D;
        const vec = tf.add(tf.mul(runVec, tf.expandDims(decay, 1)), tf.matMul(w, p)) as tf.Tensor2D;
        return [newMax, sum, vec] as const;
      });
      tf.dispose([runMax, runSum, runVec]);
      [runMax, runSum, runVec] = next;
    }
    const [lse, mean] = tf.tidy(() => [
      tf.add(runMax, tf.log(runSum)) as tf.Tensor1D,
      tf.div(runVec, tf.expandDims(runSum, 1)) as tf.Tensor2D,
    ]);
    tf.dispose([q, runMax, runSum, runVec]);
    lses.push(lse);
    means.push(mean);
  }
  const out = tf.tidy(() => ({
    lse: tf.concat(lses, 0) as tf.Tensor1D,
    mean: tf.concat(means, 0) as tf.Tensor2D,
  }));
  tf.dispose([...lses, ...means]);
  return out;
}

/**
 * log p_σ(x̃) of the Parzen (σ-smoothed empirical) density p_σ(x̃) = (1/N) Σ_i N(x̃; x_i, σ²I)
 * (Vincent 2011; Chao et al. 2022, §6 oracle), per query: [M] float32, owned by the caller.
 *
 * @example
 * ```ts
 * const logp = parzenLogDensity(moons, grid, 7.5); // grid [1225, 2] → [1225]
 * ```
 */
export function parzenLogDensity(
  points: Points,
  queries: tf.Tensor2D,
  sigma: number,
  options: ParzenOptions = {},
): tf.Tensor1D {
  const n = points.x.length / points.dim;
  const { lse, mean } = parzenStats(points, queries, sigma, options);
  const c = -Math.log(n) - (points.dim / 2) * Math.log(2 * Math.PI * sigma * sigma);
  const out = tf.tidy(() => tf.add(lse, c) as tf.Tensor1D);
  tf.dispose([lse, mean]);
  return out;
}

/**
 * The exact score of the Parzen density, ∇ log p_σ(x̃) = Σ_i w_i (x_i − x̃)/σ² with
 * w = softmax_i(−‖x̃ − x_i‖²/(2σ²)) (the oracle of Chao et al. 2022, §6), computed stably
 * (log-sum-exp) in chunks: [M, d] float32, owned by the caller.
 *
 * @example
 * ```ts
 * const s = parzenScore(moons, grid, 7.5); // [1225, 2]
 * ```
 */
export function parzenScore(
  points: Points,
  queries: tf.Tensor2D,
  sigma: number,
  options: ParzenOptions = {},
): tf.Tensor2D {
  const { lse, mean } = parzenStats(points, queries, sigma, options);
  const out = tf.tidy(() => tf.div(tf.sub(mean, queries), sigma * sigma) as tf.Tensor2D);
  tf.dispose([lse, mean]);
  return out;
}

/**
 * The oracle scores of a labelled point set at noise level σ (Chao et al. 2022, §6, and
 * eq. 2, ∇ log p(x̃|y) = ∇ log p(y|x̃) + ∇ log p(x̃)), all float32 tensors owned by the caller:
 * - `prior` [M, d]: ∇ log p_σ(x̃) of all points;
 * - `posterior[c]` [M, d]: ∇ log p_σ(x̃ | y = c), the Parzen score of class c's points;
 * - `likelihood[c]` [M, d]: ∇ log p_σ(y = c | x̃) = posterior[c] − prior;
 * - `logPosterior` [M, C]: log p_σ(y = c | x̃), the oracle classifier.
 * One pass over the points: the prior comes from the class statistics,
 * ∇ log p = Σ_c p(c|x̃) ∇ log p(x̃|c). Dispose with {@link disposeOracle}.
 *
 * @example
 * ```ts
 * const o = oracleScores(twoMoons(), grid, 7.5);
 * disposeOracle(o);
 * ```
 */
export function oracleScores(
  set: PointSet,
  queries: tf.Tensor2D,
  sigma: number,
  options: ParzenOptions = {},
): OracleScores {
  const numClasses = set.classNames.length;
  const d = set.dim;
  const byClass: { x: Float32Array; dim: number }[] = Array.from({ length: numClasses }, () => ({
    x: new Float32Array(0),
    dim: d,
  }));
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < set.count; i++) {
    const y = set.labels[i]!;
    if (!(y >= 0 && y < numClasses))
      shapeError(`oracleScores labels[${i}]`, `0..${numClasses - 1}`, `${y}`);
    counts[y]!++;
  }
  const fill = counts.map(() => 0);
  for (let c = 0; c < numClasses; c++) byClass[c] = { x: new Float32Array(counts[c]! * d), dim: d };
  for (let i = 0; i < set.count; i++) {
    const c = set.labels[i]!;
    byClass[c]!.x.set(set.x.subarray(i * d, (i + 1) * d), fill[c]! * d);
    fill[c]!++;
  }
  const empty = counts.indexOf(0);
  if (empty >= 0) shapeError('oracleScores', `points of every class`, `none of class ${empty}`);
  const stats = byClass.map((pts) => parzenStats(pts, queries, sigma, options));
  const out = tf.tidy(() => {
    const inv = 1 / (sigma * sigma);
    const posterior = stats.map((s) => tf.mul(tf.sub(s.mean, queries), inv) as tf.Tensor2D);
    const lse = tf.stack(
      stats.map((s) => s.lse),
      1,
    ) as tf.Tensor2D; // [M, C]
    const logPosterior = tf.sub(lse, tf.logSumExp(lse, 1, true)) as tf.Tensor2D;
    const weights = tf.exp(logPosterior);
    const prior = tf.addN(
      posterior.map((s, c) => tf.mul(s, tf.slice(weights, [0, c], [-1, 1]))),
    ) as tf.Tensor2D;
    const likelihood = posterior.map((s) => tf.sub(s, prior) as tf.Tensor2D);
    return { prior, posterior, likelihood, logPosterior };
  });
  tf.dispose(stats.flatMap((s) => [s.lse, s.mean]));
  return out;
}

/**
 * What {@link oracleScores} returns (tensors owned by the caller): the prior, posterior and
 * likelihood scores of Chao et al. 2022, eq. 2, and the oracle classifier log p(y|x̃).
 *
 * @example
 * ```ts
 * const o: OracleScores = oracleScores(moons, grid, 7.5);
 * ```
 */
export interface OracleScores {
  readonly prior: tf.Tensor2D;
  readonly posterior: readonly tf.Tensor2D[];
  readonly likelihood: readonly tf.Tensor2D[];
  readonly logPosterior: tf.Tensor2D;
}

/**
 * Disposes every tensor of an {@link OracleScores} (Chao et al. 2022, §6 oracle).
 *
 * @example
 * ```ts
 * disposeOracle(oracleScores(moons, grid, 7.5));
 * ```
 */
export function disposeOracle(o: OracleScores): void {
  tf.dispose([o.prior, ...o.posterior, ...o.likelihood, o.logPosterior]);
}

/**
 * The exact conditional scores of the σ-smoothed empirical densities, as the
 * `ConditionalScoreFn`s (x̃, t, y) that samplers and metrics' `scoreErrors` take (the toy
 * oracle of method.md §6, Chao et al. 2022 §5.1): `posterior` = ∇ log p_σ(x̃ | y), the Parzen
 * score of class y's points, and `likelihood` = ∇ log p_σ(y | x̃) = ∇ log p_σ(x̃ | y) −
 * ∇ log p_σ(x̃) (Bayes). σ is fixed, so t is ignored. Every call must label its whole batch
 * with one class (as `scoreErrors` and class-conditional sampling do); mixed labels are refused.
 *
 * @example
 * ```ts
 * const oracle = parzenConditionalScores(twoMoons(), 7.5);
 * scoreErrors(model, oracle, grid, { sigma: 7.5, sde });
 * ```
 */
export function parzenConditionalScores(
  set: PointSet,
  sigma: number,
): { readonly posterior: ConditionalScoreFn; readonly likelihood: ConditionalScoreFn } {
  const classes = set.classNames.map((_, c) => pointsOfClass(set, c));
  const classOf = (y: tf.Tensor1D): PointSet => {
    const labels = y.dataSync();
    const c = labels[0]!;
    for (let i = 1; i < labels.length; i++)
      if (labels[i] !== c)
        shapeError('parzenConditionalScores: labels', `one class per batch (${c})`, `${labels[i]}`);
    const points = classes[c];
    if (points === undefined)
      shapeError('parzenConditionalScores: label', `0..${classes.length - 1}`, `${c}`);
    return points;
  };
  return {
    posterior: (x, _t, y) => parzenScore(classOf(y), x as tf.Tensor2D, sigma),
    likelihood: (x, _t, y) =>
      tf.tidy(() =>
        tf.sub(
          parzenScore(classOf(y), x as tf.Tensor2D, sigma),
          parzenScore(set, x as tf.Tensor2D, sigma),
        ),
      ),
  };
}
