import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScorekitError } from '@scorekit/core';
import { expectNoLeaksAsync } from '@scorekit/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkTensors,
  decodeSafetensors,
  encodeSafetensors,
  fromHost,
  type HostTensor,
  readSafetensors,
  writeSafetensors,
} from './safetensors.js';

const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
const left = <A>(e: E.Either<ScorekitError, A>): ScorekitError => {
  if (E.isRight(e)) throw new Error('expected an error');
  return e.left;
};

/** A file assembled by hand from the spec: u64 LE header length, header, data. */
function handMade(header: string, data: number[]): Uint8Array {
  const h = ascii(header);
  const len = [h.length & 0xff, (h.length >> 8) & 0xff, 0, 0, 0, 0, 0, 0];
  return new Uint8Array([...len, ...h, ...data]);
}

const sample: Record<string, HostTensor> = {
  b: { dtype: 'int32', shape: [2], values: new Int32Array([7, -1]) },
  a: { dtype: 'float32', shape: [2, 1], values: new Float32Array([1.5, -2]) },
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scorekit-safetensors-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('safetensors encoding', () => {
  it('writes the spec byte by byte: u64 LE length, space-padded JSON header, LE data', () => {
    const bytes = encodeSafetensors({ tensors: sample, metadata: { format: 'scorekit' } });
    const header =
      '{"__metadata__":{"format":"scorekit"},' +
      '"a":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]},' +
      '"b":{"dtype":"I32","shape":[2],"data_offsets":[8,16]}}';
    // 147 header bytes, padded with 5 spaces to 152 (a multiple of 8) = 0x98.
    expect(header.length).toBe(147);
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0x98, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(bytes.subarray(8, 8 + 147))).toEqual(ascii(header));
    expect(Array.from(bytes.subarray(8 + 147, 8 + 152))).toEqual([0x20, 0x20, 0x20, 0x20, 0x20]);
    // 1.5f = 0x3fc00000, −2f = 0xc0000000, 7, −1 = 0xffffffff, all little-endian.
    expect(Array.from(bytes.subarray(160))).toEqual([
      0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
      0xff,
    ]);
    expect(bytes.length).toBe(8 + 152 + 16);
  });

  it('is byte-identical to the reference implementation (Python safetensors 0.8.0 save_file)', () => {
    // save_file({'b': f32 [[1.5, -2]], 'a': i32 [3, -4, 5], 'c': f32 2.5, 'e': f32 zeros(0, 2)},
    //           metadata={'format': 'pt'}) wrote this header (256 bytes incl. 4 spaces) and data.
    const header =
      '{"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},' +
      '"c":{"dtype":"F32","shape":[],"data_offsets":[8,12]},"e":{"dtype":"F32","shape":[0,2],' +
      '"data_offsets":[12,12]},"a":{"dtype":"I32","shape":[3],"data_offsets":[12,24]}}    ';
    const data = '0000c03f000000c00000204003000000fcffffff05000000';
    const reference = new Uint8Array([
      0,
      1,
      0,
      0,
      0,
      0,
      0,
      0,
      ...ascii(header),
      ...Array.from({ length: data.length / 2 }, (_, i) =>
        Number.parseInt(data.slice(2 * i, 2 * i + 2), 16),
      ),
    ]);
    const mine = encodeSafetensors({
      tensors: {
        a: { dtype: 'int32', shape: [3], values: new Int32Array([3, -4, 5]) },
        b: { dtype: 'float32', shape: [1, 2], values: new Float32Array([1.5, -2]) },
        c: { dtype: 'float32', shape: [], values: new Float32Array([2.5]) },
        e: { dtype: 'float32', shape: [0, 2], values: new Float32Array(0) },
      },
      metadata: { format: 'pt' },
    });
    expect(Array.from(mine)).toEqual(Array.from(reference));
    const decoded = decodeSafetensors(reference, 'reference.safetensors');
    if (E.isLeft(decoded)) throw new Error(decoded.left.message);
    expect(Array.from(decoded.right.tensors['a']!.values)).toEqual([3, -4, 5]);
  });

  it('round-trips float32/int32, scalars and empty tensors', () => {
    const tensors: Record<string, HostTensor> = {
      ...sample,
      'net.0.weight': { dtype: 'float32', shape: [], values: new Float32Array([Math.PI]) },
      empty: { dtype: 'float32', shape: [0, 3], values: new Float32Array(0) },
      big: {
        dtype: 'float32',
        shape: [3, 5],
        values: Float32Array.from({ length: 15 }, (_, i) => i / 7 - 1),
      },
    };
    const decoded = decodeSafetensors(encodeSafetensors({ tensors, metadata: { step: '3' } }), 'x');
    if (E.isLeft(decoded)) throw new Error(decoded.left.message);
    expect(decoded.right.metadata).toEqual({ step: '3' });
    expect(Object.keys(decoded.right.tensors).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const got = decoded.right.tensors[name]!;
      expect(got.dtype).toBe(t.dtype);
      expect(got.shape).toEqual(t.shape);
      expect(Array.from(got.values)).toEqual(Array.from(t.values));
    }
  });

  it('reads a file laid out by another writer (unpadded, unsorted keys, zero-size tensor)', () => {
    const header =
      '{"z":{"data_offsets":[0,4],"shape":[],"dtype":"I32"},' +
      '"x":{"dtype":"F32","shape":[1,2],"data_offsets":[4,12]},' +
      '"y":{"shape":[0],"dtype":"F32","data_offsets":[4,4]}}';
    // z = 258, x = [1, 0.5]
    const file = handMade(header, [2, 1, 0, 0, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x3f]);
    const decoded = decodeSafetensors(file, 'foreign.safetensors');
    if (E.isLeft(decoded)) throw new Error(decoded.left.message);
    expect(Array.from(decoded.right.tensors['z']!.values)).toEqual([258]);
    expect(decoded.right.tensors['x']!.shape).toEqual([1, 2]);
    expect(Array.from(decoded.right.tensors['x']!.values)).toEqual([1, 0.5]);
    expect(decoded.right.tensors['y']!.values.length).toBe(0);
  });
});

describe('safetensors validation', () => {
  const good = encodeSafetensors({ tensors: sample, metadata: {} });

  it('a truncated file names the file and the first tensor whose bytes are missing', () => {
    const err = left(decodeSafetensors(good.subarray(0, good.length - 6), 'params.safetensors'));
    expect(err._tag).toBe('CheckpointError');
    expect(err.message).toMatch(/params\.safetensors/);
    expect(err.message).toMatch(/tensor 'b'/);
    expect(err.message).toMatch(/truncated/);
    expect(err._tag === 'CheckpointError' && err.tensor).toBe('b');
    const inHeader = left(decodeSafetensors(good.subarray(0, 40), 'params.safetensors'));
    expect(inHeader.message).toMatch(/params\.safetensors: truncated/);
    expect(left(decodeSafetensors(good.subarray(0, 5), 'p')).message).toMatch(/truncated/);
  });

  it('a header that does not parse, a huge length, a bad dtype or bad offsets are errors', () => {
    const notJson = handMade('{"a": {dtype: F32}}', []);
    expect(left(decodeSafetensors(notJson, 'f.safetensors')).message).toMatch(
      /f\.safetensors: corrupt header \(not JSON\)/,
    );
    const huge = new Uint8Array(good);
    huge[6] = 1; // header length ≈ 2^48
    expect(left(decodeSafetensors(huge, 'f')).message).toMatch(/exceeds/);
    const f16 = handMade('{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}', [0, 0, 0, 0]);
    expect(left(decodeSafetensors(f16, 'f')).message).toMatch(/tensor 'h': unsupported dtype F16/);
    const wrongSize = handMade(
      '{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}',
      new Array(8).fill(0),
    );
    expect(left(decodeSafetensors(wrongSize, 'f')).message).toMatch(/tensor 'w'.*needs 12/);
    const hole = handMade(
      '{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
      new Array(8).fill(0),
    );
    expect(left(decodeSafetensors(hole, 'f')).message).toMatch(/tensor 'w'.*holes/);
    const trailing = handMade(
      '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
      new Array(8).fill(0),
    );
    expect(left(decodeSafetensors(trailing, 'f')).message).toMatch(/cover 4 bytes.*holds 8/);
    const badEntry = handMade(
      '{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}',
      [0, 0, 0, 0],
    );
    expect(left(decodeSafetensors(badEntry, 'f')).message).toMatch(/tensor 'w'/);
  });

  it('checks names, shapes and dtypes against the expected tensors', () => {
    const decoded = decodeSafetensors(good, 'p');
    if (E.isLeft(decoded)) throw new Error(decoded.left.message);
    const t = decoded.right.tensors;
    const ok = { a: { shape: [2, 1], dtype: 'float32' }, b: { shape: [2], dtype: 'int32' } };
    expect(E.isRight(checkTensors('p', t, ok))).toBe(true);
    const shape = left(
      checkTensors('p.safetensors', t, { ...ok, a: { shape: [1, 2], dtype: 'float32' } }),
    );
    expect(shape.message).toBe(
      "p.safetensors: tensor 'a': shape mismatch: expected [1,2], got [2,1]",
    );
    const dtype = left(checkTensors('p', t, { ...ok, b: { shape: [2], dtype: 'float32' } }));
    expect(dtype.message).toMatch(/tensor 'b': dtype mismatch: expected float32, got int32/);
    const missing = left(checkTensors('p', t, { ...ok, c: { shape: [1], dtype: 'float32' } }));
    expect(missing.message).toMatch(/tensor 'c': missing/);
    const extra = left(checkTensors('p', t, { a: ok.a }));
    expect(extra.message).toMatch(/tensor 'b': unexpected/);
  });
});

describe('safetensors files', () => {
  it('writes tfjs tensors and reads them back bit-exactly', async () => {
    await expectNoLeaksAsync(async () => {
      const file = join(dir, 'w.safetensors');
      const tensors = {
        w: tf.tensor2d([
          [0.1, -3e-20],
          [1e30, 5],
        ]),
        n: tf.tensor1d([3, -4], 'int32'),
      };
      const written = await writeSafetensors(file, tensors, { step: '1' })();
      expect(E.isRight(written)).toBe(true);
      const raw = new Uint8Array(await readFile(file));
      const n = Number(new DataView(raw.buffer, raw.byteOffset).getBigUint64(0, true));
      expect(n % 8).toBe(0);
      const read = await readSafetensors(file)();
      if (E.isLeft(read)) throw new Error(read.left.message);
      const back = fromHost(read.right.tensors);
      expect(back.w!.dtype).toBe('float32');
      expect(Array.from(back.w!.dataSync())).toEqual(Array.from(tensors.w.dataSync()));
      expect(back.n!.dtype).toBe('int32');
      expect(Array.from(back.n!.dataSync())).toEqual([3, -4]);
      tf.dispose([...Object.values(tensors), ...Object.values(back)]);
    });
  });

  it('a missing file is an IoError; a bool tensor cannot be written', async () => {
    const missing = await readSafetensors(join(dir, 'nope.safetensors'))();
    expect(E.isLeft(missing) && missing.left._tag).toBe('IoError');
    const b = tf.tensor1d([1, 0], 'bool');
    const err = await writeSafetensors(join(dir, 'b.safetensors'), { flag: b })();
    b.dispose();
    expect(E.isLeft(err) && err.left.message).toMatch(/tensor 'flag': dtype bool/);
  });
});
