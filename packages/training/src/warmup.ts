/**
 * Linear learning-rate warm-up of score_sde's `optimization_manager` (Song et al. 2021,
 * App. H: "warm-up 5000 steps"): lr_t = lr · min(1, step / warmup), where `step` is the
 * number of updates already applied (0 for the first update). `warmup` ≤ 0 disables warm-up.
 *
 * @example
 * ```ts
 * warmupLr(2e-4, 5000, 0);    // 0
 * warmupLr(2e-4, 5000, 2500); // 1e-4
 * warmupLr(2e-4, 5000, 9000); // 2e-4
 * ```
 */
export function warmupLr(lr: number, warmup: number, step: number): number {
  if (!(warmup > 0)) return lr;
  return lr * Math.min(1, step / warmup);
}
