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

const f = (v: number, digits = 3) => (Number.isFinite(v) ? v.toFixed(digits) : String(v));

/**
 * The results as a Markdown table in the paper's layout: one row per method, D_P and D_L per
 * class (lower is better), then precision and recall per class (higher is better).
 *
 * @example
 * ```ts
 * console.log(markdownTable(results, 7.5));
 * ```
 */
export function markdownTable(results: readonly MethodResult[], sigma: number): string {
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
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [
    `Score errors at σ = ${sigma} on the evaluation grid (lower is better) and sample precision / recall (higher is better).`,
    '',
    line(header),
    line(header.map((_, i) => (i === 0 ? '---' : '---:'))),
    ...rows.map(line),
  ].join('\n');
}
