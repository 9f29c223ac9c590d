import { parseConfig, shapeError } from '@scorekit/core';
import { type } from 'arktype';

/**
 * Which samples of a dataset to use, as plain JSON: only `classes` (label indices, in
 * the dataset's order), at most `perClassLimit` of each class (the first ones), then skip
 * `offset` and keep at most `limit`. Applied in that order. Per-class selection serves the
 * class-wise metrics of Chao et al. 2022, §5 (CW-FID, CW-precision, …).
 *
 * @example
 * ```ts
 * selectionConfig({ classes: [3], limit: 100 }); // the first 100 cats
 * ```
 */
export const selectionConfig = type({
  'classes?': 'number.integer >= 0 []',
  'perClassLimit?': 'number.integer >= 0',
  offset: 'number.integer >= 0 = 0',
  'limit?': 'number.integer >= 0',
});

/**
 * A resolved {@link selectionConfig} (class-wise selection for Chao et al. 2022, §5 metrics).
 *
 * @example
 * ```ts
 * const sel: Selection = selectionConfig.assert({ classes: [3] }); // offset 0
 * ```
 */
export type Selection = typeof selectionConfig.infer;
/**
 * A {@link selectionConfig} as a user writes it (Chao et al. 2022, §5 class-wise use).
 *
 * @example
 * ```ts
 * const input: SelectionInput = { perClassLimit: 100 };
 * ```
 */
export type SelectionInput = typeof selectionConfig.inferIn;

/**
 * The dataset indices a selection keeps, ascending (see {@link selectionConfig}; class-wise
 * subsets of Chao et al. 2022, §5). Throws a `ConfigError` on an invalid selection and a
 * `ShapeError` for a class index that is out of range.
 *
 * @example
 * ```ts
 * selectIndices(Int32Array.from([0, 1, 0, 1]), 2, { classes: [1] }); // Int32Array [1, 3]
 * ```
 */
export function selectIndices(
  labels: Int32Array,
  numClasses: number,
  selection: SelectionInput = {},
): Int32Array {
  const sel = parseConfig(selectionConfig, selection, 'selection');
  const wanted = new Uint8Array(numClasses);
  if (sel.classes === undefined) wanted.fill(1);
  else
    for (const c of sel.classes) {
      if (c >= numClasses) shapeError('selection.classes', `0..${numClasses - 1}`, `${c}`);
      wanted[c] = 1;
    }
  const taken = new Array<number>(numClasses).fill(0);
  const cap = sel.perClassLimit ?? Number.POSITIVE_INFINITY;
  const kept: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (wanted[y] !== 1 || taken[y]! >= cap) continue;
    taken[y]!++;
    kept.push(i);
  }
  const end = sel.limit === undefined ? kept.length : sel.offset + sel.limit;
  return Int32Array.from(kept.slice(sel.offset, end));
}
