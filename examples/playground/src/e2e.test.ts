// End to end: builds the playground with Vite, serves the static build on 127.0.0.1 and drives
// it in Debian's headless Chromium with playwright-core (no browser download). A short
// training with a fixed seed must end with DLSM + λ·CE's D_L below CE's (Chao et al. 2022,
// Fig. 5), draw every canvas, log no console error and leak no tensor in the page.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build, type PreviewServer, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlaygroundStatus } from './main.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const configFile = join(root, 'vite.config.ts');
/** The test's output folder (git-ignored): the build it serves and the screenshot. */
const out = join(root, 'out', 'e2e');
const site = join(out, 'site');
const chromiumPath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/** A short run: small data, batch and sampler, about 20 s on one wasm thread. */
const query = '?seed=1&n=1000&batch=256&scoreSteps=100&clfSteps=40&every=20&samplerSteps=30';

/** The flags Chromium needs as root in this sandbox with a closed network. */
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let server: PreviewServer | undefined;
let browser: Browser | undefined;
let url = '';

beforeAll(async () => {
  if (!existsSync(chromiumPath))
    throw new Error(
      `Chromium not found at ${chromiumPath}: install it with scripts/ci/browser.sh (Debian package 'chromium') or set CHROMIUM_PATH`,
    );
  mkdirSync(out, { recursive: true });
  await build({ configFile, logLevel: 'warn', build: { outDir: site, emptyOutDir: true } });
  server = await preview({
    configFile,
    logLevel: 'warn',
    build: { outDir: site },
    preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false },
  });
  const local = server.resolvedUrls?.local[0];
  if (!local) throw new Error('vite preview printed no local URL');
  url = `${local}${query}`;
  browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const status = (page: Page) =>
  page.evaluate(() => window.playground?.status() ?? null) as Promise<PlaygroundStatus | null>;

/** Pixels of each canvas within a colour distance of `rgb` (the panel's own colour). */
function countPixels(page: Page, id: string, rgb: [number, number, number]): Promise<number> {
  return page.evaluate(
    ([id, r, g, b]) => {
      const canvas = document.getElementById(id as string) as HTMLCanvasElement;
      const px = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < px.length; i += 4)
        if (
          Math.abs(px[i]! - (r as number)) +
            Math.abs(px[i + 1]! - (g as number)) +
            Math.abs(px[i + 2]! - (b as number)) <
          60
        )
          n++;
      return n;
    },
    [id, ...rgb] as const,
  );
}

describe('playground in headless Chromium', () => {
  it('trains, draws, ends with DLSM + CE below CE in D_L, and leaks nothing', async () => {
    const page = await browser!.newPage({ viewport: { width: 1300, height: 1100 } });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
    await page.goto(url);
    // pause / resume: no step is taken while paused
    let paused = false;
    for (let i = 0; i < 200 && !paused; i++) {
      const now = await status(page);
      if (now?.phase === 'score' && now.step > 3) {
        await page.click('#pause');
        await page.waitForTimeout(300); // a step already running finishes
        const at = (await status(page))!.step;
        await page.waitForTimeout(700);
        paused =
          (await status(page))!.step === at && (await page.textContent('#pause')) === 'resume';
        expect(page.url(), 'the paused state is in the URL').toContain('run=0');
        await page.click('#pause');
      } else await page.waitForTimeout(100);
    }
    let s: PlaygroundStatus | null = null;
    const deadline = Date.now() + 50_000;
    while (Date.now() < deadline) {
      s = await status(page);
      if (s && (s.error || s.samplesDrawn)) break;
      await page.waitForTimeout(250);
    }
    expect(s?.error ?? null, 'error shown by the page').toBeNull();
    expect(
      s?.samplesDrawn,
      `training and sampling finished in time (last status ${JSON.stringify(s)})`,
    ).toBe(true);
    const st = s!;
    expect(paused, 'pause stopped the training').toBe(true);
    console.log(
      `playground: backend ${st.backend?.name} (${st.backend?.detail}); ` +
        `score ${st.rates.score?.toFixed(1)} steps/s, classifiers ${st.rates.classifiers?.toFixed(2)} steps/s (CE + DLSM+CE per step)`,
    );

    // D_L curves: one point per evaluation, DLSM + λ·CE ends below CE (Fig. 5)
    const ce = st.curves.crossEntropy;
    const total = st.curves.total;
    console.log(
      `D_L: CE ${ce.map((p) => p.dL.toFixed(4))}; DLSM + λ·CE ${total.map((p) => p.dL.toFixed(4))}`,
    );
    expect(ce.map((p) => p.step)).toEqual([0, 20, 40]);
    expect(total.map((p) => p.step)).toEqual([0, 20, 40]);
    expect(total[0]!.dL).toBe(ce[0]!.dL); // same initialisation
    expect(total.at(-1)!.dL).toBeLessThan(ce.at(-1)!.dL);

    // canvases drew their content: class colours, the oracle's and each classifier's arrows
    const blue: [number, number, number] = [0x1f, 0x77, 0xb4];
    const dark: [number, number, number] = [0x22, 0x22, 0x22];
    const orange: [number, number, number] = [0xff, 0x7f, 0x0e];
    const green: [number, number, number] = [0x2c, 0xa0, 0x2c];
    const panels: Array<[string, [number, number, number], number]> = [
      ['data', blue, 500],
      ['curves', orange, 50],
      ['curves', green, 50],
      ['fieldOracle', dark, 300],
      ['fieldCe', orange, 300],
      ['fieldTotal', green, 300],
      ['samplesCe', orange, 100],
      ['samplesTotal', green, 100],
    ];
    for (const [id, rgb, min] of panels)
      expect(await countPixels(page, id, rgb), `#${id} pixels of rgb(${rgb})`).toBeGreaterThan(min);

    // no tensor leak in the page: flat over training, sampling returns everything, and
    // disposing the session returns to the count before it
    const after = st.tensors.afterEvaluations;
    expect(after.length).toBe(3);
    expect(new Set(after).size, `live tensors after each evaluation: ${after}`).toBe(1);
    expect(st.tensors.now).toBe(after[0]);

    // a view change goes into the URL and redraws the samples for the other class
    await page.selectOption('#label', '1');
    expect(page.url()).toContain('class=1');
    await page.waitForFunction(() => window.playground?.status().samplesDrawn === true, null, {
      timeout: 20_000,
    });
    expect((await status(page))!.tensors.now, 'live tensors after resampling').toBe(after[0]);
    await page.selectOption('#label', '0');
    await page.waitForFunction(() => window.playground?.status().samplesDrawn === true, null, {
      timeout: 20_000,
    });
    await page.screenshot({ path: join(out, 'playground.png'), fullPage: true });
    expect(await page.evaluate(() => window.playground!.dispose())).toBe(st.tensors.baseline);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);
});
