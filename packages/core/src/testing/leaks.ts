import * as tf from '@tensorflow/tfjs-core';

/** The number of live tfjs tensors in the shared engine. */
export function liveTensors(): number {
  return tf.memory().numTensors;
}

/**
 * Runs `fn` and throws if the number of live tensors afterwards differs from before: the
 * tensor-ownership check every scorekit test uses.
 *
 * @example
 * ```ts
 * const y = expectNoLeaks(() => tf.tidy(() => tf.add(1, 2).dataSync()[0]));
 * ```
 */
export function expectNoLeaks<T>(fn: () => T): T {
  const before = liveTensors();
  const out = fn();
  assertCount(before);
  return out;
}

/** The async form of {@link expectNoLeaks}. */
export async function expectNoLeaksAsync<T>(fn: () => Promise<T>): Promise<T> {
  const before = liveTensors();
  const out = await fn();
  assertCount(before);
  return out;
}

function assertCount(before: number): void {
  const after = liveTensors();
  if (after !== before) {
    throw new Error(
      `tensor leak: ${before} live tensors before, ${after} after (${after - before})`,
    );
  }
}
