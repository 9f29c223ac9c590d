import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { unwrap } from '@scorekit/core';
import { writeDirAtomic, writeFileDurable } from '@scorekit/training';
import type { ToyConfig } from './config.js';
import type { ClassifierMethod, ToyRun } from './pipeline.js';
import { markdownTable, zeroGradientFloorLabel } from './report.js';
import { type Extent, figure, type Panel, type Series } from './svg.js';

const CLASS_COLORS = ['#d62728', '#1f77b4'] as const;
const METHOD_COLORS: Record<ClassifierMethod, string> = {
  crossEntropy: '#ff7f0e',
  dlsm: '#2ca02c',
  total: '#9467bd',
};

const split2 = (xy: Float32Array) => {
  const n = xy.length / 2;
  const xs = new Float32Array(n);
  const ys = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    xs[i] = xy[2 * i]!;
    ys[i] = xy[2 * i + 1]!;
  }
  return { xs, ys };
};

/**
 * Writes results.json, results.md, config.json, samples.svg, likelihood-field.svg and, in
 * learning-curve mode, learning-curve.svg as one folder `cfg.out`, atomically: the files are
 * written into a temporary folder beside it, which is renamed into place (replacing a previous
 * results folder), so a reader or a crash never sees half a set. Returns the paths written.
 */
export async function writeOutputs(
  cfg: ToyConfig,
  run: ToyRun,
  meta: { backend: string; seconds: number },
): Promise<string[]> {
  const out = resolve(cfg.out);
  await mkdir(dirname(out), { recursive: true });
  const contents: Array<[string, string]> = [];
  const put = async (name: string, text: string) => {
    contents.push([name, text]);
  };
  await put('config.json', `${JSON.stringify(cfg, null, 2)}\n`);
  await put(
    'results.json',
    `${JSON.stringify(
      {
        paper:
          'Chao et al., Denoising Likelihood Score Matching for Conditional Score-based Data Generation (ICLR 2022), §5.1',
        preset: cfg.preset,
        seed: cfg.seed,
        backend: meta.backend,
        wallSeconds: meta.seconds,
        evaluation: {
          sigma: cfg.evaluation.sigma,
          grid: cfg.evaluation.grid,
          k: cfg.evaluation.k,
          alpha: cfg.evaluation.alpha,
        },
        results: run.results,
        zeroGradientFloor: run.zeroGradientFloor,
        finalTrainingLosses: run.finalLosses,
        learningCurves: run.learningCurves,
        timings: run.timings,
        trainingCpuSeconds: run.cpuSeconds,
      },
      null,
      2,
    )}\n`,
  );
  const md = [
    `# Two moons (Chao et al. 2022, §5.1) — preset ${cfg.preset}, seed ${cfg.seed}, backend ${meta.backend}`,
    '',
    markdownTable(run.results, cfg.evaluation.sigma, run.zeroGradientFloor),
    '',
    ...run.results.map((r) => `- **${r.method}**: ${r.description}`),
    `- **${zeroGradientFloorLabel}**: D_L of a classifier with zero input gradient (the oracle likelihood score's mean norm on the grid): the error a useless classifier already has`,
    '',
    `Wall time ${meta.seconds.toFixed(0)} s. Stages: ${Object.entries(run.timings)
      .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
      .join(', ')}.`,
    '',
  ].join('\n');
  await put('results.md', md);

  const extent: Extent = { xMin: -40, xMax: 40, yMin: -25, yMax: 25 };
  const data: Series[] = run.figures.points.map((p, c) => ({
    label: `class ${c + 1} data`,
    color: CLASS_COLORS[c]!,
    ...split2(p),
  }));
  const samplePanels: Panel[] = [
    { kind: 'scatter', title: 'data (σ = 0)', extent, series: data },
    ...run.figures.samples.map((s) => ({
      kind: 'scatter' as const,
      title: `${s.method}: samples at σ = ${cfg.evaluation.sigma}`,
      extent,
      series: s.perClass.map((xy, c) => ({
        label: `class ${c + 1}`,
        color: CLASS_COLORS[c]!,
        ...split2(xy),
      })),
    })),
  ];
  await put(
    'samples.svg',
    figure(
      samplePanels,
      4,
      `Class-conditional samples per method (Langevin at σ = ${cfg.evaluation.sigma})`,
    ),
  );

  const g = split2(run.figures.grid);
  const oracle = run.figures.fields.find((f) => f.method === 'Oracle');
  const fieldPanels: Panel[] = [];
  for (const c of [0, 1]) {
    for (const f of run.figures.fields) {
      if (f.method === 'Oracle' || !oracle) continue;
      const truth = split2(oracle.perClass[c]!);
      const model = split2(f.perClass[c]!);
      fieldPanels.push({
        kind: 'quiver',
        title: `${f.method}, class ${c + 1}`,
        extent,
        fields: [
          { label: 'oracle', color: '#999999', x: g.xs, y: g.ys, u: truth.xs, v: truth.ys },
          { label: 'α g', color: CLASS_COLORS[c]!, x: g.xs, y: g.ys, u: model.xs, v: model.ys },
        ],
      });
    }
  }
  await put(
    'likelihood-field.svg',
    figure(
      fieldPanels,
      5,
      `Likelihood score α∇log p(y|x̃, σ) vs the oracle's at σ = ${cfg.evaluation.sigma}`,
    ),
  );

  const curves = Object.entries(run.learningCurves) as Array<
    [ClassifierMethod, { step: number; dL: number; crossEntropy: number }[]]
  >;
  if (curves.length > 0) {
    const panels: Panel[] = [
      {
        kind: 'lines',
        title: 'D_L during training',
        xLabel: 'step',
        yLabel: 'D_L',
        series: curves.map(([m, pts]) => ({
          label: m,
          color: METHOD_COLORS[m],
          xs: pts.map((p) => p.step),
          ys: pts.map((p) => p.dL),
        })),
      },
      {
        kind: 'lines',
        title: 'cross-entropy (held-out noisy points)',
        xLabel: 'step',
        yLabel: 'CE',
        series: curves.map(([m, pts]) => ({
          label: m,
          color: METHOD_COLORS[m],
          xs: pts.map((p) => p.step),
          ys: pts.map((p) => p.crossEntropy),
        })),
      },
    ];
    await put(
      'learning-curve.svg',
      figure(panels, 2, 'Learning curves (cf. Chao et al. 2022, Fig. 5)'),
    );
  }
  await unwrap(
    writeDirAtomic(out, (tmp) => async () => {
      for (const [name, text] of contents) {
        const written = await writeFileDurable(join(tmp, name), text)();
        if (written._tag === 'Left') return written;
      }
      return { _tag: 'Right', right: undefined };
    }),
  );
  return contents.map(([name]) => join(out, name));
}
