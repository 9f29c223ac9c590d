import { type } from 'arktype';

/**
 * Config of the VE SDE (Song et al. 2021, eq. 9, App. C): σ(t) = σ_min (σ_max/σ_min)^t.
 * Defaults are the paper's CIFAR-10 values (σ_min 0.01, σ_max 50, N 1000).
 */
export const veSdeConfig = type({
  kind: "'ve'",
  sigmaMin: 'number > 0 = 0.01',
  sigmaMax: 'number > 0 = 50',
  N: 'number.integer > 0 = 1000',
}).narrow(
  (c, ctx) =>
    c.sigmaMin < c.sigmaMax ||
    ctx.reject({
      path: ['sigmaMin'],
      expected: `less than sigmaMax (${c.sigmaMax})`,
      actual: String(c.sigmaMin),
    }),
);

const vpFields = {
  beta0: 'number >= 0 = 0.1',
  beta1: 'number > 0 = 20',
  N: 'number.integer > 0 = 1000',
} as const;

const betaOrder = (c: { beta0: number; beta1: number }, ctx: { reject: (x: object) => false }) =>
  c.beta0 < c.beta1 ||
  ctx.reject({
    path: ['beta0'],
    expected: `less than beta1 (${c.beta1})`,
    actual: String(c.beta0),
  });

/** Config of the VP SDE (Song et al. 2021, eq. 11): β(t) = β₀ + t (β₁ − β₀); β₀ 0.1, β₁ 20. */
export const vpSdeConfig = type({ kind: "'vp'", ...vpFields }).narrow(betaOrder);

/** Config of the sub-VP SDE (Song et al. 2021, eq. 12), same β schedule as VP. */
export const subVpSdeConfig = type({ kind: "'subvp'", ...vpFields }).narrow(betaOrder);

/** Any SDE config, discriminated by `kind`. */
export const sdeConfig = veSdeConfig.or(vpSdeConfig).or(subVpSdeConfig);

export type VeSdeConfig = typeof veSdeConfig.infer;
export type VpSdeConfig = typeof vpSdeConfig.infer;
export type SubVpSdeConfig = typeof subVpSdeConfig.infer;
export type SdeConfig = typeof sdeConfig.infer;
/** An SDE config as a user writes it: every field but `kind` optional. */
export type SdeConfigInput = typeof sdeConfig.inferIn;
