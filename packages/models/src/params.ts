import type { Params } from '@scorekit/core';
import type * as tf from '@tensorflow/tfjs-core';
import type { ModelVariables } from './model.js';
import type { VariableSpec } from './variables.js';

/**
 * The number of scalar parameters in a params record (Σ of tensor sizes).
 *
 * @example
 * ```ts
 * countParams(toyScoreModel().init(key(0)).params); // 44818
 * ```
 */
export function countParams(params: Params): number {
  let n = 0;
  for (const t of Object.values(params)) n += t.size;
  return n;
}

/**
 * The number of trainable scalars declared by variable specs — a network's parameter count
 * without allocating it (buffers such as running statistics and Fourier frequencies excluded).
 *
 * @example
 * ```ts
 * countSpecs(resnetClassifier().specs); // 11322634
 * ```
 */
export function countSpecs(specs: readonly VariableSpec[]): number {
  let n = 0;
  for (const s of specs) if (s.trainable) n += s.shape.reduce((a, b) => a * b, 1);
  return n;
}

const fmt = (n: number) => n.toLocaleString('en-US');

/**
 * A printable table of a model's variables — name, shape, size, and whether it is a buffer —
 * followed by totals (trainable parameters, buffer values, tensor counts).
 *
 * @example
 * ```ts
 * console.log(summary(model, model.init(key(0))));
 * ```
 */
export function summary(model: { readonly name: string }, vars: ModelVariables): string {
  const rows: [string, string, string, string][] = [];
  const add = (name: string, t: tf.Tensor, kind: string) =>
    rows.push([name, `[${t.shape.join(', ')}]`, fmt(t.size), kind]);
  for (const [name, t] of Object.entries(vars.params)) add(name, t, 'param');
  for (const [name, t] of Object.entries(vars.buffers)) add(name, t, 'buffer');
  const widths = [0, 1, 2].map((i) =>
    Math.max(...rows.map((r) => (r[i] as string).length), ['name', 'shape', 'size'][i]!.length),
  ) as [number, number, number];
  const line = (r: readonly string[]) =>
    `${r[0]!.padEnd(widths[0])}  ${r[1]!.padEnd(widths[1])}  ${r[2]!.padStart(widths[2])}  ${r[3]}`;
  const nParams = countParams(vars.params);
  const nBuffers = countParams(vars.buffers);
  return [
    `${model.name}`,
    line(['name', 'shape', 'size', 'kind']),
    ...rows.map(line),
    `trainable parameters: ${fmt(nParams)} in ${Object.keys(vars.params).length} tensors`,
    `buffers: ${fmt(nBuffers)} values in ${Object.keys(vars.buffers).length} tensors`,
  ].join('\n');
}

/**
 * Disposes every tensor of a model's variables (params and buffer variables).
 *
 * @example
 * ```ts
 * const vars = model.init(key(0));
 * disposeVariables(vars);
 * ```
 */
export function disposeVariables(vars: ModelVariables): void {
  for (const t of Object.values(vars.params)) t.dispose();
  for (const v of Object.values(vars.buffers)) v.dispose();
}
