/** Per-class numbers of one method (Chao et al. 2022, Table 1 layout). */
export interface ClassScores {
  /** D_P: mean ‖S_P − oracle posterior score‖ over the grid at the evaluation σ. */
  readonly dP: number;
  /** D_L: mean ‖α g − oracle likelihood score‖ over the grid. */
  readonly dL: number;
  /** Precision and recall (k-NN manifolds) of the class samples. */
  readonly precision: number;
  readonly recall: number;
}

/** One row of the results table. */
export interface MethodResult {
  readonly method: string;
  readonly description: string;
  readonly perClass: readonly ClassScores[];
}

/** The name of the zero-gradient row of every D_L table. */
export const zeroGradientFloorLabel = 'Zero-gradient floor';

const f = (v: number, digits = 3) => (Number.isFinite(v) ? v.toFixed(digits) : String(v));

/**
 * The results as a Markdown table in the paper's layout: one row per method, D_P and D_L per
 * class (lower is better), then precision and recall per class (higher is better). Given
 * `zeroGradientFloor` (D_L per class of a classifier with zero input gradient: the oracle
 * likelihood score's mean norm, Chao et al. 2022 eq. 4 with ∇log p(y|x̃) = 0), a last row
 * shows that floor, so a reader sees how much of the error each method removes.
 *
 * @example
 * ```ts
 * console.log(markdownTable(results, 7.5));
 * ```
 */
export function markdownTable(
  results: readonly MethodResult[],
  sigma: number,
  zeroGradientFloor?: readonly number[],
): string {
  const classes = results[0]?.perClass.length ?? 0;
  const cols = ['D_P', 'D_L', 'Precision', 'Recall'] as const;
  const header = [
    'Method',
    ...cols.flatMap((c) => Array.from({ length: classes }, (_, k) => `${c} (c${k + 1})`)),
  ];
  const rows = results.map((r) => [
    r.method,
    ...r.perClass.map((s) => f(s.dP)),
    ...r.perClass.map((s) => f(s.dL)),
    ...r.perClass.map((s) => f(s.precision)),
    ...r.perClass.map((s) => f(s.recall)),
  ]);
  if (zeroGradientFloor)
    rows.push([
      zeroGradientFloorLabel,
      ...zeroGradientFloor.map(() => '—'),
      ...zeroGradientFloor.map((v) => f(v)),
      ...zeroGradientFloor.flatMap(() => ['—', '—']),
    ]);
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [
    `Score errors at σ = ${sigma} on the evaluation grid (lower is better) and sample precision / recall (higher is better).`,
    '',
    line(header),
    line(header.map((_, i) => (i === 0 ? '---' : '---:'))),
    ...rows.map(line),
  ].join('\n');
}

/**
 * The demo's one-line verdict: mean D_L (over classes) of ours (DLSM + λ·CE) and of base (CE)
 * beside the zero-gradient floor, and the share of that floor's error each removes
 * (1 − D_L / floor). Undefined if the table lacks either method.
 *
 * @example
 * ```ts
 * summaryLine(results, [1.2, 1.3], 0.125); // "Summary: mean D_L — ours … vs base … ; zero-gradient floor …"
 * ```
 */
export function summaryLine(
  results: readonly MethodResult[],
  zeroGradientFloor: readonly number[],
  lambda: number,
): string | undefined {
  const ours = results.find((r) => r.method === 'Ours');
  const base = results.find((r) => r.method === 'Base');
  if (!ours || !base) return undefined;
  const mean = (v: readonly number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const o = mean(ours.perClass.map((c) => c.dL));
  const b = mean(base.perClass.map((c) => c.dL));
  const floor = mean(zeroGradientFloor);
  const removed = (v: number) => `${(100 * (1 - v / floor)).toFixed(0)}%`;
  return (
    `Summary: mean D_L — ours (DLSM + ${lambda}·CE) ${o.toFixed(3)} vs base (CE) ${b.toFixed(3)}` +
    ` (${o < b ? 'lower, as in the paper' : 'NOT lower'}); zero-gradient floor ${floor.toFixed(3)}` +
    ` (ours removes ${removed(o)} of it, base ${removed(b)}).`
  );
}
