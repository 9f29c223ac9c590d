/**
 * Wall-clock median of `repeats` calls of `step` after `warmup` untimed calls (kernel
 * compilation, allocation), in milliseconds — the timing of every scorekit benchmark (quote
 * results as ratios measured in one run: the machine is shared and noisy).
 *
 * @example
 * ```ts
 * const ms = medianMs(() => trainStep(params), 2, 5);
 * ```
 */
export function medianMs(step: () => void, warmup: number, repeats: number): number {
  for (let i = 0; i < warmup; i++) step();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(repeats / 2)]!;
}

/**
 * {@link medianMs} for steps that end in an async read (`await t.data()`): backends such as
 * webgpu have no synchronous read in Node, so their steps are timed awaited.
 */
export async function medianMsAsync(
  step: () => Promise<void>,
  warmup: number,
  repeats: number,
): Promise<number> {
  for (let i = 0; i < warmup; i++) await step();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await step();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(repeats / 2)]!;
}
