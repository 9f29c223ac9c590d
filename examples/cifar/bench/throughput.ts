// Training throughput (images/s) of the paper preset's models on this machine: NCSN++ (DSM)
// and the ResNet-18 classifier (CE, and DLSM + CE against a zero stand-in score so only the
// classifier's double back-propagation is timed). No checkpoints are written.
// Run from the repo root:
//   node --conditions=@scorekit/source --import tsx examples/cifar/bench/throughput.ts ncsnpp 2 3
//   node --conditions=@scorekit/source --import tsx examples/cifar/bench/throughput.ts resnet18 8 3
import { describeBackend, key, type ScorekitError, setupBackend, veSde } from '@scorekit/core';
import { trainingBatches, unwrap } from '@scorekit/datasets';
import { classifierObjective, dsm, type LabelledBatch } from '@scorekit/losses';
import {
  countParams,
  parametricLogits,
  parametricScore,
  resnetClassifier,
  scoreUnet,
} from '@scorekit/models';
import { adam, disposeTrainState, type FitResult, fit } from '@scorekit/training';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/lib/Either.js';
import { presets } from '../src/config.js';
import { loadCifarData } from '../src/data.js';

const [which = 'resnet18', batchArg = '4', stepsArg = '3', lossArg = 'total'] =
  process.argv.slice(2);
const batch = Number(batchArg);
const steps = Number(stepsArg);
const report = await setupBackend();
console.log(`backend: ${describeBackend(report)}`);
const cfg = presets.paper;
const data = await unwrap(
  loadCifarData(presets['cpu-small'].data.path, { limit: 256, heldOut: 100 }),
);
const sde = veSde(cfg.sde);
const batches = (start: number) =>
  trainingBatches(data.train, { batchSize: batch, shuffle: true, flip: true }, key(1), start);
const t0 = performance.now();
let out: E.Either<ScorekitError, FitResult>;
if (which === 'ncsnpp') {
  const model = scoreUnet(cfg.score.model);
  const vars = model.init(key(0));
  console.log(
    `NCSN++: ${countParams(vars.params)} params, init ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  out = await fit({
    loss: (p, b: { x: tf.Tensor }, k) =>
      dsm({
        sde,
        score: parametricScore(model, vars.buffers, sde, { training: true, key: k }),
        eps: 1e-3,
      })(p, b, k),
    optimizer: adam({ lr: 2e-4, warmup: 5000, gradClip: 1 }),
    batches,
    steps,
    params: vars.params,
    key: key(2),
    ema: 0.999,
    config: {},
    onStep: (i) =>
      console.log(
        `step ${i.step}: ${i.seconds.toFixed(1)} s, ${i.imagesPerSecond.toFixed(2)} img/s`,
      ),
  })();
} else {
  const model = resnetClassifier(cfg.classifier.model);
  const vars = model.init(key(0));
  console.log(`ResNet-18: ${countParams(vars.params)} params, loss ${lossArg}`);
  const zeroScore = (x: tf.Tensor) => tf.zerosLike(x);
  out = await fit<LabelledBatch>({
    loss: classifierObjective(
      { method: lossArg === 'ce' ? 'crossEntropy' : 'total', lambda: 1, eps: 1e-5 },
      {
        sde,
        logits: parametricLogits(model, vars.buffers, sde, { training: true }),
        score: zeroScore,
      },
    ),
    optimizer: adam({ lr: 2e-4, gradClip: 1 }),
    batches,
    steps,
    params: vars.params,
    key: key(2),
    config: {},
    onStep: (i) =>
      console.log(
        `step ${i.step}: ${i.seconds.toFixed(1)} s, ${i.imagesPerSecond.toFixed(2)} img/s`,
      ),
  })();
}
if (E.isLeft(out)) throw new Error(out.left.message);
disposeTrainState(out.right.state);
