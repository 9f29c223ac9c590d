/**
 * scorekit benchmarks (`npm run bench`): ratios measured in one run on this machine.
 *
 * 1. A conv-classifier training step (CE) on the wasm backend vs the pure-JS cpu backend.
 * 2. A DLSM-style double-back-propagation step vs a plain CE step on wasm.
 * 3. With `--paper`: the paper's CIFAR models (NCSN++, ResNet-18) per training step, to size
 *    a GPU run (see benchPaper.ts; minutes).
 * 4. With `--vs-torch`: only the side-by-side comparison with PyTorch (see benchTorch.ts;
 *    `BENCH_ROUNDS`, `BENCH_ONLY=toyDsm,resnet8Ce,…`; minutes).
 *
 * Numbers are wall-clock medians; quote them as ratios (the machine is shared and noisy).
 */
import { key, logSoftmax, normal, split } from '@scorekit/core';
import { describeBackend, setupBackend } from '@scorekit/core/node';
import * as tf from '@tensorflow/tfjs-core';
import { benchPaperModels, reportPaperModels } from './benchPaper.js';
import { benchVsTorch } from './benchTorch.js';
import { medianMs } from './timing.js';

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

function trainStep(p: Params, loss: (q: Params) => tf.Scalar): void {
  tf.tidy(() => {
    const grads = tf.grads((...q: tf.Tensor[]) => loss(q))(p);
    for (const g of grads) g.dataSync();
  });
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
      warmup: positiveInt('BENCH_WARMUP', 1),
      ...(only ? { only } : {}),
    });
    return;
  }
  const batch = positiveInt('BENCH_BATCH', 16);
  const report = await setupBackend({ backend: 'wasm' });
  console.log(`backend: ${report.name}; batch ${batch} of 32×32×3; conv 3→16→32(s2)→32, SiLU`);
  const x = normal(key(1), [batch, 32, 32, 3]);
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: batch }, (_, i) => i % 10),
      'int32',
    ),
    10,
  );
  const target = normal(key(2), [batch, 32, 32, 3]);
  const p = initParams();

  const wasmCe = medianMs(() => trainStep(p, (q) => ce(q, x, y)), 2, 5);
  const wasmDlsm = medianMs(() => trainStep(p, (q) => dlsmPlusCe(q, x, y, target)), 2, 5);
  await tf.setBackend('cpu');
  const cpuCe = medianMs(() => trainStep(p, (q) => ce(q, x, y)), 1, 2);
  console.log(
    `CE step      wasm ${wasmCe.toFixed(0)} ms   cpu ${cpuCe.toFixed(0)} ms   cpu/wasm = ${(cpuCe / wasmCe).toFixed(1)}×`,
  );
  console.log(
    `DLSM+CE step wasm ${wasmDlsm.toFixed(0)} ms   DLSM+CE / CE = ${(wasmDlsm / wasmCe).toFixed(2)}×`,
  );
  tf.dispose([x, y, target, ...p]);
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
