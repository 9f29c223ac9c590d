import {
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { key, type Params, type ScorekitError } from '@scorekit/core';
import { expectNoLeaksAsync } from '@scorekit/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adam } from './adam.js';
import {
  checkpointName,
  disposeTrainState,
  latestCheckpoint,
  loadCheckpoint,
  pruneCheckpoints,
  saveCheckpoint,
  type TrainState,
} from './checkpoint.js';
import { emaInit } from './ema.js';
import {
  decodeSafetensors,
  encodeSafetensors,
  maxHeaderBytes,
  readSafetensors,
} from './safetensors.js';

const optimizer = adam({ lr: 1e-3, warmup: 10 });

/** A small train state with distinct values in every tensor. */
function makeState(step: number, scale = 1): TrainState {
  const tensors = tf.tidy(() => {
    const params: Params = {
      'dense.weight': tf.mul(
        tf.tensor2d([
          [1, 2, 3],
          [4, 5, 6],
        ]),
        scale,
      ),
      'dense.bias': tf.mul(tf.tensor1d([0.5, -0.25, 0.125]), scale),
    };
    const m: Record<string, tf.Tensor> = {};
    const v: Record<string, tf.Tensor> = {};
    for (const [n, p] of Object.entries(params)) {
      m[n] = tf.mul(p, 0.1);
      v[n] = tf.mul(tf.square(p), 0.01);
    }
    const ema = emaInit(params, 0.999);
    return { params, m, v, ema: ema.params };
  });
  return {
    step,
    key: key(42),
    params: tensors.params,
    optimizer: { count: step, slots: { exp_avg: tensors.m, exp_avg_sq: tensors.v } },
    ema: { decay: 0.999, count: step, params: tensors.ema },
  };
}

const values = (t: tf.Tensor) => Array.from(t.dataSync());
const left = <A>(e: E.Either<ScorekitError, A>): ScorekitError => {
  if (E.isRight(e)) throw new Error('expected an error');
  return e.left;
};

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'scorekit-ckpt-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('checkpoints', () => {
  it('saves the documented layout and loads back an identical state, buffers restored in place', async () => {
    await expectNoLeaksAsync(async () => {
      const dir = join(root, 'roundtrip');
      const state = makeState(7);
      const buffers = tf.tidy(() => ({
        'bn.running_mean': tf.variable(tf.tensor1d([0.3, 0.7]), false),
      }));
      const saved = await saveCheckpoint(dir, {
        state,
        optimizer,
        buffers,
        config: { lr: 1e-3 },
      })();
      if (E.isLeft(saved)) throw new Error(saved.left.message);
      expect(saved.right).toBe(join(dir, 'step-000007'));
      expect(checkpointName(123456)).toBe('step-123456');
      expect((await readdir(dir)).sort()).toEqual(['latest', 'step-000007']);
      expect(await readFile(join(dir, 'latest'), 'utf8')).toBe('step-000007\n');
      expect((await readdir(saved.right)).sort()).toEqual([
        'buffers.safetensors',
        'config.json',
        'ema.safetensors',
        'optimizer.safetensors',
        'params.safetensors',
        'state.json',
      ]);
      const stateJson = JSON.parse(await readFile(join(saved.right, 'state.json'), 'utf8'));
      expect(stateJson).toEqual({
        schemaVersion: 1,
        step: 7,
        key: [state.key[0], state.key[1]],
        optimizer: { name: 'adam', count: 7, config: optimizer.config },
        ema: { decay: 0.999, count: 7 },
      });
      expect(JSON.parse(await readFile(join(saved.right, 'config.json'), 'utf8'))).toEqual({
        lr: 1e-3,
      });
      const opt = decodeSafetensors(
        await readFile(join(saved.right, 'optimizer.safetensors')),
        'o',
      );
      if (E.isLeft(opt)) throw new Error(opt.left.message);
      expect(Object.keys(opt.right.tensors).sort()).toEqual([
        'exp_avg.dense.bias',
        'exp_avg.dense.weight',
        'exp_avg_sq.dense.bias',
        'exp_avg_sq.dense.weight',
      ]);

      expect(await latestCheckpoint(dir)()).toEqual(E.right(saved.right));
      tf.tidy(() => buffers['bn.running_mean'].assign(tf.zeros([2])));
      const template = makeState(0, 0);
      const loaded = await loadCheckpoint(saved.right, {
        params: template.params,
        optimizer,
        buffers,
      })();
      if (E.isLeft(loaded)) throw new Error(loaded.left.message);
      const s = loaded.right.state;
      expect(s.step).toBe(7);
      expect(s.key).toEqual(state.key);
      expect(s.optimizer.count).toBe(7);
      expect(s.ema?.decay).toBe(0.999);
      expect(s.ema?.count).toBe(7);
      for (const n of Object.keys(state.params)) {
        expect(values(s.params[n]!)).toEqual(values(state.params[n]!));
        expect(values(s.ema!.params[n]!)).toEqual(values(state.ema!.params[n]!));
        for (const slot of ['exp_avg', 'exp_avg_sq'])
          expect(values(s.optimizer.slots[slot]![n]!)).toEqual(
            values(state.optimizer.slots[slot]![n]!),
          );
      }
      expect(values(buffers['bn.running_mean'])).toEqual(Array.from(new Float32Array([0.3, 0.7])));
      expect(loaded.right.config).toEqual({ lr: 1e-3 });
      for (const x of [state, template, s]) disposeTrainState(x);
      buffers['bn.running_mean'].dispose();
    });
  });

  it('a failure mid-save leaves the previous checkpoint and `latest` untouched, no partial directory', async () => {
    await expectNoLeaksAsync(async () => {
      const dir = join(root, 'atomic');
      const good = makeState(5);
      expect(E.isRight(await saveCheckpoint(dir, { state: good, optimizer, config: {} })())).toBe(
        true,
      );
      const next = makeState(10, 2);
      // A config that cannot be serialised fails after the tensor files were written.
      const bad = await saveCheckpoint(dir, { state: next, optimizer, config: { n: 10n } })();
      expect(left(bad).message).toMatch(/config\.json: the config is not JSON-serialisable/);
      expect((await readdir(dir)).sort()).toEqual(['latest', 'step-000005']);
      expect(await readFile(join(dir, 'latest'), 'utf8')).toBe('step-000005\n');
      // NaN params are refused, naming the tensor.
      const nan = makeState(15);
      const withNan = {
        ...nan,
        params: { ...nan.params, 'dense.bias': tf.tensor1d([0, Number.NaN, 1]) },
      };
      const refused = left(await saveCheckpoint(dir, { state: withNan, optimizer, config: {} })());
      expect(refused._tag).toBe('NumericError');
      expect(refused.message).toMatch(/params\.safetensors.*'dense\.bias' holds NaN/);
      expect((await readdir(dir)).sort()).toEqual(['latest', 'step-000005']);
      withNan.params['dense.bias'].dispose();
      for (const x of [good, next, nan]) disposeTrainState(x);
    });
  });

  it('loading reports a truncated file, a corrupt header, a wrong shape and a missing tensor by name', async () => {
    await expectNoLeaksAsync(async () => {
      const dir = join(root, 'corrupt');
      const state = makeState(3);
      const saved = await saveCheckpoint(dir, { state, optimizer, config: {} })();
      if (E.isLeft(saved)) throw new Error(saved.left.message);
      const path = saved.right;
      const copy = async (name: string) => {
        const to = join(root, `corrupt-${name}`);
        await rm(to, { recursive: true, force: true });
        await cp(path, to, { recursive: true });
        return to;
      };
      const load = async (p: string, params: Params = state.params) =>
        left(await loadCheckpoint(p, { params, optimizer })());

      const truncated = await copy('truncated');
      const optFile = join(truncated, 'optimizer.safetensors');
      const size = (await readFile(optFile)).length;
      await truncate(optFile, size - 4);
      const t = await load(truncated);
      expect(t._tag).toBe('CheckpointError');
      expect(t.message).toMatch(
        /optimizer\.safetensors: tensor 'exp_avg_sq\.dense\.weight': truncated/,
      );

      const corrupt = await copy('header');
      const pFile = join(corrupt, 'params.safetensors');
      const bytes = await readFile(pFile);
      bytes[9] = 0x7b; // '{{…' is not JSON
      bytes[10] = 0x7b;
      await writeFile(pFile, bytes);
      expect((await load(corrupt)).message).toMatch(/params\.safetensors: corrupt header/);

      const wrong = tf.tidy(() => ({ ...state.params, 'dense.weight': tf.zeros([3, 2]) }));
      const shape = await load(path, wrong);
      expect(shape.message).toMatch(
        /params\.safetensors: tensor 'dense\.weight': shape mismatch: expected \[3,2\], got \[2,3\]/,
      );
      wrong['dense.weight'].dispose();

      const more = tf.tidy(() => ({ ...state.params, 'head.weight': tf.zeros([2]) }));
      expect((await load(path, more)).message).toMatch(
        /params\.safetensors: tensor 'head\.weight': missing/,
      );
      more['head.weight'].dispose();

      const badState = await copy('state');
      await writeFile(join(badState, 'state.json'), '{"schemaVersion": 2}');
      expect((await load(badState)).message).toMatch(/state\.json: /);
      await rm(join(badState, 'ema.safetensors'));
      await writeFile(join(badState, 'state.json'), await readFile(join(path, 'state.json')));
      expect((await load(badState)).message).toMatch(/ema\.safetensors: could not read/);

      await writeFile(join(dir, 'latest'), 'step-999999\n');
      expect(left(await latestCheckpoint(dir)()).message).toMatch(/not a directory/);
      expect(await latestCheckpoint(join(root, 'none'))()).toEqual(E.right(undefined));
      disposeTrainState(state);
    });
  });

  it('refuses NaN or exploding weights at load and at save, naming the tensor', async () => {
    await expectNoLeaksAsync(async () => {
      const state = makeState(2);
      const dir = join(root, 'insane');
      const saved = await saveCheckpoint(dir, { state, optimizer, config: {} })();
      if (E.isLeft(saved)) throw new Error(saved.left.message);
      const load = async (p: string) =>
        left(await loadCheckpoint(p, { params: state.params, optimizer })());
      // a params file rewritten with one NaN, then with one exploded weight (written by hand,
      // since saveCheckpoint refuses both)
      const pFile = join(saved.right, 'params.safetensors');
      const good = await readFile(pFile);
      const decoded = decodeSafetensors(good, pFile);
      if (E.isLeft(decoded)) throw new Error(decoded.left.message);
      for (const [value, pattern] of [
        [Number.NaN, /tensor 'dense\.bias' holds NaN at index 1/],
        [
          3e30,
          /tensor 'dense\.bias' holds [\d.]+e\+30 at index 1, beyond the sane magnitude 1000000/,
        ],
      ] as const) {
        const bias = Float32Array.from(decoded.right.tensors['dense.bias']!.values);
        bias[1] = value;
        const bytes = encodeSafetensors({
          tensors: {
            ...decoded.right.tensors,
            'dense.bias': { dtype: 'float32', shape: [3], values: bias },
          },
          metadata: decoded.right.metadata,
        });
        await writeFile(pFile, bytes);
        const err = await load(saved.right);
        expect(err._tag).toBe('CheckpointError');
        expect(err.message).toMatch(pattern);
      }
      // saving exploded weights is refused, so `latest` keeps the last sane checkpoint
      const huge = makeState(4, 1e7);
      const refused = left(await saveCheckpoint(dir, { state: huge, optimizer, config: {} })());
      expect(refused._tag).toBe('NumericError');
      expect(refused.message).toMatch(
        /params\.safetensors at step 4: tensor 'dense\.weight' holds 1\d*0000000 at index 0, beyond/,
      );
      expect((await readFile(join(dir, 'latest'), 'utf8')).trim()).toBe('step-000002');
      disposeTrainState(huge);
      disposeTrainState(state);
    });
  });

  it('confines `latest` to its folder and escapes control bytes in the message', async () => {
    const dir = join(root, 'pointer');
    await mkdir(join(dir, 'step-000001'), { recursive: true });
    for (const bad of ['..', '.', '../other', '/etc', 'step-1/../..']) {
      await writeFile(join(dir, 'latest'), `${bad}\n`);
      expect(left(await latestCheckpoint(dir)()).message).toMatch(/corrupt pointer/);
    }
    await writeFile(join(dir, 'latest'), 'step-1\u001b[2J\u0007\n');
    const msg = left(await latestCheckpoint(dir)()).message;
    expect(msg).toContain("corrupt pointer 'step-1\\x1b[2J\\x07'");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: checking that none are left
    expect(msg).not.toMatch(/[\u0000-\u001f]/);
    await writeFile(join(dir, 'latest'), 'step-000001\n');
    expect(await latestCheckpoint(dir)()).toEqual(E.right(join(dir, 'step-000001')));
  });

  it('refuses an oversized safetensors header from its 8-byte length, before reading the rest', async () => {
    const file = join(root, 'huge-header.safetensors');
    const head = new Uint8Array(8);
    new DataView(head.buffer).setBigUint64(0, BigInt(20 * 2 ** 20), true);
    // the claimed header really follows (20 MiB of a JSON object's whitespace)
    const body = new Uint8Array(20 * 2 ** 20).fill(0x20);
    body[0] = 0x7b;
    body[body.length - 1] = 0x7d;
    await writeFile(file, Buffer.concat([head, body]));
    const err = left(await readSafetensors(file)());
    expect(err.message).toBe(
      `${file}: corrupt: header length ${20 * 2 ** 20} exceeds the ${maxHeaderBytes}-byte limit`,
    );
  });

  it('keeps the newest N checkpoints (keepLast) and gives step folders normal modes', async () => {
    await expectNoLeaksAsync(async () => {
      const dir = join(root, 'keep');
      for (const step of [1, 2, 3, 4]) {
        const state = makeState(step);
        const saved = await saveCheckpoint(dir, { state, optimizer, config: {} })();
        disposeTrainState(state);
        if (E.isLeft(saved)) throw new Error(saved.left.message);
      }
      const pruned = await pruneCheckpoints(dir, 2)();
      expect(pruned).toEqual(E.right(['step-000002', 'step-000001']));
      expect((await readdir(dir)).sort()).toEqual(['latest', 'step-000003', 'step-000004']);
      const mask = process.umask();
      expect((await stat(join(dir, 'step-000004'))).mode & 0o777).toBe(0o777 & ~mask);
      expect((await stat(join(dir, 'step-000004', 'params.safetensors'))).mode & 0o777).toBe(
        0o666 & ~mask,
      );
    });
  });
});
