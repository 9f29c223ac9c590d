/**
 * scorekit benchmarks (`npm run bench`): ratios measured in one run on this machine.
 *
 * 1. A conv-classifier training step (CE) on the chosen backend (`--backend NAME`, else
 *    `SCOREKIT_BACKEND`, else wasm) vs a reference measured in the same run: the pure-JS cpu
 *    backend when the chosen one is wasm, else wasm (`--backend webgpu` compares webgpu with
 *    wasm; on a software adapter that measures a CPU rasteriser, not a GPU).
 * 2. A DLSM-style double-back-propagation step vs a plain CE step on the chosen backend.
 *
 * Steps end with one asynchronous read of every gradient (`await data()`), so every backend
 * works, webgpu included (synchronous reads of GPU data are impossible in Node).
 * 3. With `--paper`: the paper's CIFAR models (NCSN++, ResNet-18) per training step, to size
 *    a GPU run (see benchPaper.ts; minutes).
 * 4. With `--vs-torch`: only the side-by-side comparison with PyTorch (see benchTorch.ts;
 *    `BENCH_ROUNDS`, `BENCH_ONLY=toyDsm,resnet8Ce,…`; minutes).
 *
 * Numbers are wall-clock medians; quote them as ratios (the machine is shared and noisy).
 */
import { key, logSoftmax, normal, split } from '@scorekit/core';
import { type BackendChoice, describeBackend, setupBackend } from '@scorekit/core/node';
import * as tf from '@tensorflow/tfjs-core';
import { benchPaperModels, reportPaperModels } from './benchPaper.js';
import { benchVsTorch } from './benchTorch.js';
import { medianMsAsync } from './timing.js';

type Params = tf.Tensor[];

function initParams(): Params {
  const ks = split(key(0), 4);
  return [
    tf.mul(normal(ks[0]!, [3, 3, 3, 16]), 0.2),
    tf.mul(normal(ks[1]!, [3, 3, 16, 32]), 0.1),
    tf.mul(normal(ks[2]!, [3, 3, 32, 32]), 0.1),
    tf.mul(normal(ks[3]!, [32, 10]), 0.1),
  ];
}

function logits(p: Params, x: tf.Tensor): tf.Tensor2D {
  const silu = (z: tf.Tensor) => tf.mul(z, tf.sigmoid(z));
  let h = silu(tf.conv2d(x as tf.Tensor4D, p[0] as tf.Tensor4D, 1, 'same'));
  h = silu(tf.conv2d(h as tf.Tensor4D, p[1] as tf.Tensor4D, 2, 'same'));
  h = silu(tf.conv2d(h as tf.Tensor4D, p[2] as tf.Tensor4D, 1, 'same'));
  const pooled = tf.mean(h, [1, 2]);
  return tf.matMul(pooled as tf.Tensor2D, p[3] as tf.Tensor2D);
}

const ce = (p: Params, x: tf.Tensor, y: tf.Tensor) =>
  tf.neg(tf.mean(tf.sum(tf.mul(logSoftmax(logits(p, x)), y), -1))) as tf.Scalar;

const dlsmPlusCe = (p: Params, x: tf.Tensor, y: tf.Tensor, target: tf.Tensor) => {
  const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(logSoftmax(logits(p, xx)), y)))(x);
  const dlsm = tf.mul(0.5, tf.mean(tf.square(tf.sub(g, target))));
  return tf.add(dlsm, ce(p, x, y)) as tf.Scalar;
};

/** One training step's gradients, read back with one asynchronous read of all of them. */
async function trainStep(p: Params, loss: (q: Params) => tf.Scalar): Promise<void> {
  const grads = tf.tidy(() => tf.grads((...q: tf.Tensor[]) => loss(q))(p));
  try {
    await Promise.all(grads.map((g) => g.data()));
  } finally {
    tf.dispose(grads);
  }
}

const BACKENDS: readonly BackendChoice[] = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

/** The backend to benchmark: `--backend NAME` (or `--backend=NAME`), else SCOREKIT_BACKEND, else wasm. */
function chosenBackend(argv: readonly string[]): BackendChoice {
  const i = argv.findIndex((a) => a === '--backend' || a.startsWith('--backend='));
  const raw =
    i < 0
      ? process.env.SCOREKIT_BACKEND?.trim() || 'wasm'
      : argv[i]?.startsWith('--backend=')
        ? argv[i].slice('--backend='.length)
        : argv[i + 1];
  const from = i < 0 ? 'SCOREKIT_BACKEND' : '--backend';
  const value = (raw ?? '').toLowerCase() as BackendChoice;
  if (!BACKENDS.includes(value))
    throw new Error(`bench: ${from}: expected one of ${BACKENDS.join(' | ')}, got '${raw ?? ''}'`);
  return value;
}

/** Host copies of the benchmark's inputs (made on cpu), so each backend gets its own tensors. */
interface HostInputs {
  readonly tensors: { readonly values: Float32Array; readonly shape: number[] }[];
}

function hostInputs(batch: number): HostInputs {
  const made = tf.tidy(() => [
    normal(key(1), [batch, 32, 32, 3]),
    tf.oneHot(
      tf.tensor1d(
        Array.from({ length: batch }, (_, i) => i % 10),
        'int32',
      ),
      10,
    ),
    normal(key(2), [batch, 32, 32, 3]),
    ...initParams(),
  ]);
  const tensors = made.map((t) => ({
    values: Float32Array.from(t.dataSync() as Float32Array),
    shape: [...t.shape],
  }));
  tf.dispose(made);
  return { tensors };
}

/** Median CE and DLSM + CE step times (ms) on the current backend. */
async function stepTimes(
  inputs: HostInputs,
  repeats: { warmup: number; repeats: number },
  withDlsm: boolean,
): Promise<{ ce: number; dlsm: number | undefined }> {
  const [x, y, target, ...p] = inputs.tensors.map((t) => tf.tensor(t.values, t.shape));
  try {
    const ce_ = await medianMsAsync(
      () => trainStep(p, (q) => ce(q, x!, y!)),
      repeats.warmup,
      repeats.repeats,
    );
    const dlsm = withDlsm
      ? await medianMsAsync(
          () => trainStep(p, (q) => dlsmPlusCe(q, x!, y!, target!)),
          repeats.warmup,
          repeats.repeats,
        )
      : undefined;
    return { ce: ce_, dlsm };
  } finally {
    tf.dispose([x!, y!, target!, ...p]);
  }
}

/** A positive integer from the environment variable `name`, or `fallback`; anything else is an error naming it. */
function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`${name}: expected a positive integer, got '${raw}'`);
  return v;
}

async function main() {
  if (process.argv.includes('--vs-torch')) {
    // one thread each: PyTorch runs with one, so do the native kernels (benchThreads.ts measures 2)
    process.env.SCOREKIT_NATIVE_THREADS ??= '1';
    const report = await setupBackend({ backend: 'wasm' });
    console.log(
      `scorekit backend: ${describeBackend(report)}, native threads ${process.env.SCOREKIT_NATIVE_THREADS}`,
    );
    const only = process.env.BENCH_ONLY?.split(',').filter((s) => s !== '');
    await benchVsTorch({
      rounds: positiveInt('BENCH_ROUNDS', 5),
      // 3: the first workload of the process also warms up V8, the wasm heap and oneDNN's caches
      warmup: positiveInt('BENCH_WARMUP', 3),
      ...(only ? { only } : {}),
    });
    return;
  }
  const batch = positiveInt('BENCH_BATCH', 16);
  const wanted = chosenBackend(process.argv);
  // wasm first: the reference (or the chosen backend), and the backend inputs are made from
  await setupBackend({ backend: 'wasm' });
  await tf.setBackend('cpu');
  const inputs = hostInputs(batch);
  const report = await setupBackend({ backend: wanted });
  const chosen = report.name;
  console.log(
    `backend: ${describeBackend(report)}; batch ${batch} of 32×32×3; conv 3→16→32(s2)→32, SiLU`,
  );
  if (report.adapter?.software)
    console.log(
      'note: a software WebGPU adapter: these webgpu numbers measure a CPU rasteriser, not a GPU',
    );
  const mine = await stepTimes(inputs, { warmup: 2, repeats: 5 }, true);
  const reference = chosen === 'wasm' ? 'cpu' : 'wasm';
  if (!(await tf.setBackend(reference))) throw new Error(`bench: backend ${reference} failed`);
  const ref = await stepTimes(
    inputs,
    reference === 'cpu' ? { warmup: 1, repeats: 2 } : { warmup: 2, repeats: 5 },
    reference === 'wasm',
  );
  console.log(
    `CE step      ${chosen} ${mine.ce.toFixed(0)} ms   ${reference} ${ref.ce.toFixed(0)} ms   ${chosen} speed-up over ${reference} = ${(ref.ce / mine.ce).toFixed(2)}×`,
  );
  console.log(
    `DLSM+CE step ${chosen} ${(mine.dlsm as number).toFixed(0)} ms   DLSM+CE / CE = ${((mine.dlsm as number) / mine.ce).toFixed(2)}×` +
      (ref.dlsm === undefined
        ? ''
        : `   ${reference} ${ref.dlsm.toFixed(0)} ms   ${chosen} speed-up over ${reference} = ${(ref.dlsm / (mine.dlsm as number)).toFixed(2)}×`),
  );
  if (process.argv.includes('--paper')) {
    await tf.setBackend('wasm');
    console.log('paper models (wasm):');
    reportPaperModels(
      benchPaperModels({
        scoreBatch: positiveInt('BENCH_SCORE_BATCH', 1),
        classifierBatch: positiveInt('BENCH_CLASSIFIER_BATCH', 8),
        repeats: 2,
      }),
    );
  }
}

await main();
