import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { presets, runToyMoons, writeOutputs } from '@scorekit/example-toy-moons';
import { afterAll, describe, expect, it } from 'vitest';

const out = mkdtempSync(join(tmpdir(), 'scorekit-toy-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('toy moons end to end (tiny preset)', () => {
  it("reproduces the direction of the paper's finding and writes its files", async () => {
    const cfg = { ...presets.tiny, out, quiet: true, learningCurve: { every: 100 } };
    const run = await runToyMoons(cfg);
    const byMethod = Object.fromEntries(run.results.map((r) => [r.method, r]));
    const meanDl = (m: string) => byMethod[m]!.perClass.reduce((s, c) => s + c.dL, 0) / 2;

    // the oracle is the reference: its errors vanish (up to float error)
    for (const c of byMethod['Oracle']!.perClass) {
      expect(c.dP).toBeLessThan(1e-5);
      expect(c.dL).toBeLessThan(1e-5);
    }
    // the zero-gradient floor is the oracle likelihood score's mean norm on the same grid and σ:
    // a classifier whose likelihood score is 0 everywhere has exactly that D_L
    expect(run.zeroGradientFloor).toHaveLength(2);
    for (const [c, floor] of run.zeroGradientFloor.entries()) {
      const field = run.figures.fields.find((f) => f.method === 'Oracle')!.perClass[c]!;
      let sum = 0;
      for (let i = 0; i < field.length; i += 2) sum += Math.hypot(field[i]!, field[i + 1]!);
      expect(floor).toBeCloseTo(sum / (field.length / 2), 4);
      expect(floor).toBeGreaterThan(0);
    }
    // the paper's finding: the DLSM-total classifier's likelihood score is closer to the
    // oracle's than the CE classifier's
    expect(meanDl('Ours')).toBeLessThan(meanDl('Base'));
    for (const r of run.results) {
      for (const c of r.perClass) {
        for (const v of [c.dP, c.dL, c.precision, c.recall]) expect(Number.isFinite(v)).toBe(true);
        expect(c.precision).toBeGreaterThanOrEqual(0);
        expect(c.recall).toBeLessThanOrEqual(1);
      }
    }

    // learning-curve mode (Fig. 5): D_L and held-out CE at steps 0, 100, 200 for each objective
    for (const m of ['crossEntropy', 'dlsm', 'total'] as const) {
      const curve = run.learningCurves[m]!;
      expect(curve.map((p) => p.step)).toEqual([0, 100, 200]);
      for (const p of curve)
        expect(Number.isFinite(p.dL) && Number.isFinite(p.crossEntropy)).toBe(true);
      expect(curve[2]!.dL).toBeCloseTo(
        meanDl(m === 'crossEntropy' ? 'Base' : m === 'dlsm' ? 'DLSM only' : 'Ours'),
        5,
      );
    }

    const files = await writeOutputs(cfg, run, { backend: 'test', seconds: 0 });
    for (const f of [
      'results.json',
      'results.md',
      'config.json',
      'samples.svg',
      'likelihood-field.svg',
    ]) {
      expect(existsSync(join(out, f))).toBe(true);
    }
    expect(files).toHaveLength(6);
    const saved = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(saved.results).toHaveLength(6);
    expect(saved.zeroGradientFloor).toEqual(run.zeroGradientFloor);
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toMatch(
      /\| Zero-gradient floor \| — \| — \| \d+\.\d{3} \| \d+\.\d{3} \|/,
    );
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))).toEqual(cfg);
    expect(readFileSync(join(out, 'samples.svg'), 'utf8')).toMatch(
      /^<\?xml[\s\S]*<svg[\s\S]*<\/svg>\s*$/,
    );
  }, 300_000); // ≈ 25 s on an idle 2-core machine; generous for a loaded one
});
