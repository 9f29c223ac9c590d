// Forward + backward throughput (images/s) of the CPU-sized presets on the current backend.
// Run from the repo root:
//   node --conditions=@scorekit/source --import tsx packages/models/bench/throughput.ts [--quick]
import { fold, key, logSoftmax, normal, type Params, sumPerSample, uniform } from '@scorekit/core';
import { describeBackend, setupBackend } from '@scorekit/core/node';
import * as tf from '@tensorflow/tfjs-core';
import {
  countSpecs,
  disposeVariables,
  type Network,
  resnetClassifier,
  scoreUnet,
  toyClassifier,
  toyScoreModel,
  unetSmall,
  unetTiny,
} from '../src/index.js';

const quick = process.argv.includes('--quick');
const report = await setupBackend();
console.log(`backend: ${describeBackend(report)}`);

type Objective = 'dsm' | 'ce' | 'dlsm';

/** Wall and CPU seconds per step of `grads(loss)(params)` after warm-up. */
function timeSteps(
  model: Network,
  objective: Objective,
  shape: number[],
  classes: number,
  steps: number,
): { wall: number; cpu: number } {
  const vars = model.init(key(0));
  const names = Object.keys(vars.params);
  const x = uniform(fold(key(1), 0), shape);
  const z = normal(fold(key(1), 1), shape);
  const batch = shape[0] as number;
  const sigma = tf.fill([batch], 0.5) as tf.Tensor1D;
  const onehot = tf.tidy(() =>
    tf.oneHot(
      tf.tensor1d(
        new Array(batch).fill(0).map((_, i) => i % classes),
        'int32',
      ),
      classes,
    ),
  );
  const loss = (...ts: tf.Tensor[]) => {
    const p: Params = Object.fromEntries(names.map((n, i) => [n, ts[i] as tf.Tensor]));
    const apply = (xx: tf.Tensor) =>
      model.apply(p, xx, sigma, { training: true, buffers: vars.buffers, key: key(2) });
    if (objective === 'dsm') {
      const xt = tf.add(x, tf.mul(z, 0.5));
      return tf.mean(sumPerSample(tf.square(tf.add(tf.mul(apply(xt), 0.5), z)))) as tf.Scalar;
    }
    if (objective === 'ce')
      return tf.neg(tf.mean(tf.sum(tf.mul(logSoftmax(apply(x)), onehot), 1))) as tf.Scalar;
    const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(logSoftmax(apply(xx)), onehot)))(x);
    const ce = tf.neg(tf.mean(tf.sum(tf.mul(logSoftmax(apply(x)), onehot), 1)));
    return tf.add(tf.mean(tf.square(tf.add(g, z))), ce) as tf.Scalar;
  };
  const step = () => {
    const gs = tf.grads(loss)(names.map((n) => vars.params[n] as tf.Tensor));
    (gs[0] as tf.Tensor).dataSync();
    tf.dispose(gs);
  };
  step();
  step();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < steps; i++) step();
  const c = process.cpuUsage(c0);
  const wall = (performance.now() - t0) / 1000 / steps;
  const cpu = (c.user + c.system) / 1e6 / steps;
  tf.dispose([x, z, sigma, onehot]);
  disposeVariables(vars);
  return { wall, cpu };
}

const cases: {
  name: string;
  model: Network;
  objective: Objective;
  shape: number[];
  classes?: number;
}[] = [
  {
    name: 'unetTiny 32×32×3 (DSM)',
    model: scoreUnet(unetTiny),
    objective: 'dsm',
    shape: [16, 32, 32, 3],
  },
  {
    name: 'unetSmall 32×32×3 (DSM)',
    model: scoreUnet(unetSmall),
    objective: 'dsm',
    shape: [8, 32, 32, 3],
  },
  {
    name: 'unetTiny 28×28×1 (DSM)',
    model: scoreUnet({ ...unetTiny, imageSize: 28, channels: 1 }),
    objective: 'dsm',
    shape: [16, 28, 28, 1],
  },
  {
    name: 'ResNet-18 w8 32×32×3 (CE)',
    model: resnetClassifier({ width: 8 }),
    objective: 'ce',
    shape: [16, 32, 32, 3],
    classes: 10,
  },
  {
    name: 'ResNet-18 w8 32×32×3 (DLSM+CE)',
    model: resnetClassifier({ width: 8 }),
    objective: 'dlsm',
    shape: [16, 32, 32, 3],
    classes: 10,
  },
  {
    name: 'ResNet-18 w16 32×32×3 (CE)',
    model: resnetClassifier({ width: 16 }),
    objective: 'ce',
    shape: [16, 32, 32, 3],
    classes: 10,
  },
  {
    name: 'ResNet-18 w16 32×32×3 (DLSM+CE)',
    model: resnetClassifier({ width: 16 }),
    objective: 'dlsm',
    shape: [16, 32, 32, 3],
    classes: 10,
  },
  {
    name: 'toyScoreModel batch 4000 (DSM)',
    model: toyScoreModel(),
    objective: 'dsm',
    shape: [4000, 2],
  },
  {
    name: 'toyClassifier batch 4000 (CE)',
    model: toyClassifier(),
    objective: 'ce',
    shape: [4000, 2],
    classes: 2,
  },
  {
    name: 'toyClassifier batch 4000 (DLSM+CE)',
    model: toyClassifier(),
    objective: 'dlsm',
    shape: [4000, 2],
    classes: 2,
  },
];

const filter = process.argv.slice(2).find((a) => !a.startsWith('--'));
console.log('(images/s per wall second, and per CPU second: the machine may be shared)');
console.log(
  'model                                      params  wall s/step  img/s  cpu s/step  img/cpu-s',
);
for (const c of cases) {
  if (filter && !c.name.includes(filter)) continue;
  const { wall, cpu } = timeSteps(c.model, c.objective, c.shape, c.classes ?? 2, quick ? 2 : 5);
  const b = c.shape[0] as number;
  console.log(
    `${c.name.padEnd(38)} ${String(countSpecs(c.model.specs)).padStart(10)} ${wall.toFixed(3).padStart(12)} ${(b / wall).toFixed(1).padStart(6)} ${cpu.toFixed(3).padStart(11)} ${(b / cpu).toFixed(1).padStart(10)}`,
  );
}
