import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  errorMessage,
  type Key,
  key,
  type Params,
  parseConfig,
  type ScorekitError,
  unwrap,
} from '@scorekit/core';
import { checkJsonValue } from '@scorekit/example-kit';
import {
  type Buffers,
  disposeVariables,
  type Model,
  type ModelVariables,
  type Network,
  resnetClassifier,
  scoreUnet,
} from '@scorekit/models';
import {
  adam,
  checkpointFiles,
  disposeOptimizerState,
  latestCheckpoint,
  loadCheckpoint,
  printable,
  type TrainState,
} from '@scorekit/training';
import type * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { type CifarConfig, cifarConfig } from './config.js';

/** Which network a checkpoint holds: the score model (stage 1) or the classifier (stage 2). */
export type CheckpointKind = 'score' | 'classifier';

const commandOf: Record<CheckpointKind, CifarConfig['command']> = {
  score: 'train-score',
  classifier: 'train-classifier',
};
const describeKind: Record<CheckpointKind, string> = {
  score: 'a score-model checkpoint (written by train-score)',
  classifier: 'a classifier checkpoint (written by train-classifier)',
};

const checkpointError = (file: string, message: string): ScorekitError => ({
  _tag: 'CheckpointError',
  file,
  message,
});

/**
 * The score U-Net or the ResNet classifier of a run config (Song et al. 2021 App. H NCSN++;
 * Chao et al. 2022 §5 noise-conditioned ResNet).
 *
 * @example
 * ```ts
 * const unet = buildModel(cfg, 'score');
 * ```
 */
export function buildModel(cfg: CifarConfig, kind: 'score'): Network<tf.Tensor4D>;
export function buildModel(cfg: CifarConfig, kind: 'classifier'): Network<tf.Tensor2D>;
export function buildModel(cfg: CifarConfig, kind: CheckpointKind): Network {
  return kind === 'score' ? scoreUnet(cfg.score.model) : resnetClassifier(cfg.classifier.model);
}

/**
 * The checkpoint directory `path` names: a checkpoint root holding a `latest` pointer (its
 * newest checkpoint), or one `step-NNNNNN` directory (score_sde's checkpoint-meta, Song et
 * al. 2021 App. H).
 *
 * @example
 * ```ts
 * await resolveCheckpoint('out/cifar-small/score')(); // Right('…/score/step-001500')
 * ```
 */
export function resolveCheckpoint(path: string): TE.TaskEither<ScorekitError, string> {
  return async () => {
    const latest = await latestCheckpoint(path)();
    if (E.isLeft(latest)) return latest;
    if (latest.right !== undefined) return E.right(latest.right);
    const isStep = await stat(join(path, checkpointFiles.state)).then(
      (s) => s.isFile(),
      () => false,
    );
    if (isStep) return E.right(path);
    return E.left(
      checkpointError(
        path,
        `${path}: no checkpoint here (expected a folder with a 'latest' pointer or a step-NNNNNN folder with state.json)`,
      ),
    );
  };
}

/**
 * Reads and validates the run config saved in checkpoint `path` and checks it holds `kind`:
 * a classifier checkpoint given where a score model is expected (or the reverse) is a
 * `CheckpointError` saying which model the checkpoint holds.
 *
 * @example
 * ```ts
 * const cfg = await checkpointConfig('out/score/step-000004', 'score')();
 * ```
 */
export function checkpointConfig(
  path: string,
  kind: CheckpointKind,
): TE.TaskEither<ScorekitError, CifarConfig> {
  const file = join(path, checkpointFiles.config);
  return async () => {
    let raw: unknown;
    try {
      // no Infinity (a 1e999 in the file) and no prototype keys get past this point
      raw = checkJsonValue(JSON.parse(await readFile(file, 'utf8')), file);
    } catch (cause) {
      return E.left(
        checkpointError(file, printable(`${file}: cannot read: ${errorMessage(cause)}`)),
      );
    }
    const command = (raw as { command?: unknown } | null)?.command;
    if (command !== commandOf[kind]) {
      const holds =
        command === 'train-score'
          ? 'a score-model checkpoint'
          : command === 'train-classifier'
            ? 'a classifier checkpoint'
            : `not a scorekit CIFAR checkpoint (command: ${JSON.stringify(command)})`;
      return E.left(
        checkpointError(file, `${path}: expected ${describeKind[kind]}, but this is ${holds}`),
      );
    }
    try {
      return E.right(parseConfig(cifarConfig, raw, file));
    } catch (e) {
      return E.left(checkpointError(file, errorMessage(e)));
    }
  };
}

/** A network loaded from a checkpoint, frozen: its model, variables, run config and path. */
export interface Frozen<Out extends tf.Tensor> {
  readonly model: Model<Out>;
  readonly vars: ModelVariables;
  readonly config: CifarConfig;
  readonly path: string;
  readonly step: number;
}

/**
 * Loads a training checkpoint of `kind` into a fresh network built from the checkpoint's
 * own config, returning the state to resume from (owned by the caller). Used by `--resume`
 * (fit's resume: the TrainState of `loadCheckpoint`).
 *
 * @example
 * ```ts
 * const { state, buffers } = await unwrap(loadTrainingCheckpoint(path, 'score', cfg, unet));
 * ```
 */
export function loadTrainingCheckpoint(
  path: string,
  kind: CheckpointKind,
  cfg: CifarConfig,
  model: Network,
): TE.TaskEither<ScorekitError, { state: TrainState; buffers: Buffers }> {
  return async () => {
    const saved = await checkpointConfig(path, kind)();
    if (E.isLeft(saved)) return saved;
    const vars = model.init(key(cfg.seed));
    const lr = kind === 'score' ? cfg.score.lr : cfg.classifier.lr;
    const loaded = await loadCheckpoint(path, {
      params: vars.params,
      optimizer: adam({ lr }),
      buffers: vars.buffers,
    })();
    for (const t of Object.values(vars.params)) t.dispose();
    if (E.isLeft(loaded)) {
      for (const b of Object.values(vars.buffers)) b.dispose();
      return loaded;
    }
    return E.right({ state: loaded.right.state, buffers: vars.buffers });
  };
}

/** Where a training command starts: a resumed state, or fresh params. Owned by the caller. */
export interface TrainingStart {
  readonly resume?: TrainState;
  readonly initParams?: Params;
  readonly buffers: Buffers;
}

/**
 * Starts a training command: with `--resume`, the latest checkpoint in `cfg.out` (an error if
 * there is none); otherwise fresh variables of `model` from `kInit`.
 *
 * @example
 * ```ts
 * const { resume, initParams, buffers } = await startTraining(cfg, 'score', unet, kInit, log);
 * ```
 */
export async function startTraining(
  cfg: CifarConfig,
  kind: CheckpointKind,
  model: Network,
  kInit: Key,
  log: (line: string) => void,
): Promise<TrainingStart> {
  if (!cfg.inputs.resume) {
    const vars = model.init(kInit);
    return { initParams: vars.params, buffers: vars.buffers };
  }
  const latest = await unwrap(latestCheckpoint(cfg.out));
  if (latest === undefined) throw new Error(`--resume: no checkpoint in ${cfg.out}`);
  const loaded = await unwrap(loadTrainingCheckpoint(latest, kind, cfg, model));
  log(`resuming from ${latest} (step ${loaded.state.step})`);
  return { resume: loaded.state, buffers: loaded.buffers };
}

/**
 * Loads a checkpoint of `kind` for inference (frozen): the network is rebuilt from the
 * checkpoint's saved config; the score model takes its EMA weights (the frozen score of DLSM,
 * Chao et al. 2022 §3, uses the EMA), the classifier its params and batch-norm running
 * statistics. `path` may be a checkpoint root (its `latest`) or one step folder.
 *
 * @example
 * ```ts
 * const score = await unwrap(loadFrozen('out/score', 'score'));
 * ```
 */
export function loadFrozen(
  path: string,
  kind: 'score',
): TE.TaskEither<ScorekitError, Frozen<tf.Tensor4D>>;
export function loadFrozen(
  path: string,
  kind: 'classifier',
): TE.TaskEither<ScorekitError, Frozen<tf.Tensor2D>>;
export function loadFrozen(
  path: string,
  kind: CheckpointKind,
): TE.TaskEither<ScorekitError, Frozen<tf.Tensor>> {
  return async () => {
    const dir = await resolveCheckpoint(path)();
    if (E.isLeft(dir)) return dir;
    const saved = await checkpointConfig(dir.right, kind)();
    if (E.isLeft(saved)) return saved;
    const cfg = saved.right;
    const model: Network =
      kind === 'score' ? buildModel(cfg, 'score') : buildModel(cfg, 'classifier');
    const template = model.init(key(0));
    const loaded = await loadCheckpoint(dir.right, {
      params: template.params,
      optimizer: adam({}),
      buffers: template.buffers,
    })();
    for (const t of Object.values(template.params)) t.dispose();
    if (E.isLeft(loaded)) {
      for (const b of Object.values(template.buffers)) b.dispose();
      return loaded;
    }
    const { state } = loaded.right;
    let params = state.params;
    if (kind === 'score' && state.ema) {
      params = state.ema.params;
      for (const t of Object.values(state.params)) t.dispose();
    } else if (state.ema) {
      for (const t of Object.values(state.ema.params)) t.dispose();
    }
    disposeOptimizerState(state.optimizer);
    return E.right({
      model,
      vars: { params, buffers: template.buffers },
      config: cfg,
      path: dir.right,
      step: state.step,
    });
  };
}

/**
 * Disposes a frozen network's params and buffers.
 *
 * @example
 * ```ts
 * disposeFrozen(score);
 * ```
 */
export function disposeFrozen(f: Frozen<tf.Tensor>): void {
  disposeVariables(f.vars);
}
