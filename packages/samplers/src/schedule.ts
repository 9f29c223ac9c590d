import {
  ddpmBetas,
  geometricSigmas,
  makeSde,
  ScorekitException,
  type Sde,
  type SdeConfig,
  timestepIndex,
} from '@scorekit/core';

/**
 * The discrete noise tables behind the SMLD / DDPM samplers for an SDE with N steps (Song et al.
 * 2021, App. B, E and F): time t maps to index i = round(t (N−1) / T) (core's
 * `timestepIndex`, the convention of core's `discretize`), VE has the geometric table σ_i,
 * VP and sub-VP the DDPM table β_i = linspace(β₀/N, β₁/N, N) and α_i = 1 − β_i.
 *
 * @example
 * ```ts
 * const s = discreteSchedule(veSde({ sigmaMin: 0.01, sigmaMax: 50, N: 1000 }), 1000);
 * s.sigma(s.index(1)); // 50
 * s.sigma(-1); // 0: below the first level
 * ```
 */
export interface DiscreteSchedule {
  readonly N: number;
  /** The table index of time t. */
  index(t: number): number;
  /** σ_i of the VE table; 0 for i < 0. Throws for VP / sub-VP. */
  sigma(i: number): number;
  /** β_i of the DDPM table. Throws for VE. */
  beta(i: number): number;
  /**
   * The Langevin step factor of score_sde's correctors: 1 for VE, α_i = 1 − β_i for VP and
   * sub-VP (Song et al. 2021, App. G; score_sde `sde.alphas`, the per-step α, not ᾱ).
   */
  alpha(i: number): number;
}

/**
 * The resolved config of an SDE built by `@scorekit/core` (Song et al. 2021, §3.4), if it has one.
 *
 * @example
 * ```ts
 * sdeConfigOf(vpSde({ N: 100 })); // { kind: 'vp', beta0: 0.1, beta1: 20, N: 100 }
 * ```
 */
export function sdeConfigOf(sde: Sde): SdeConfig | undefined {
  const config = (sde as { readonly config?: SdeConfig }).config;
  return config !== undefined && config.kind === sde.kind ? config : undefined;
}

const configError = (message: string, path: string): never => {
  throw new ScorekitException({ _tag: 'ConfigError', message, path });
};

/**
 * The same SDE discretised with `N` steps: `sde` itself when N equals `sde.N`, otherwise rebuilt
 * from its config (so that `discretize` uses an N-step table, as a sampler with N steps needs).
 *
 * @example
 * ```ts
 * withSteps(veSde({ N: 1000 }), 100).N; // 100
 * ```
 */
export function withSteps(sde: Sde, N: number, what = 'sampler'): Sde {
  if (N === sde.N) return sde;
  const config = sdeConfigOf(sde);
  if (config === undefined)
    return configError(
      `${what}: N must equal sde.N (${sde.N}) for an SDE without a config (got ${N})`,
      'N',
    );
  return makeSde({ ...config, N });
}

/**
 * Builds the {@link DiscreteSchedule} of `sde` with `N` steps (Song et al. 2021, App. B: the SMLD
 * σ table and the DDPM β table), computed in float64 on the host.
 *
 * @example
 * ```ts
 * discreteSchedule(vpSde({ N: 1000 }), 1000).alpha(999); // 1 − 20/1000
 * ```
 */
export function discreteSchedule(sde: Sde, N: number): DiscreteSchedule {
  const config = sdeConfigOf(sde);
  const index = (t: number) => Math.min(N - 1, Math.max(0, timestepIndex(t, N, sde.T)));
  if (config?.kind === 've') {
    const sigmas = geometricSigmas(config.sigmaMin, config.sigmaMax, N);
    return {
      N,
      index,
      sigma: (i) => (i < 0 ? 0 : sigmas[Math.min(i, N - 1)]!),
      beta: () => configError('schedule: the VE SDE has no β table', 'kind'),
      alpha: () => 1,
    };
  }
  if (config?.kind === 'vp' || config?.kind === 'subvp') {
    const betas = ddpmBetas(config.beta0, config.beta1, N);
    const beta = (i: number) => betas[Math.min(Math.max(i, 0), N - 1)]!;
    return {
      N,
      index,
      sigma: () => configError(`schedule: the ${config.kind} SDE has no σ table`, 'kind'),
      beta,
      alpha: (i) => 1 - beta(i),
    };
  }
  const missing = () =>
    configError(`schedule: the ${sde.kind} SDE has no config to build discrete tables`, 'sde');
  return {
    N,
    index,
    sigma: missing,
    beta: missing,
    alpha: sde.kind === 've' ? () => 1 : missing,
  };
}
