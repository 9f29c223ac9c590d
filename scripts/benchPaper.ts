/**
 * Throughput of the paper's CIFAR models on this machine (`npm run bench -- --paper`), to size
 * a GPU run (Chao et al. 2022 §5; method.md §5): one training step of
 *
 * - the NCSN++ score model (107.6 M parameters) with DSM on the VE SDE (Song et al. 2021,
 *   eq. 7), and its forward pass alone (the frozen score inside every DLSM step);
 * - the noise-conditioned ResNet-18 classifier (11.3 M) with CE, and with DLSM + CE (eq. 10
 *   + λ·CE: double back-propagation), the frozen score replaced by a zero field so that the
 *   classifier's own cost is measured (add the score's forward time for a full DLSM step).
 *
 * Each is timed as the median of a few steps after one warm-up step at a small batch (the
 * wasm heap is 4 GB), then extrapolated to the paper's schedules: 1.3 M score steps at batch
 * 128, 60 k classifier steps at batch 150. A model that does not fit is reported, not hidden.
 */
import { fold, key, type Params, type ScoreFn, type VeSde, veSde } from '@scorekit/core';
import { classifierObjective, dsm, type LabelledBatch, type Loss } from '@scorekit/losses';
import {
  countParams,
  ncsnppCifar10,
  parametricLogits,
  parametricScore,
  resnetClassifier,
  scoreUnet,
} from '@scorekit/models';
import { lossAndGrads } from '@scorekit/training';
import * as tf from '@tensorflow/tfjs-core';
import { medianMs } from './timing.js';

/** One measured model step. */
export interface PaperStepTiming {
  readonly name: string;
  readonly batch: number;
  /** Median seconds per step, or the error that stopped it. */
  readonly seconds?: number;
  readonly error?: string;
}

const firstLine = (e: unknown) => (e instanceof Error ? e.message.split('\n')[0]! : String(e));

function measure(name: string, batch: number, step: () => void, repeats: number): PaperStepTiming {
  try {
    return { name, batch, seconds: medianMs(step, 1, repeats) / 1000 };
  } catch (e) {
    return { name, batch, error: firstLine(e) };
  }
}

function gradStep<B>(loss: Loss<B>, params: Params, batch: B, k: ReturnType<typeof key>): void {
  // tidy: everything of the step is freed, also when it throws (e.g. out of memory)
  tf.tidy(() => {
    const r = lossAndGrads(loss, params, batch, k);
    Object.values(r.grads)[0]!.dataSync(); // wait for the work: read one gradient back
  });
}

/**
 * Times the paper's score and classifier models (see the module comment) at the given
 * batches; `repeats` timed steps each.
 *
 * @example
 * ```ts
 * const rows = benchPaperModels({ scoreBatch: 1, classifierBatch: 8, repeats: 2 });
 * ```
 */
export function benchPaperModels(options: {
  scoreBatch: number;
  classifierBatch: number;
  repeats: number;
}): PaperStepTiming[] {
  const sde = veSde({ sigmaMin: 0.01, sigmaMax: 50, N: 1000 });
  const rows: PaperStepTiming[] = [];
  const images = (b: number, seed: number) =>
    tf.tidy(() =>
      tf.clipByValue(
        tf.add(0.5, tf.mul(0.25, tf.randomNormal([b, 32, 32, 3], 0, 1, 'float32', seed))),
        0,
        1,
      ),
    );

  try {
    rows.push(...benchClassifier(sde, images, options));
  } catch (e) {
    rows.push({ name: 'ResNet-18 (init)', batch: options.classifierBatch, error: firstLine(e) });
  }
  try {
    rows.push(...benchScore(sde, images, options));
  } catch (e) {
    rows.push({ name: 'NCSN++ (init)', batch: options.scoreBatch, error: firstLine(e) });
  }
  return rows;
}

type Images = (b: number, seed: number) => tf.Tensor;
type Options = Parameters<typeof benchPaperModels>[0];

/** ResNet-18 classifier: CE and DLSM + CE against a zero score. */
function benchClassifier(sde: VeSde, images: Images, options: Options): PaperStepTiming[] {
  const rows: PaperStepTiming[] = [];
  const clf = resnetClassifier({ depth: 18, width: 64, classes: 10 });
  const cv = clf.init(key(1));
  console.log(`ResNet-18 classifier: ${countParams(cv.params).toLocaleString('en')} parameters`);
  const cb = options.classifierBatch;
  const batch: LabelledBatch = {
    x: images(cb, 1),
    y: tf.tensor1d(
      Array.from({ length: cb }, (_, i) => i % 10),
      'int32',
    ),
  };
  const zeroScore: ScoreFn = (x) => tf.zerosLike(x);
  const logits = parametricLogits(clf, cv.buffers, sde, { training: true });
  const ce = classifierObjective({ method: 'crossEntropy' }, { sde, logits });
  const total = classifierObjective(
    { method: 'total', lambda: 1 },
    { sde, logits, score: zeroScore },
  );
  rows.push(
    measure('ResNet-18 CE step', cb, () => gradStep(ce, cv.params, batch, key(2)), options.repeats),
  );
  rows.push(
    measure(
      'ResNet-18 DLSM+CE step (score excluded)',
      cb,
      () => gradStep(total, cv.params, batch, key(3)),
      options.repeats,
    ),
  );
  tf.dispose([batch.x, batch.y, ...Object.values(cv.params), ...Object.values(cv.buffers)]);
  return rows;
}

/** NCSN++ score model: DSM training step and forward pass. */
function benchScore(sde: VeSde, images: Images, options: Options): PaperStepTiming[] {
  const rows: PaperStepTiming[] = [];
  const unet = scoreUnet({ ...ncsnppCifar10 });
  const uv = unet.init(key(4));
  console.log(`NCSN++ score model: ${countParams(uv.params).toLocaleString('en')} parameters`);
  const sb = options.scoreBatch;
  const x = images(sb, 5);
  const loss = dsm({
    sde,
    score: parametricScore(unet, uv.buffers, sde, { training: true, key: fold(key(6), 1) }),
    eps: 1e-3,
    weighting: 'sigma2',
  });
  rows.push(
    measure(
      'NCSN++ forward (frozen score in DLSM)',
      sb,
      () => {
        tf.tidy(() => {
          const t = tf.fill([sb], 0.5) as tf.Tensor1D;
          const s = parametricScore(unet, uv.buffers, sde)(uv.params, x, t);
          s.dataSync();
        });
      },
      options.repeats,
    ),
  );
  rows.push(
    measure('NCSN++ DSM step', sb, () => gradStep(loss, uv.params, { x }, key(7)), options.repeats),
  );
  tf.dispose([x, ...Object.values(uv.params), ...Object.values(uv.buffers)]);
  return rows;
}

/**
 * Prints {@link benchPaperModels} with images/s and the time the paper's schedules would
 * take at that rate (1.3 M × 128 score images; 60 k × 150 classifier images, DLSM + CE
 * including the score's forward pass).
 *
 * @example
 * ```ts
 * reportPaperModels(benchPaperModels({ scoreBatch: 1, classifierBatch: 8, repeats: 2 }));
 * ```
 */
export function reportPaperModels(rows: readonly PaperStepTiming[]): void {
  const perImage = (name: string) => {
    const r = rows.find((q) => q.name.startsWith(name));
    return r?.seconds !== undefined ? r.seconds / r.batch : undefined;
  };
  for (const r of rows)
    console.log(
      r.seconds !== undefined
        ? `${r.name.padEnd(40)} batch ${String(r.batch).padStart(3)}: ${r.seconds.toFixed(2)} s/step, ${(r.batch / r.seconds).toFixed(2)} img/s`
        : `${r.name.padEnd(40)} batch ${String(r.batch).padStart(3)}: failed: ${r.error}`,
    );
  const days = (s: number) => `${(s / 86400).toFixed(0)} days`;
  const dsmPer = perImage('NCSN++ DSM');
  const fwdPer = perImage('NCSN++ forward');
  const totalPer = perImage('ResNet-18 DLSM');
  const cePer = perImage('ResNet-18 CE');
  if (dsmPer !== undefined)
    console.log(
      `paper score schedule (1.3 M steps × 128) at this rate: ${days(dsmPer * 1.3e6 * 128)}`,
    );
  if (cePer !== undefined)
    console.log(`paper CE classifier (60 k × 150) at this rate: ${days(cePer * 6e4 * 150)}`);
  if (totalPer !== undefined && fwdPer !== undefined)
    console.log(
      `paper DLSM+CE classifier (60 k × 150, with the score forward) at this rate: ${days((totalPer + fwdPer) * 6e4 * 150)}`,
    );
}
