import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { presets, type ToyConfig } from './config.js';
import { disposeTrained, type TaskOutcome, toySetup, trainTask } from './stages.js';

const scratch = mkdtempSync(join(tmpdir(), 'scorekit-toy-stages-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const cfgOf = (steps: number): ToyConfig => ({
  ...presets.tiny,
  data: { perClass: 50, scale: 20 },
  score: { ...presets.tiny.score, steps, batch: 32 },
  checkpointEvery: 2,
  quiet: true,
});

const host = (o: TaskOutcome) =>
  Object.fromEntries(
    Object.entries(o.trained.vars.params).map(([n, t]) => [n, Array.from(t.dataSync())]),
  );

describe('trainTask checkpoints and resume', () => {
  it('3 steps, then resumed to 6, equals 6 straight; a run killed before done.json keeps its losses', async () => {
    const straight = await trainTask(cfgOf(6), toySetup(cfgOf(6)), 'score');
    const dir = join(scratch, 'run');
    const first = await trainTask(cfgOf(3), toySetup(cfgOf(3)), 'score', { dir });
    expect(first.origin).toBe('trained');
    disposeTrained(first.trained);
    const resumed = await trainTask(cfgOf(6), toySetup(cfgOf(6)), 'score', { dir });
    expect(resumed.origin).toEqual({ resumedFrom: 3 });
    expect(host(resumed)).toEqual(host(straight)); // EMA weights, bit for bit
    expect(resumed.losses).toEqual(straight.losses);

    // killed after the final checkpoint but before done.json: resumes at step 6, no update left
    rmSync(join(dir, 'score', 'done.json'));
    const again = await trainTask(cfgOf(6), toySetup(cfgOf(6)), 'score', { dir });
    expect(again.origin).toEqual({ resumedFrom: 6 });
    expect(again.losses).toEqual(straight.losses);
    expect(host(again)).toEqual(host(straight));
    // and a finished model is loaded as it is
    const loaded = await trainTask(cfgOf(6), toySetup(cfgOf(6)), 'score', { dir });
    expect(loaded.origin).toBe('loaded');
    expect(host(loaded)).toEqual(host(straight));
    for (const o of [straight, resumed, again, loaded]) disposeTrained(o.trained);
  });
});
