import type { BroadcastPlan, ReductionPlan } from './addon.js';

/**
 * The loop plan of a broadcasting binary op c = a ⊙ b (NumPy broadcasting, as
 * `tf.add`/`sub`/`mul`/`div`): the output dimensions, with size-1 dimensions dropped and
 * neighbours merged while neither operand changes between broadcast and not, padded in front
 * to four, followed by each operand's element strides (0 where it is broadcast). `undefined`
 * when more than four dimensions remain (the caller then uses the wasm kernel).
 *
 * @example
 * ```ts
 * broadcastPlan([32, 8, 8, 16], [16], [32, 8, 8, 16]);
 * // [1, 1, 1024, 16,  0, 0, 16, 1,  0, 0, 0, 1]: a row-wise op with b shared by every row
 * ```
 */
export function broadcastPlan(
  aShape: readonly number[],
  bShape: readonly number[],
  outShape: readonly number[],
): BroadcastPlan | undefined {
  const r = outShape.length;
  const padded = (s: readonly number[]) => [...new Array<number>(r - s.length).fill(1), ...s];
  const a = padded(aShape);
  const b = padded(bShape);
  const dims: { size: number; aBroadcast: boolean; bBroadcast: boolean }[] = [];
  for (let d = 0; d < r; d++) {
    const size = outShape[d]!;
    if (size === 1) continue;
    const aBroadcast = a[d] === 1;
    const bBroadcast = b[d] === 1;
    const last = dims.at(-1);
    if (last && last.aBroadcast === aBroadcast && last.bBroadcast === bBroadcast) last.size *= size;
    else dims.push({ size, aBroadcast, bBroadcast });
  }
  if (dims.length > 4) return undefined;
  while (dims.length < 4) dims.unshift({ size: 1, aBroadcast: true, bBroadcast: true });
  const strides = (broadcast: (d: (typeof dims)[number]) => boolean) => {
    const s = [0, 0, 0, 0];
    let stride = 1;
    for (let d = 3; d >= 0; d--) {
      if (broadcast(dims[d]!)) continue;
      s[d] = stride;
      stride *= dims[d]!.size;
    }
    return s;
  };
  return [
    ...dims.map((d) => d.size),
    ...strides((d) => d.aBroadcast),
    ...strides((d) => d.bBroadcast),
  ] as BroadcastPlan;
}

/**
 * The plan of a sum or mean over `axes` of a tensor of `shape`: size-1 dimensions dropped,
 * neighbours merged while both are kept or both reduced, padded in front to four, then a keep
 * flag per dimension (1 kept, 0 reduced). `undefined` for no axes or more than four
 * alternating dimensions, which the caller leaves to the wasm kernel.
 *
 * @example
 * ```ts
 * reductionPlan([32, 8, 8, 16], [0, 1, 2]); // [1, 1, 2048, 16,  1, 1, 0, 1]: a bias gradient
 * reductionPlan([2, 4, 4, 2, 8], [1, 2, 4]); // [2, 16, 2, 8,  1, 0, 1, 0]: group-norm moments
 * ```
 */
export function reductionPlan(
  shape: readonly number[],
  axes: readonly number[],
): ReductionPlan | undefined {
  if (axes.length === 0 || new Set(axes).size !== axes.length) return undefined;
  const dims: { size: number; kept: boolean }[] = [];
  shape.forEach((size, d) => {
    if (size === 1) return;
    const kept = !axes.includes(d);
    const last = dims.at(-1);
    if (last && last.kept === kept) last.size *= size;
    else dims.push({ size, kept });
  });
  if (dims.length > 4) return undefined;
  while (dims.length < 4) dims.unshift({ size: 1, kept: true });
  return [...dims.map((d) => d.size), ...dims.map((d) => (d.kept ? 1 : 0))] as ReductionPlan;
}
