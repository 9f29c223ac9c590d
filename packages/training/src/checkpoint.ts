import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { errorMessage, type Key, type Params, type ScorekitError } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { type } from 'arktype';
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { fsyncDir, writeDirAtomic, writeFileAtomic, writeFileDurable } from './atomic.js';
import type { Buffers } from './contracts.js';
import { disposeEma, type Ema } from './ema.js';
import { disposeOptimizerState, type Optimizer, type OptimizerState } from './optimizer.js';
import { printable } from './printable.js';
import {
  checkTensors,
  encodeSafetensors,
  fromHost,
  type HostTensor,
  readSafetensors,
  type SafetensorsContents,
  type TensorSpec,
  toHost,
} from './safetensors.js';

/**
 * Everything needed to continue training exactly (score_sde's `state` dict: step, params,
 * optimizer, EMA; plus the run's base key, since step s uses `fold(key, s)`).
 * `step` is the number of updates completed.
 *
 * @example
 * ```ts
 * const state: TrainState = { step: 0, key: key(0), params, optimizer: opt.init(params) };
 * ```
 */
export interface TrainState {
  readonly step: number;
  readonly key: Key;
  readonly params: Params;
  readonly optimizer: OptimizerState;
  readonly ema?: Ema | undefined;
}

/**
 * Disposes every tensor of a {@link TrainState} (params, optimiser slots, EMA; score_sde's
 * `state` dict, Song et al. 2021 App. H).
 *
 * @example
 * ```ts
 * disposeTrainState(result.state);
 * ```
 */
export function disposeTrainState(state: TrainState): void {
  for (const t of Object.values(state.params)) t.dispose();
  disposeOptimizerState(state.optimizer);
  if (state.ema) disposeEma(state.ema);
}

/**
 * The version of the checkpoint layout written by {@link saveCheckpoint} (stored in
 * `state.json`; score_sde's checkpoints hold the same state: step, model, optimizer, ema).
 *
 * @example
 * ```ts
 * checkpointSchemaVersion; // 1
 * ```
 */
export const checkpointSchemaVersion = 1;

/**
 * The file names inside one checkpoint directory (safetensors, Hugging Face's format, for
 * tensors; JSON for config and state).
 *
 * @example
 * ```ts
 * join(path, checkpointFiles.params); // …/step-000100/params.safetensors
 * ```
 */
export const checkpointFiles = {
  params: 'params.safetensors',
  buffers: 'buffers.safetensors',
  ema: 'ema.safetensors',
  optimizer: 'optimizer.safetensors',
  config: 'config.json',
  state: 'state.json',
} as const;

/**
 * The pointer file in a checkpoint root naming the newest complete checkpoint directory
 * (score_sde's `checkpoint-meta`, replaced atomically).
 *
 * @example
 * ```ts
 * await readFile(join(dir, latestFile), 'utf8'); // 'step-000100\n'
 * ```
 */
export const latestFile = 'latest';

/**
 * The directory name of the checkpoint after `step` updates: `step-000100`.
 *
 * @example
 * ```ts
 * checkpointName(100); // 'step-000100'
 * ```
 */
export function checkpointName(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

/**
 * The arktype schema of a checkpoint's `state.json` (score_sde's `state` minus tensors, Song
 * et al. 2021 App. H): schema version, step, key, optimiser name/count/hyper-parameters, EMA
 * decay/count or `null`.
 *
 * @example
 * ```ts
 * checkpointStateJson(JSON.parse(text)); // the state, or arktype errors naming the field
 * ```
 */
export const checkpointStateJson = type({
  schemaVersion: '1',
  step: 'number.integer >= 0',
  key: ['0 <= number.integer < 4294967296', '0 <= number.integer < 4294967296'],
  optimizer: { name: 'string', count: 'number.integer >= 0', config: 'object' },
  ema: type({ decay: '0 <= number < 1', count: 'number.integer >= 0' }).or('null'),
});

/**
 * The resolved `state.json` of a checkpoint (see {@link checkpointStateJson}).
 *
 * @example
 * ```ts
 * const s: CheckpointStateJson = loaded.stateJson; // s.step, s.optimizer.config, s.ema
 * ```
 */
export type CheckpointStateJson = typeof checkpointStateJson.infer;

/**
 * What {@link saveCheckpoint} writes: the train state (score_sde's `state`, Song et al. 2021
 * App. H), the optimiser (for its name and hyper-parameters), model buffers and the run config.
 *
 * @example
 * ```ts
 * const contents: CheckpointContents = { state, optimizer: opt, buffers, config };
 * ```
 */
export interface CheckpointContents {
  readonly state: TrainState;
  readonly optimizer: Optimizer;
  readonly buffers?: Buffers | undefined;
  /** The resolved, JSON-serialisable config of the run (written as `config.json`). */
  readonly config: unknown;
}

const meta = (kind: string, step: number) => ({
  format: 'scorekit',
  'scorekit.kind': kind,
  'scorekit.step': String(step),
  'scorekit.layout':
    'row-major; NHWC activations; conv filters [kh, kw, cin, cout]; dense [in, out]',
});

const slotTensors = (state: OptimizerState): Record<string, tf.Tensor> => {
  const out: Record<string, tf.Tensor> = {};
  for (const [slot, tensors] of Object.entries(state.slots))
    for (const [name, t] of Object.entries(tensors)) out[`${slot}.${name}`] = t;
  return out;
};

/**
 * The largest |value| a saved or loaded weight (params, EMA) may have: 1e6. Trained networks
 * keep weights of order 1; a weight this large means training diverged (a NaN stop can follow a
 * run of finite but exploding weights), so such a checkpoint is refused instead of resumed.
 *
 * @example
 * ```ts
 * maxAbsWeight; // 1e6
 * ```
 */
export const maxAbsWeight = 1e6;

/** The first value that is not finite, or (with `limit`) whose magnitude exceeds `limit`. */
function firstInsane(
  tensors: Readonly<Record<string, HostTensor>>,
  limit = Number.POSITIVE_INFINITY,
): { name: string; value: number; index: number } | undefined {
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== 'float32') continue;
    const v = t.values;
    for (let i = 0; i < v.length; i++) {
      const x = v[i]!;
      if (!Number.isFinite(x) || Math.abs(x) > limit) return { name, value: x, index: i };
    }
  }
  return undefined;
}
const insaneMessage = (bad: { name: string; value: number; index: number }, limit: number) =>
  Number.isFinite(bad.value)
    ? `tensor '${bad.name}' holds ${bad.value} at index ${bad.index}, beyond the sane magnitude ${limit} (diverged training)`
    : `tensor '${bad.name}' holds ${bad.value} at index ${bad.index}`;

/**
 * Saves a checkpoint as `<dir>/step-NNNNNN/` holding `params.safetensors`,
 * `buffers.safetensors`, `ema.safetensors` (only when an EMA is tracked),
 * `optimizer.safetensors` (slot `s` of param `p` stored as `s.p`, e.g. `exp_avg.conv1.weight`),
 * `config.json` and `state.json` (schema version, step, key, optimizer name/hyper-params/count,
 * EMA decay/count), then points `<dir>/latest` at it.
 *
 * Atomic: the files are written and fsynced in a temporary directory in `dir`, which is renamed
 * into place; `latest` is replaced by an atomic rename too. A failure leaves neither a partial
 * checkpoint nor a changed `latest`. A tensor with a NaN/±∞, or params / EMA beyond
 * {@link maxAbsWeight}, are refused with a `NumericError` naming the tensor, so `latest` always
 * names the last checkpoint whose weights were finite and sane.
 * Returns the checkpoint's path. Nothing is disposed.
 *
 * @example
 * ```ts
 * await saveCheckpoint('runs/moons', { state, optimizer: opt, buffers, config })();
 * // runs/moons/step-000100/…, runs/moons/latest = "step-000100"
 * ```
 */
export function saveCheckpoint(
  dir: string,
  contents: CheckpointContents,
): TE.TaskEither<ScorekitError, string> {
  const { state, optimizer } = contents;
  const name = checkpointName(state.step);
  const path = join(dir, name);
  return async () => {
    const host: Partial<
      Record<'params' | 'buffers' | 'ema' | 'optimizer', Record<string, HostTensor>>
    > = {};
    const groups = {
      params: state.params,
      buffers: (contents.buffers ?? {}) as Readonly<Record<string, tf.Tensor>>,
      ema: state.ema?.params,
      optimizer: slotTensors(state.optimizer),
    };
    for (const [kind, tensors] of Object.entries(groups) as [
      keyof typeof groups,
      Params | undefined,
    ][]) {
      if (!tensors) continue;
      const got = await toHost(tensors, join(path, checkpointFiles[kind]))();
      if (E.isLeft(got)) return got;
      host[kind] = got.right;
      const limit = kind === 'params' || kind === 'ema' ? maxAbsWeight : Number.POSITIVE_INFINITY;
      const bad = firstInsane(got.right, limit);
      if (bad)
        return E.left({
          _tag: 'NumericError',
          step: state.step,
          message: `saveCheckpoint: refusing to save ${checkpointFiles[kind]} at step ${state.step}: ${insaneMessage(bad, limit)}`,
        });
    }
    const stateJson: CheckpointStateJson = {
      schemaVersion: checkpointSchemaVersion,
      step: state.step,
      key: [state.key[0], state.key[1]],
      optimizer: {
        name: optimizer.name,
        count: state.optimizer.count,
        config: optimizer.config as object,
      },
      ema: state.ema ? { decay: state.ema.decay, count: state.ema.count } : null,
    };
    try {
      await mkdir(dir, { recursive: true });
    } catch (cause) {
      return E.left({
        _tag: 'IoError',
        file: dir,
        message: `${dir}: could not create: ${errorMessage(cause)}`,
      });
    }
    const written = await writeDirAtomic(path, (tmp) => async () => {
      for (const kind of ['params', 'buffers', 'ema', 'optimizer'] as const) {
        const tensors = host[kind];
        if (!tensors) continue;
        const bytes = encodeSafetensors({ tensors, metadata: meta(kind, state.step) });
        const w = await writeFileDurable(join(tmp, checkpointFiles[kind]), bytes)();
        if (E.isLeft(w)) return w;
      }
      let config: string;
      try {
        config = `${JSON.stringify(contents.config ?? null, null, 2)}\n`;
      } catch (cause) {
        return E.left({
          _tag: 'ConfigError',
          path: '',
          message: `${join(path, checkpointFiles.config)}: the config is not JSON-serialisable: ${errorMessage(cause)}`,
        });
      }
      const c = await writeFileDurable(join(tmp, checkpointFiles.config), config)();
      if (E.isLeft(c)) return c;
      return writeFileDurable(
        join(tmp, checkpointFiles.state),
        `${JSON.stringify(stateJson, null, 2)}\n`,
      )();
    })();
    if (E.isLeft(written)) return written;
    const latest = await writeFileAtomic(join(dir, latestFile), `${name}\n`)();
    if (E.isLeft(latest)) return latest;
    await fsyncDir(dir)();
    return E.right(path);
  };
}

/**
 * Deletes all but the newest `keep` checkpoint folders (`step-NNNNNN`, by step) in `dir`; the one
 * `latest` names is always kept. Returns the names deleted. `keep` must be ≥ 1.
 *
 * @example
 * ```ts
 * await pruneCheckpoints('runs/score', 3)(); // Right(['step-000100'])
 * ```
 */
export function pruneCheckpoints(
  dir: string,
  keep: number,
): TE.TaskEither<ScorekitError, string[]> {
  return async () => {
    if (!Number.isInteger(keep) || keep < 1)
      return E.left({
        _tag: 'ConfigError',
        path: 'keepLast',
        message: `keepLast: expected an integer >= 1, got ${keep}`,
      });
    const latest = await latestCheckpoint(dir)();
    if (E.isLeft(latest)) return latest;
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => stepFolder.test(n));
    } catch (cause) {
      return E.left({
        _tag: 'IoError',
        file: dir,
        message: `${dir}: could not list: ${errorMessage(cause)}`,
      });
    }
    names.sort((a, b) => Number(b.slice(5)) - Number(a.slice(5)));
    const keepNames = new Set(names.slice(0, keep));
    if (latest.right !== undefined) keepNames.add(basename(latest.right));
    const removed: string[] = [];
    for (const n of names) {
      if (keepNames.has(n)) continue;
      try {
        await rm(join(dir, n), { recursive: true, force: true });
      } catch (cause) {
        return E.left({
          _tag: 'IoError',
          file: join(dir, n),
          message: `${join(dir, n)}: could not delete: ${errorMessage(cause)}`,
        });
      }
      removed.push(n);
    }
    return E.right(removed);
  };
}

const stepFolder = /^step-\d+$/;

/**
 * The path of the newest complete checkpoint under `dir` (read from `<dir>/latest`), or
 * `undefined` if none was written yet.
 *
 * @example
 * ```ts
 * const path = await latestCheckpoint('runs/moons')(); // Right('runs/moons/step-000100')
 * ```
 */
export function latestCheckpoint(dir: string): TE.TaskEither<ScorekitError, string | undefined> {
  const file = join(dir, latestFile);
  return async () => {
    let name: string;
    try {
      name = (await readFile(file, 'utf8')).trim();
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return E.right(undefined);
      return E.left({
        _tag: 'IoError',
        file,
        message: `${file}: could not read: ${errorMessage(cause)}`,
      });
    }
    // confined to `dir`: one step folder name, never '..', a path or an absolute name
    if (!stepFolder.test(name))
      return E.left({
        _tag: 'CheckpointError',
        file,
        message: `${file}: corrupt pointer '${printable(name, 80)}' (expected a step-NNNNNN folder name in ${dir})`,
      });
    const path = join(dir, name);
    const exists = await stat(path).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!exists)
      return E.left({
        _tag: 'CheckpointError',
        file,
        message: `${file}: points at '${name}', which is not a directory`,
      });
    return E.right(path);
  };
}

/**
 * What {@link loadCheckpoint} checks the files against: the model's params (names, shapes,
 * dtypes), the optimiser and, optionally, buffers to restore (score_sde's `restore_checkpoint`).
 *
 * @example
 * ```ts
 * const template: CheckpointTemplate = { params: model.init(key(0)).params, optimizer: opt };
 * ```
 */
export interface CheckpointTemplate {
  /** Params with the expected names, shapes and dtypes (e.g. `model.init(key).params`). */
  readonly params: Params;
  /** The optimiser whose state is stored (its name must match; its slots are loaded). */
  readonly optimizer: Optimizer;
  /** Buffers to restore in place (`assign`) from `buffers.safetensors`; omitted: not read. */
  readonly buffers?: Buffers | undefined;
}

/**
 * A loaded checkpoint: the state to resume from (owned by the caller), the saved config, the
 * validated `state.json` and the directory (score_sde's restored `state`).
 *
 * @example
 * ```ts
 * const { state, config } = loaded; // fit({ resume: state, ... })
 * ```
 */
export interface LoadedCheckpoint {
  readonly state: TrainState;
  readonly config: unknown;
  readonly stateJson: CheckpointStateJson;
  readonly path: string;
}

const specsOf = (tensors: Readonly<Record<string, tf.Tensor>>): Record<string, TensorSpec> => {
  const out: Record<string, TensorSpec> = {};
  for (const [n, t] of Object.entries(tensors)) out[n] = { shape: t.shape, dtype: t.dtype };
  return out;
};

const readJson = async (file: string): Promise<E.Either<ScorekitError, unknown>> => {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    return E.left({
      _tag: 'CheckpointError',
      file,
      message: `${file}: could not read: ${errorMessage(cause)}`,
    });
  }
  try {
    return E.right(JSON.parse(text));
  } catch (cause) {
    return E.left({
      _tag: 'CheckpointError',
      file,
      message: printable(`${file}: corrupt JSON: ${errorMessage(cause)}`),
    });
  }
};

/**
 * Loads the checkpoint directory `path` (see {@link saveCheckpoint}) and validates it against
 * `template`: `state.json` against its arktype schema, every safetensors file for corruption
 * and truncation, and every tensor for presence, shape and dtype (params and EMA against
 * `template.params`, optimizer slots likewise, buffers against `template.buffers`). Any failure
 * is a `CheckpointError` naming the file (and tensor), as is a tensor holding NaN/±∞ or params /
 * EMA beyond {@link maxAbsWeight} (diverged weights). Only after everything validated are
 * tensors created (owned by the caller) and the buffers assigned in place.
 *
 * @example
 * ```ts
 * const loaded = await loadCheckpoint(path, { params: model.init(k).params, optimizer: opt })();
 * // resume: fit({ resume: loaded.right.state, ... })
 * ```
 */
export function loadCheckpoint(
  path: string,
  template: CheckpointTemplate,
): TE.TaskEither<ScorekitError, LoadedCheckpoint> {
  return async () => {
    const stateFile = join(path, checkpointFiles.state);
    const rawState = await readJson(stateFile);
    if (E.isLeft(rawState)) return rawState;
    const parsed = checkpointStateJson(rawState.right);
    if (parsed instanceof type.errors)
      return E.left({
        _tag: 'CheckpointError',
        file: stateFile,
        message: `${stateFile}: ${parsed.summary}`,
      });
    if (parsed.optimizer.name !== template.optimizer.name)
      return E.left({
        _tag: 'CheckpointError',
        file: stateFile,
        message: `${stateFile}: optimizer is '${parsed.optimizer.name}', expected '${template.optimizer.name}'`,
      });
    const config = await readJson(join(path, checkpointFiles.config));
    if (E.isLeft(config)) return config;

    const paramSpecs = specsOf(template.params);
    const slotSpecs: Record<string, TensorSpec> = {};
    for (const slot of template.optimizer.slotNames)
      for (const [n, s] of Object.entries(paramSpecs)) slotSpecs[`${slot}.${n}`] = s;
    const load = async (
      kind: keyof typeof checkpointFiles,
      specs: Record<string, TensorSpec>,
    ): Promise<E.Either<ScorekitError, SafetensorsContents['tensors']>> => {
      const file = join(path, checkpointFiles[kind]);
      const contents = await readSafetensors(file)();
      if (E.isLeft(contents)) {
        const err = contents.left;
        return E.left(err._tag === 'IoError' ? { ...err, _tag: 'CheckpointError' } : err);
      }
      const checked = checkTensors(file, contents.right.tensors, specs);
      if (E.isLeft(checked)) return checked;
      // weights that are not finite or have exploded are refused here, before anything uses them
      const limit = kind === 'params' || kind === 'ema' ? maxAbsWeight : Number.POSITIVE_INFINITY;
      const bad = firstInsane(checked.right, limit);
      if (bad)
        return E.left({
          _tag: 'CheckpointError',
          file,
          tensor: bad.name,
          message: `${file}: ${insaneMessage(bad, limit)}; this checkpoint cannot be used`,
        });
      return checked;
    };
    const params = await load('params', paramSpecs);
    if (E.isLeft(params)) return params;
    const slots = await load('optimizer', slotSpecs);
    if (E.isLeft(slots)) return slots;
    let ema: SafetensorsContents['tensors'] | undefined;
    if (parsed.ema) {
      const got = await load('ema', paramSpecs);
      if (E.isLeft(got)) return got;
      ema = got.right;
    }
    let buffers: SafetensorsContents['tensors'] | undefined;
    if (template.buffers) {
      const got = await load('buffers', specsOf(template.buffers));
      if (E.isLeft(got)) return got;
      buffers = got.right;
    }

    // Everything validated: create tensors.
    const slotParams: Record<string, Record<string, tf.Tensor>> = {};
    const slotTensorsLoaded = fromHost(slots.right);
    for (const slot of template.optimizer.slotNames) {
      const one: Record<string, tf.Tensor> = {};
      for (const n of Object.keys(paramSpecs)) one[n] = slotTensorsLoaded[`${slot}.${n}`]!;
      slotParams[slot] = one;
    }
    if (buffers && template.buffers)
      for (const [n, v] of Object.entries(template.buffers)) {
        const t = tf.tensor(buffers[n]!.values, [...buffers[n]!.shape], buffers[n]!.dtype);
        v.assign(t);
        t.dispose();
      }
    const state: TrainState = {
      step: parsed.step,
      key: [parsed.key[0], parsed.key[1]] as unknown as Key,
      params: fromHost(params.right),
      optimizer: { count: parsed.optimizer.count, slots: slotParams },
      ema:
        parsed.ema && ema
          ? { decay: parsed.ema.decay, count: parsed.ema.count, params: fromHost(ema) }
          : undefined,
    };
    return E.right({ state, config: config.right, stateJson: parsed, path });
  };
}
