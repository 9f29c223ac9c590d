import { describe, expect, it } from 'vitest';
import { parseArgs, parseRunFlags } from './cli.js';
import { presets } from './config.js';
import { markdownTable, summaryLine } from './report.js';
import { figure } from './svg.js';

describe('toy-moons CLI', () => {
  it('defaults to the quick preset and applies overrides', () => {
    expect(parseArgs([])).toEqual(presets.quick);
    const cfg = parseArgs([
      '--preset',
      'paper',
      '--seed',
      '3',
      '--set',
      'score.steps=10',
      '--alpha',
      '2',
    ]);
    if (cfg === 'help') throw new Error('unexpected help');
    expect(cfg.preset).toBe('paper');
    expect(cfg.seed).toBe(3);
    expect(cfg.score.steps).toBe(10);
    expect(cfg.score.batch).toBe(4000);
    expect(cfg.evaluation.alpha).toBe(2);
    expect(cfg.out).toBe('out/toy-moons-paper');
    // `npm run demo -- --preset paper` appends to the script's own `--preset quick`
    const later = parseArgs(['--preset', 'quick', '--preset', 'tiny']);
    expect(later !== 'help' && later.preset).toBe('tiny');
  });

  it('names the bad option or field', () => {
    expect(parseArgs(['--help'])).toBe('help');
    expect(() => parseArgs(['--preset', 'huge'])).toThrow(
      /--preset: expected quick, paper or tiny, got huge/,
    );
    expect(() => parseArgs(['--set', 'score.stepz=1'])).toThrow(/unknown field 'stepz'/);
    expect(() => parseArgs(['--set', 'score.steps=-1'])).toThrow(
      /score\.steps must be non-negative \(was -1\)/,
    );
    expect(() => parseArgs(['--bogus'])).toThrow(/unknown option --bogus/);
    expect(parseRunFlags(['--resume', '--jobs', '3'])).toEqual({
      resume: true,
      overwrite: false,
      jobs: 3,
    });
    expect(parseRunFlags([])).toEqual({ resume: false, overwrite: false, jobs: 2 });
    expect(() => parseRunFlags(['--jobs', '0'])).toThrow(
      /--jobs: expected an integer from 1 to 64, got 0/,
    );
    expect(() => parseRunFlags(['--jobs', 'Infinity'])).toThrow(/--jobs: .*got Infinity/);
  });

  it('the paper preset has the paper protocol', () => {
    const p = presets.paper;
    expect([p.score.batch, p.score.steps, p.score.lr, p.score.w]).toEqual([4000, 40000, 6.5e-4, 2]);
    expect([
      p.classifier.lrCe,
      p.classifier.lrDlsm,
      p.classifier.lrTotal,
      p.classifier.lambda,
    ]).toEqual([1e-5, 2e-5, 1e-5, 0.125]);
    expect([p.evaluation.sigma, p.evaluation.grid, p.evaluation.k]).toEqual([7.5, 35, 5]);
    expect([p.data.perClass, p.data.scale, p.sde.sigmaMin, p.sde.sigmaMax]).toEqual([
      5000, 20, 1e-3, 10,
    ]);
  });
});

describe('report and figures', () => {
  it('renders the table in the paper layout', () => {
    const md = markdownTable(
      [
        {
          method: 'Base',
          description: '',
          perClass: [
            { dP: 1, dL: 0.5, precision: 0.9, recall: 0.8 },
            { dP: 2, dL: 0.25, precision: 1, recall: 0.7 },
          ],
        },
      ],
      7.5,
    );
    expect(md).toContain(
      '| Method | D_P (c1) | D_P (c2) | D_L (c1) | D_L (c2) | Precision (c1) | Precision (c2) | Recall (c1) | Recall (c2) |',
    );
    expect(md).toContain(
      '| Base | 1.000 | 2.000 | 0.500 | 0.250 | 0.900 | 1.000 | 0.800 | 0.700 |',
    );
  });

  it('adds the zero-gradient floor row and puts it in the summary line', () => {
    const row = (method: string, dL: number) => ({
      method,
      description: '',
      perClass: [0, 1].map(() => ({ dP: 1, dL, precision: 1, recall: 1 })),
    });
    const results = [row('Base', 0.3), row('Ours', 0.1)];
    const md = markdownTable(results, 7.5, [0.2, 0.2]);
    expect(md.split('\n').at(-1)).toBe(
      '| Zero-gradient floor | — | — | 0.200 | 0.200 | — | — | — | — |',
    );
    expect(summaryLine(results, [0.2, 0.2], 0.125)).toBe(
      'Summary: mean D_L — ours (DLSM + 0.125·CE) 0.100 vs base (CE) 0.300 (lower, as in the paper); zero-gradient floor 0.200 (ours removes 50% of it, base -50%).',
    );
    expect(summaryLine([row('Base', 0.3)], [0.2, 0.2], 0.125)).toBeUndefined();
  });

  it('writes a standalone SVG with one group per panel', () => {
    const extent = { xMin: 0, xMax: 1, yMin: 0, yMax: 1 };
    const svg = figure(
      [
        {
          kind: 'scatter',
          title: 'a & b',
          extent,
          series: [{ label: 's', color: 'red', xs: [0.5], ys: [0.5] }],
        },
        {
          kind: 'lines',
          title: 'c',
          xLabel: 'x',
          yLabel: 'y',
          series: [{ label: 'l', color: 'blue', xs: [0, 1], ys: [1, 2] }],
        },
      ],
      2,
    );
    expect(svg.startsWith('<?xml')).toBe(true);
    expect(svg.match(/<g transform=/g)).toHaveLength(2);
    expect(svg).toContain('a &amp; b');
    expect(svg).toContain('<circle');
    expect(svg).toContain('<polyline');
  });
});
