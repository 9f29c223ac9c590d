import * as tf from '@tensorflow/tfjs-core';
import { setupBackend } from './backend.js';

/**
 * Enters a phase that reads tensors synchronously (metrics, figures: `dataSync` is impossible
 * on webgpu in Node). On webgpu: reads every tensor of `keep` once with `await data()` — which
 * leaves a host copy, so tfjs can move it — and makes `fallback` (default wasm, else cpu) the
 * current backend; the kept tensors move there on first use. On any other backend: nothing.
 *
 * @returns a log line naming the switch, or `null` when nothing changed.
 *
 * @example
 * ```ts
 * const note = await syncReadPhase([grid, ...Object.values(params)]);
 * if (note) log(note); // "evaluation reads synchronously: webgpu → wasm (…)"
 * ```
 */
export async function syncReadPhase(
  keep: readonly tf.Tensor[],
  fallback: 'wasm' | 'cpu' = 'wasm',
): Promise<string | null> {
  if (tf.getBackend() !== 'webgpu') return null;
  for (const t of keep) if (!t.isDisposed) await t.data();
  let name: string = fallback;
  try {
    await setupBackend({ backend: fallback });
  } catch {
    name = 'cpu';
    await setupBackend({ backend: 'cpu' });
  }
  return `this phase reads tensors synchronously, which webgpu cannot do in Node: webgpu → ${name} (${keep.length} tensors carried over through host copies)`;
}
