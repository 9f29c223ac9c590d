/**
 * `npm run gpu-check [-- --quick] [-- --bundle DIR]`: what scorekit's WebGPU backend does on
 * this machine, as JSON on stdout (progress on stderr):
 * - every WebGPU adapter Dawn finds (vendor, architecture, description, software or not) and the
 *   limits that bound scorekit's tensors;
 * - matmul and conv2d GFLOP/s, and img/s of one training step of the paper's models (ResNet-18
 *   CE and DLSM + CE at batch 150, NCSN++ DSM at batch 128 or the largest that fits), on webgpu
 *   and on wasm in the same run, with their ratio;
 * - a second-order cross-check (∂/∂θ of DLSM + CE through a small ResNet-18, webgpu vs cpu);
 * - the size-limit check (a tensor beyond maxStorageBufferBindingSize must be refused, the
 *   largest allowed one must compute right).
 * Exits 1 on any mismatch, 2 when no WebGPU adapter exists. `--quick` shrinks the models (for a
 * software adapter). `--bundle DIR` writes a self-contained copy (see gpuCheckBundle.ts).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { key, registerWasmConvGradients, veSde } from '@scorekit/core';
import {
  type DawnModule,
  findWebgpuAdapters,
  GpuDeviceError,
  GpuTensorTooLargeError,
  teardownWebgpu,
  tryWebgpu,
  type WebgpuAdapterReport,
} from '@scorekit/core/node';
import { crossEntropy, dlsm, dsm, type LabelledBatch, type Loss, sum } from '@scorekit/losses';
import {
  type Buffers,
  disposeVariables,
  type Model,
  type ModelVariables,
  parametricLogits,
  parametricScore,
  resnetClassifier,
  scoreUnet,
} from '@scorekit/models';
import '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import * as tf from '@tensorflow/tfjs-core';
import { medianMsAsync } from './timing.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const bundleAt = args.indexOf('--bundle');

const log = (s: string) => process.stderr.write(`gpu-check: ${s}\n`);
const here = dirname(fileURLToPath(import.meta.url));
/** In a bundle, dawn.node and the wasm binaries sit next to the script. */
const bundled = existsSync(join(here, 'dawn.node'));

async function loadDawn(): Promise<DawnModule> {
  if (bundled) return createRequire(import.meta.url)(join(here, 'dawn.node')) as DawnModule;
  const specifier: string = 'webgpu';
  return (await import(specifier)) as DawnModule;
}

function wasmDir(): string {
  if (bundled) return `${here}/`;
  const require = createRequire(import.meta.url);
  return `${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`;
}

/** Median wall time in seconds of `repeats` awaited calls after `warmup` (shader compilation). */
const medianSeconds = async (step: () => Promise<void>, warmup: number, repeats: number) =>
  (await medianMsAsync(step, warmup, repeats)) / 1000;

const round = (x: number, digits = 3) => Number(x.toPrecision(digits));

interface Measured {
  readonly webgpu: number | string;
  readonly wasm: number | string;
  /** webgpu / wasm (> 1: webgpu faster). */
  readonly ratio?: number;
  readonly detail: string;
}

/** Runs `measure` on webgpu then on wasm (the same sizes) and reports both. */
async function bothBackends(detail: string, measure: () => Promise<number>): Promise<Measured> {
  const out: Record<string, number | string> = {};
  for (const backend of ['webgpu', 'wasm'] as const) {
    await tf.setBackend(backend);
    try {
      out[backend] = round(await measure());
    } catch (cause) {
      out[backend] =
        `failed: ${cause instanceof Error ? cause.message.split('\n')[0] : String(cause)}`;
    }
    log(`${detail} on ${backend}: ${out[backend]}`);
  }
  await tf.setBackend('webgpu');
  const g = out['webgpu'];
  const w = out['wasm'];
  return {
    webgpu: g as number | string,
    wasm: w as number | string,
    ...(typeof g === 'number' && typeof w === 'number' ? { ratio: round(g / w) } : {}),
    detail,
  };
}

function matmulGflops(n: number, repeats: number): () => Promise<number> {
  return async () => {
    const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
    const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
    const s = await medianSeconds(
      async () => {
        const c = tf.matMul(a, b);
        await c.data();
        c.dispose();
      },
      1,
      repeats,
    );
    tf.dispose([a, b]);
    return (2 * n ** 3) / s / 1e9;
  };
}

function convGflops(
  batch: number,
  size: number,
  channels: number,
  repeats: number,
): () => Promise<number> {
  return async () => {
    const x = tf.randomNormal([batch, size, size, channels], 0, 1, 'float32', 3);
    const w = tf.randomNormal([3, 3, channels, channels], 0, 0.1, 'float32', 4);
    const s = await medianSeconds(
      async () => {
        const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');
        await y.data();
        y.dispose();
      },
      1,
      repeats,
    );
    tf.dispose([x, w]);
    return (2 * batch * size * size * channels * channels * 9) / s / 1e9;
  };
}

const sde = veSde({ sigmaMin: 0.01, sigmaMax: 50 });
/** The frozen prior score of DLSM, a fixed linear map here (its forward pass is not timed). */
const priorScore = (x: tf.Tensor) => tf.mul(x, -0.02);

/** img/s of one training step (loss, ∂loss/∂θ, one read of the loss) at `batch`. */
function trainStepImagesPerSecond<B>(
  model: Model,
  lossOf: (buffers: Buffers) => Loss<B>,
  batchOf: () => B,
  batch: number,
  repeats: number,
): () => Promise<number> {
  return async () => {
    const vars: ModelVariables = model.init(key(0));
    const loss = lossOf(vars.buffers);
    const data = batchOf();
    const names = Object.keys(vars.params);
    try {
      const s = await medianSeconds(
        async () => {
          const { value, grads } = tf.valueAndGrads((...ts: tf.Tensor[]) => {
            const lv = loss(
              Object.fromEntries(names.map((n, i) => [n, ts[i] as tf.Tensor])),
              data,
              key(1),
            );
            tf.dispose(Object.values(lv.terms));
            return lv.total;
          })(names.map((n) => vars.params[n] as tf.Tensor));
          await value.data();
          tf.dispose([value, ...grads]);
        },
        1,
        repeats,
      );
      return batch / s;
    } finally {
      tf.dispose(Object.values(data as Record<string, tf.Tensor>));
      disposeVariables(vars);
    }
  };
}

/** DLSM + CE ∂/∂θ through a small ResNet-18 on webgpu vs cpu (same inputs): worst rel. error. */
async function secondOrderCheck(): Promise<{
  worstRelativeError: number;
  tensor: string;
  pass: boolean;
}> {
  const model = resnetClassifier({
    depth: 18,
    width: 4,
    classes: 3,
    fourierSize: 4,
    embeddingDim: 8,
    activation: 'silu',
  });
  const run = async (): Promise<Record<string, Float32Array>> => {
    const vars = model.init(key(3));
    const logits = parametricLogits(model as Model<tf.Tensor2D>, vars.buffers, sde, {
      training: true,
    });
    const loss = sum(dlsm({ sde, logits, score: priorScore }), crossEntropy({ sde, logits }));
    const batch: LabelledBatch = {
      x: tf.randomUniform([3, 16, 16, 3], -1, 1, 'float32', 21),
      y: tf.tensor1d([0, 2, 1], 'int32'),
    };
    const names = Object.keys(vars.params);
    const { grads } = tf.valueAndGrads((...ts: tf.Tensor[]) => {
      const lv = loss(
        Object.fromEntries(names.map((n, i) => [n, ts[i] as tf.Tensor])),
        batch,
        key(9),
      );
      tf.dispose(Object.values(lv.terms));
      return lv.total;
    })(names.map((n) => vars.params[n] as tf.Tensor));
    const out: Record<string, Float32Array> = {};
    for (let i = 0; i < names.length; i++)
      out[names[i] as string] = (await (grads[i] as tf.Tensor).data()) as Float32Array;
    tf.dispose([...grads, batch.x, batch.y]);
    disposeVariables(vars);
    return out;
  };
  const gpu = await run();
  await tf.setBackend('cpu');
  const cpu = await run();
  await tf.setBackend('webgpu');
  const maxAbs = (v: Float32Array) => v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  const overall = Math.max(...Object.values(cpu).map(maxAbs));
  let worst = 0;
  let tensor = '';
  for (const [name, ref] of Object.entries(cpu)) {
    const got = gpu[name] as Float32Array;
    let diff = 0;
    for (let i = 0; i < ref.length; i++)
      diff = Math.max(diff, Math.abs((got[i] as number) - (ref[i] as number)));
    const r = diff / Math.max(maxAbs(ref), 1e-3 * overall);
    if (!(r <= worst)) {
      worst = r;
      tensor = name;
    }
  }
  return { worstRelativeError: round(worst), tensor, pass: worst < 1e-3 };
}

/** A tensor beyond the binding limit must be refused; the largest allowed must sum right. */
async function sizeLimitCheck(limit: number): Promise<Record<string, unknown>> {
  const over = limit / 4 + 4;
  let refused = false;
  let refusal = '';
  try {
    tf.tidy(() => tf.fill([over], 1));
  } catch (e) {
    refused = e instanceof GpuTensorTooLargeError;
    refusal = e instanceof Error ? e.message : String(e);
  }
  // the largest allowed tensor: every element checked through a row-wise reduction, and the
  // single 1-D reduction over all of it (one kernel reading the whole binding)
  const largest = Math.floor(limit / 4 / 1024) * 1024;
  let largestOk = false;
  let fullReductionOk = false;
  let largestError = '';
  try {
    const [rows, full] = tf.tidy(() => {
      const f = tf.fill([largest], 0.25);
      return [tf.sum(tf.sum(tf.reshape(f, [largest / 1024, 1024]), 1)), tf.sum(f)];
    }) as [tf.Tensor, tf.Tensor];
    const v = (await rows.data())[0] as number;
    const w = (await full.data())[0] as number;
    tf.dispose([rows, full]);
    const want = largest * 0.25;
    largestOk = Math.abs(v - want) <= 1e-3 * want;
    fullReductionOk = Math.abs(w - want) <= 1e-3 * want;
    if (!largestOk) largestError = `row-wise sum was ${v}, expected ${want}`;
    if (!fullReductionOk)
      largestError += `${largestError ? '; ' : ''}1-D sum of all ${largest} elements was ${w}, expected ${want}`;
  } catch (e) {
    largestError = e instanceof Error ? (e.message.split('\n')[0] ?? '') : String(e);
  }
  return {
    limitBytes: limit,
    overLimitElements: over,
    overLimitRefused: refused,
    refusal: refusal.split(';')[0],
    largestTensorTriedBytes: largest * 4,
    largestTensorCorrect: largestOk,
    largestTensorOneKernelSumCorrect: fullReductionOk,
    ...(largestError ? { largestTensorError: largestError } : {}),
    pass: refused && largestOk && fullReductionOk,
  };
}

/** Halves the batch of the NCSN++ step until it runs (binding limit or device memory). */
async function ncsnppImagesPerSecond(
  start: number,
  imageSize: number,
  repeats: number,
): Promise<Measured & { batch: number }> {
  const model = scoreUnet(
    quick
      ? {
          imageSize,
          nf: 8,
          chMult: [1, 2],
          numResBlocks: 1,
          attnResolutions: [imageSize / 2],
          dropout: 0,
        }
      : { imageSize, dropout: 0 },
  );
  const lossOf = (b: Buffers) =>
    dsm({ sde, score: parametricScore(model, b, sde, { training: true }) });
  let batch = start;
  for (;;) {
    await tf.setBackend('webgpu');
    try {
      await trainStepImagesPerSecond(
        model,
        lossOf,
        () => ({ x: tf.randomUniform([batch, imageSize, imageSize, 3], -1, 1) }),
        batch,
        1,
      )();
      break;
    } catch (e) {
      if (!(e instanceof GpuTensorTooLargeError || e instanceof GpuDeviceError) || batch === 1)
        throw e;
      log(`NCSN++ at batch ${batch} does not fit (${e.message.split(';')[0]}); halving`);
      batch = Math.floor(batch / 2);
    }
  }
  const m = await bothBackends(
    `NCSN++ DSM train step, img/s (batch ${batch}, ${imageSize}×${imageSize}${quick ? ', nf 8, quick' : ''})`,
    trainStepImagesPerSecond(
      model,
      lossOf,
      () => ({ x: tf.randomUniform([batch, imageSize, imageSize, 3], -1, 1) }),
      batch,
      repeats,
    ),
  );
  return { ...m, batch };
}

async function main(): Promise<number> {
  if (bundleAt >= 0) {
    const dir = args[bundleAt + 1];
    if (!dir) throw new Error('--bundle: expected a directory, got nothing');
    const { writeBundle } = await import('./gpuCheckBundle.js');
    const report = await writeBundle(dir);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  }
  const dawn = await loadDawn();
  const skipped: { name: string; reason: string }[] = [];
  const adapters: WebgpuAdapterReport[] = (await findWebgpuAdapters(dawn, [])).map((f) => f.report);
  const chosen = await tryWebgpu(skipped, {
    modules: { dawn, WebGPUBackend: WebGPUBackend as never },
  });
  if (!chosen) {
    process.stdout.write(
      `${JSON.stringify({ adapters, skipped, error: 'no usable WebGPU adapter' }, null, 2)}\n`,
    );
    return 2;
  }
  setWasmPaths(wasmDir());
  registerWasmConvGradients();
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
  await tf.setBackend('webgpu');
  log(
    `adapter: ${chosen.device || chosen.description}${chosen.software ? " (software: speeds are not a GPU's)" : ''}`,
  );

  const repeats = quick ? 1 : 3;
  const size = quick ? 16 : 32;
  const batch = quick ? 8 : 150;
  const width = quick ? 8 : 64;
  const n = quick ? 256 : 1024;
  const secondOrder = await secondOrderCheck();
  log(
    `second order vs cpu: worst relative error ${secondOrder.worstRelativeError} (${secondOrder.tensor})`,
  );
  const sizeLimit = await sizeLimitCheck(chosen.limits.maxStorageBufferBindingSize);
  log(`size limit: ${JSON.stringify(sizeLimit)}`);
  const matmul = await bothBackends(`matmul ${n}×${n}, GFLOP/s`, matmulGflops(n, repeats));
  const conv = await bothBackends(
    `conv2d 3×3 [${quick ? 4 : 32}, ${size}, ${size}, ${quick ? 16 : 64}] → ${quick ? 16 : 64}, GFLOP/s`,
    convGflops(quick ? 4 : 32, size, quick ? 16 : 64, repeats),
  );
  const resnet = resnetClassifier({ depth: 18, width, classes: 10 });
  const labels = () =>
    tf.tensor1d(
      Array.from({ length: batch }, (_, i) => i % 10),
      'int32',
    );
  const images = () => tf.randomUniform([batch, size, size, 3], -1, 1);
  const ce = await bothBackends(
    `ResNet-18 (width ${width}) CE train step, img/s (batch ${batch}, ${size}×${size})`,
    trainStepImagesPerSecond(
      resnet,
      (b) =>
        crossEntropy({
          sde,
          logits: parametricLogits(resnet as Model<tf.Tensor2D>, b, sde, { training: true }),
        }),
      () => ({ x: images(), y: labels() }),
      batch,
      repeats,
    ),
  );
  const dlsmCe = await bothBackends(
    `ResNet-18 (width ${width}) DLSM + CE train step, img/s (batch ${batch}, ${size}×${size}; frozen score not timed)`,
    trainStepImagesPerSecond(
      resnet,
      (b) => {
        const logits = parametricLogits(resnet as Model<tf.Tensor2D>, b, sde, { training: true });
        return sum(dlsm({ sde, logits, score: priorScore }), crossEntropy({ sde, logits }));
      },
      () => ({ x: images(), y: labels() }),
      batch,
      repeats,
    ),
  );
  const ncsnpp = await ncsnppImagesPerSecond(quick ? 8 : 128, size, repeats);
  const report = {
    quick,
    adapters,
    chosen,
    skipped,
    note: chosen.software
      ? 'software adapter: these webgpu numbers measure a CPU rasteriser, not a GPU'
      : 'hardware adapter',
    matmul,
    conv,
    models: { resnet18Ce: ce, resnet18DlsmCe: dlsmCe, ncsnppDsm: ncsnpp },
    secondOrder,
    sizeLimit,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  const failed = [
    ...(secondOrder.pass ? [] : ['second-order cross-check']),
    ...(sizeLimit['pass'] ? [] : ['size-limit check']),
    ...[matmul, conv, ce, dlsmCe, ncsnpp]
      .filter((m) => typeof m.webgpu === 'string')
      .map((m) => m.detail),
  ];
  if (failed.length > 0) log(`FAILED: ${failed.join('; ')}`);
  return failed.length > 0 ? 1 : 0;
}

main()
  .then(async (code) => {
    await teardownWebgpu();
    process.exitCode = code;
  })
  .catch(async (e: unknown) => {
    log(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    await teardownWebgpu();
    process.exitCode = 1;
  });
