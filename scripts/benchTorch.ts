/**
 * scorekit against PyTorch on this machine (`npm run bench -- --vs-torch`; issue 15).
 *
 * Every workload is built twice — here with scorekit's models and losses, and in
 * `scripts/torch/bench.py` with PyTorch twins of the same architectures (parameter counts are
 * checked equal; a workload whose counts differ prints no ratio). The two run interleaved in one
 * process pair: round r times one scorekit training step then one PyTorch step, so that load on
 * the shared machine hits both alike. Printed: the median step time of each, throughput, and the
 * median over rounds of the per-round ratio scorekit ÷ PyTorch, of wall time and of CPU time
 * (steadier when other jobs share the cores).
 *
 * PyTorch runs with one thread, and with glibc malloc tuned as PyTorch users do on CPU
 * (`MALLOC_MMAP_THRESHOLD_ = MALLOC_TRIM_THRESHOLD_ = 4294967296`). Get it (Debian 12):
 * `apt-get install -y python3-torch libopenblas0` (OpenBLAS replaces the reference BLAS that
 * Debian's torch links by default). Without it the PyTorch column is skipped with that message.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import {
  fold,
  type Key,
  key,
  type Params,
  type ScoreFn,
  split,
  type VeSde,
  veSde,
} from '@scorekit/core';
import { classifierObjective, dsm, type LabelledBatch, type Loss } from '@scorekit/losses';
import {
  bindScore,
  countParams,
  parametricLogits,
  parametricScore,
  resnetClassifier,
  scoreUnet,
  toyClassifier,
  toyScoreModel,
  unetSmall,
} from '@scorekit/models';
import { adam, lossAndGrads, type OptimizerState, type OptimizerUpdate } from '@scorekit/training';
import * as tf from '@tensorflow/tfjs-core';

/** One row of the comparison. */
export interface VsTorchWorkload {
  /** Id shared with scripts/torch/bench.py. */
  readonly id: string;
  readonly label: string;
  readonly batch: number;
  /** Throughput unit: optimiser steps or images per second. */
  readonly unit: 'steps/s' | 'img/s';
}

/** The workloads of issue 15's table, plus ResNet-18 width 64 CE. */
export const vsTorchWorkloads: readonly VsTorchWorkload[] = [
  { id: 'toyDsm', label: 'toy score MLP, DSM', batch: 4000, unit: 'steps/s' },
  { id: 'toyTotal', label: 'toy classifier, DLSM + 0.125·CE', batch: 4000, unit: 'steps/s' },
  { id: 'resnet8Ce', label: 'ResNet-18 w8, CE', batch: 32, unit: 'img/s' },
  { id: 'resnet8Total', label: 'ResNet-18 w8, DLSM + CE', batch: 32, unit: 'img/s' },
  { id: 'resnet64Ce', label: 'ResNet-18 w64, CE', batch: 8, unit: 'img/s' },
  { id: 'resnet64Total', label: 'ResNet-18 w64, DLSM + CE', batch: 8, unit: 'img/s' },
  { id: 'unetSmallDsm', label: 'unetSmall, DSM', batch: 8, unit: 'img/s' },
];

/** A built scorekit workload: its trainable parameter count, one Adam step, and cleanup. */
interface Built {
  readonly params: number;
  step(): void;
  dispose(): void;
}

function adamStepper<B>(loss: Loss<B>, params0: Params, batch: B, k: Key, lr: number) {
  const opt = adam({ lr, gradClip: null });
  let params: Params = params0;
  let state: OptimizerState = opt.init(params);
  let s = 0;
  return {
    step() {
      const prev = { params, state };
      const next = tf.tidy(() => {
        const r = lossAndGrads(loss, params, batch, fold(k, s));
        const u = opt.update(r.grads, state, params, s);
        r.total.dataSync(); // wait for the work (as fit reads the loss every step)
        return u as unknown as tf.TensorContainer; // tidy keeps every tensor inside
      }) as unknown as OptimizerUpdate;
      params = next.params;
      state = next.state;
      tf.dispose(Object.values(prev.params));
      for (const slot of Object.values(prev.state.slots)) tf.dispose(Object.values(slot));
      s++;
    },
    dispose() {
      tf.dispose(Object.values(params));
      for (const slot of Object.values(state.slots)) tf.dispose(Object.values(slot));
    },
  };
}

const labels = (b: number, classes: number) =>
  tf.tensor1d(
    Array.from({ length: b }, (_, i) => i % classes),
    'int32',
  );

function buildToy(id: string, batch: number): Built {
  const sde = veSde({ sigmaMin: 0.01, sigmaMax: 10 });
  const [k0, k1, k2, k3] = split(key(0), 4) as [Key, Key, Key, Key];
  const data: LabelledBatch = {
    x: tf.randomNormal([batch, 2], 0, 1, 'float32', 1),
    y: labels(batch, 2),
  };
  if (id === 'toyDsm') {
    const model = toyScoreModel();
    const vars = model.init(k0);
    const loss = dsm({
      sde,
      score: parametricScore(model, vars.buffers, sde, { training: true }),
      eps: 0,
      weighting: 'sigmaPower',
      w: 2,
    }) as Loss<LabelledBatch>;
    const st = adamStepper(loss, vars.params, data, k1, 1e-4);
    return {
      params: countParams(vars.params),
      step: st.step,
      dispose: () => {
        st.dispose();
        tf.dispose([data.x, data.y, ...Object.values(vars.buffers)]);
      },
    };
  }
  const scoreModel = toyScoreModel();
  const scoreVars = scoreModel.init(k2);
  const score: ScoreFn = bindScore(scoreModel, scoreVars, sde);
  const model = toyClassifier({ classes: 2 });
  const vars = model.init(k3);
  const loss = classifierObjective(
    { method: 'total', lambda: 0.125, eps: 0, wDlsm: 2, wCe: 0 },
    { sde, logits: parametricLogits(model, vars.buffers, sde, { training: true }), score },
  );
  const st = adamStepper(loss, vars.params, data, k1, 1e-5);
  return {
    params: countParams(vars.params),
    step: st.step,
    dispose: () => {
      st.dispose();
      tf.dispose([
        data.x,
        data.y,
        ...Object.values(vars.buffers),
        ...Object.values(scoreVars.params),
        ...Object.values(scoreVars.buffers),
      ]);
    },
  };
}

function images(b: number, seed: number): tf.Tensor4D {
  return tf.randomUniform([b, 32, 32, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
}

function buildResnet(id: string, batch: number): Built {
  const sde: VeSde = veSde({ sigmaMin: 0.01, sigmaMax: 50 });
  const width = id.startsWith('resnet64') ? 64 : 8;
  const clf = resnetClassifier({ depth: 18, width, classes: 10 });
  const vars = clf.init(key(1));
  const data: LabelledBatch = { x: images(batch, 1), y: labels(batch, 10) };
  const logits = parametricLogits(clf, vars.buffers, sde, { training: true });
  const zeroScore: ScoreFn = (x) => tf.zerosLike(x);
  const loss = id.endsWith('Ce')
    ? classifierObjective({ method: 'crossEntropy' }, { sde, logits })
    : classifierObjective({ method: 'total', lambda: 1 }, { sde, logits, score: zeroScore });
  const st = adamStepper(loss, vars.params, data, key(2), 1e-4);
  return {
    params: countParams(vars.params),
    step: st.step,
    dispose: () => {
      st.dispose();
      tf.dispose([data.x, data.y, ...Object.values(vars.buffers)]);
    },
  };
}

function buildUnet(batch: number): Built {
  const sde = veSde({ sigmaMin: 0.01, sigmaMax: 50 });
  const unet = scoreUnet(unetSmall);
  const vars = unet.init(key(4));
  const x = images(batch, 5);
  const loss = dsm({
    sde,
    score: parametricScore(unet, vars.buffers, sde, { training: true, key: key(6) }),
    eps: 1e-3,
    weighting: 'sigma2',
  });
  const st = adamStepper(loss, vars.params, { x }, key(7), 2e-4);
  return {
    params: countParams(vars.params),
    step: st.step,
    dispose: () => {
      st.dispose();
      tf.dispose([x, ...Object.values(vars.buffers)]);
    },
  };
}

/** Builds the scorekit side of workload `w`. */
export function buildScorekitWorkload(w: VsTorchWorkload): Built {
  if (w.id.startsWith('toy')) return buildToy(w.id, w.batch);
  if (w.id.startsWith('resnet')) return buildResnet(w.id, w.batch);
  if (w.id === 'unetSmallDsm') return buildUnet(w.batch);
  throw new Error(`benchTorch: unknown workload '${w.id}'`);
}

/** The PyTorch step server (scripts/torch/bench.py) over JSON lines. */
interface TorchPeer {
  readonly version: string;
  call(msg: Record<string, unknown>): Promise<Record<string, unknown>>;
  close(): void;
}

/** How to get the PyTorch column, printed when it is missing. */
export const torchInstallHint =
  'PyTorch not found: install it with `apt-get install -y python3-torch libopenblas0` (Debian 12; ' +
  'or point BENCH_PYTHON at a python3 with torch). The PyTorch column is skipped.';

async function startTorch(): Promise<TorchPeer | undefined> {
  const python = process.env.BENCH_PYTHON ?? '/usr/bin/python3';
  const script = new URL('./torch/bench.py', import.meta.url).pathname;
  const child = spawn(python, [script], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      ...process.env,
      MALLOC_MMAP_THRESHOLD_: '4294967296',
      MALLOC_TRIM_THRESHOLD_: '4294967296',
      OMP_NUM_THREADS: '1',
      OPENBLAS_NUM_THREADS: '1',
      MKL_NUM_THREADS: '1',
    },
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += String(d);
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<never>((_, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`exited with ${code}: ${stderr.trim()}`)));
  });
  const call = async (msg: Record<string, unknown>) => {
    child.stdin.write(`${JSON.stringify(msg)}\n`);
    const next = await Promise.race([lines.next(), exited]);
    if (next.done) throw new Error(`scripts/torch/bench.py closed: ${stderr.trim()}`);
    const reply = JSON.parse(next.value) as Record<string, unknown>;
    if (typeof reply.error === 'string') throw new Error(`scripts/torch/bench.py: ${reply.error}`);
    return reply;
  };
  exited.catch(() => undefined);
  try {
    const hello = await call({ cmd: 'hello' });
    return {
      version: String(hello.torch),
      call,
      close: () => {
        child.stdin.end(`${JSON.stringify({ cmd: 'quit' })}\n`);
      },
    };
  } catch (e) {
    child.kill();
    console.log(`${torchInstallHint}\n  (${e instanceof Error ? e.message.split('\n')[0] : e})`);
    return undefined;
  }
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

/** One measured row. */
export interface VsTorchRow {
  readonly workload: VsTorchWorkload;
  readonly scorekitMs: number;
  readonly torchMs?: number;
  /** Median over rounds of scorekit ÷ PyTorch step time (undefined without a valid pairing). */
  readonly ratio?: number;
  /**
   * The same with CPU time (process-wide: scorekit's includes its GC and native threads) —
   * steadier than wall time on a loaded machine.
   */
  readonly cpuRatio?: number;
  readonly note?: string;
}

/**
 * Runs every workload interleaved with PyTorch (when present): `warmup` untimed steps each,
 * then `rounds` rounds of one scorekit step + one PyTorch step.
 */
export async function benchVsTorch(options: {
  readonly rounds: number;
  readonly warmup: number;
  readonly only?: readonly string[];
}): Promise<VsTorchRow[]> {
  const torch = await startTorch();
  if (torch) console.log(`PyTorch ${torch.version}, one thread, OpenBLAS, tuned malloc`);
  const rows: VsTorchRow[] = [];
  try {
    for (const w of vsTorchWorkloads) {
      if (options.only && !options.only.includes(w.id)) continue;
      const built = buildScorekitWorkload(w);
      let torchOk = false;
      let note: string | undefined;
      if (torch) {
        const reply = await torch.call({ cmd: 'setup', workload: w.id, batch: w.batch });
        torchOk = reply.params === built.params;
        if (!torchOk)
          note = `parameter counts differ (scorekit ${built.params}, PyTorch ${reply.params}): no ratio`;
      }
      try {
        for (let i = 0; i < options.warmup; i++) {
          built.step();
          if (torchOk) await torch!.call({ cmd: 'step' });
        }
        const ours: number[] = [];
        const theirs: number[] = [];
        const oursCpu: number[] = [];
        const theirsCpu: number[] = [];
        for (let r = 0; r < options.rounds; r++) {
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          built.step();
          ours.push(performance.now() - t0);
          const c = process.cpuUsage(c0);
          oursCpu.push((c.user + c.system) / 1000);
          if (torchOk) {
            const reply = await torch!.call({ cmd: 'step' });
            theirs.push(Number(reply.ms));
            theirsCpu.push(Number(reply.cpuMs));
          }
        }
        rows.push({
          workload: w,
          scorekitMs: median(ours),
          ...(torchOk
            ? {
                torchMs: median(theirs),
                ratio: median(ours.map((o, i) => o / theirs[i]!)),
                cpuRatio: median(oursCpu.map((o, i) => o / theirsCpu[i]!)),
              }
            : {}),
          ...(note ? { note } : {}),
        });
      } finally {
        built.dispose();
      }
      printRow(rows.at(-1)!, built.params);
    }
  } finally {
    torch?.close();
  }
  return rows;
}

function rate(w: VsTorchWorkload, ms: number): string {
  const perSec = (w.unit === 'img/s' ? w.batch : 1) / (ms / 1000);
  return `${perSec.toFixed(perSec < 10 ? 2 : 1)} ${w.unit}`;
}

function printRow(r: VsTorchRow, params: number): void {
  const w = r.workload;
  const head = `${w.label} (${params.toLocaleString('en')} params), batch ${w.batch}`;
  const ours = `scorekit ${r.scorekitMs.toFixed(0)} ms (${rate(w, r.scorekitMs)})`;
  const theirs =
    r.torchMs !== undefined
      ? `  PyTorch ${r.torchMs.toFixed(0)} ms (${rate(w, r.torchMs)})  scorekit ÷ PyTorch ${r.ratio!.toFixed(2)} (CPU time ${r.cpuRatio!.toFixed(2)})`
      : '';
  console.log(`${head}\n  ${ours}${theirs}${r.note ? `  [${r.note}]` : ''}`);
}
