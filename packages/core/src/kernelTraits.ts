import { getBackend, getKernel } from '@tensorflow/tfjs-core';

/**
 * The mark a backend's `BatchMatMul` kernel function carries (as a property set to `true`) when
 * multiplying by transposed operands (`transposeA`/`transposeB`) costs no more than plain
 * products — true of `@scorekit/native`'s oneDNN matmul, not of tfjs-backend-wasm's own, which
 * runs them several times slower than an explicit transpose followed by a plain product. A
 * global symbol, so a kernel package can set it without depending on core.
 *
 * @example
 * ```ts
 * registerKernel({ kernelName: 'BatchMatMul', backendName: 'wasm',
 *   kernelFunc: Object.assign(myMatMul, { [transposeFreeMatMul]: true }) });
 * ```
 */
export const transposeFreeMatMul: unique symbol = Symbol.for('@scorekit/transposeFreeMatMul');

/**
 * Whether the `BatchMatMul` kernel of `backendName` (default: the active backend) carries
 * {@link transposeFreeMatMul}: layers then write x Wᵀ as `matMul(x, W, false, true)` instead of
 * transposing W first (used by the dense layers' gradients, the backward pass of y = x W).
 *
 * @example
 * ```ts
 * const y = matMulTransposesAreFree() ? tf.matMul(dy, w, false, true) : tf.matMul(dy, tf.transpose(w));
 * ```
 */
export function matMulTransposesAreFree(backendName: string = getBackend()): boolean {
  const kernel = getKernel('BatchMatMul', backendName);
  const func = kernel?.kernelFunc as { [transposeFreeMatMul]?: boolean } | undefined;
  return func?.[transposeFreeMatMul] === true;
}
