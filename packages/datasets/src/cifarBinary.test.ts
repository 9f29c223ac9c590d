import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ScorekitException, unwrap } from '@scorekit/core';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cifar10, cifar10ClassNames, cifar100 } from './cifar.js';
import {
  binSource,
  cifar10Layout,
  cifar100Layout,
  decodeRecords,
  encodeRecords,
  recordBytes,
} from './cifarBinary.js';
import { readAll, streamImages } from './source.js';
import { tempDir } from './testing/sharedData.js';

/** A synthetic pixel value of record r (global index), channel ch, row y, column x. */
const value = (r: number, ch: number, y: number, x: number) =>
  (r * 7 + ch * 50 + y * 3 + x * 5) % 256;

/**
 * Official record bytes written by hand (not with encodeRecords): the label bytes, then
 * 1024 R, 1024 G, 1024 B, each plane row-major.
 */
function officialRecords(first: number, labels: readonly (readonly number[])[]): Uint8Array {
  const per = labels[0]!.length + 3072;
  const out = new Uint8Array(labels.length * per);
  labels.forEach((lab, i) => {
    const base = i * per;
    lab.forEach((b, f) => {
      out[base + f] = b;
    });
    for (let ch = 0; ch < 3; ch++)
      for (let y = 0; y < 32; y++)
        for (let x = 0; x < 32; x++)
          out[base + lab.length + ch * 1024 + y * 32 + x] = value(first + i, ch, y, x);
  });
  return out;
}

/** Checks image j of NHWC `pixels` equals synthetic record r. */
function expectRecord(pixels: Uint8Array, j: number, r: number) {
  const got = pixels.subarray(j * 3072, (j + 1) * 3072);
  const want = new Uint8Array(3072);
  for (let y = 0; y < 32; y++)
    for (let x = 0; x < 32; x++)
      for (let ch = 0; ch < 3; ch++) want[(y * 32 + x) * 3 + ch] = value(r, ch, y, x);
  expect(Buffer.from(got).equals(Buffer.from(want)), `image ${j} = record ${r}`).toBe(true);
}

let dir = '';
let cleanup = async () => {};
// CIFAR-10: 5 train batches of 3, 4, 2, 5, 1 records and a test batch of 6.
const trainSizes = [3, 4, 2, 5, 1];
const trainLabels = Array.from({ length: 15 }, (_, i) => (i * 3) % 10);
const testLabels = [9, 0, 1, 8, 2, 7];
const names10 = cifar10ClassNames;
// CIFAR-100: coarse, fine per record.
const train100 = Array.from({ length: 9 }, (_, i) => [(i * 7) % 20, (i * 37) % 100] as const);

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  const c10 = join(dir, 'cifar-10-batches-bin');
  const c100 = join(dir, 'cifar-100-binary');
  await import('node:fs/promises').then((fs) =>
    Promise.all([fs.mkdir(c10), fs.mkdir(c100), fs.mkdir(join(dir, 'bad'))]),
  );
  let at = 0;
  for (let b = 0; b < 5; b++) {
    const labels = trainLabels.slice(at, at + trainSizes[b]!).map((l) => [l]);
    await writeFile(join(c10, `data_batch_${b + 1}.bin`), officialRecords(at, labels));
    at += trainSizes[b]!;
  }
  await writeFile(
    join(c10, 'test_batch.bin'),
    officialRecords(
      100,
      testLabels.map((l) => [l]),
    ),
  );
  await writeFile(join(c10, 'batches.meta.txt'), `${names10.join('\n')}\n\n`);
  await writeFile(
    join(c100, 'train.bin'),
    officialRecords(
      0,
      train100.map((p) => [...p]),
    ),
  );
  await writeFile(join(c100, 'test.bin'), officialRecords(50, [[19, 99]]));
  const fine = Array.from({ length: 100 }, (_, k) => `fine${k}`);
  const coarse = Array.from({ length: 20 }, (_, k) => `coarse${k}`);
  await writeFile(join(c100, 'fine_label_names.txt'), fine.join('\n'));
  await writeFile(join(c100, 'coarse_label_names.txt'), coarse.join('\n'));
});
afterAll(() => cleanup());

describe('CIFAR-10 binary round trip', () => {
  it('reads the five train batches back exactly, in order, with class names', async () => {
    const source = await unwrap(cifar10(join(dir, 'cifar-10-batches-bin'), { split: 'train' }));
    expect(source.count).toBe(15);
    expect(Array.from(source.labels)).toEqual(trainLabels);
    expect(source.classNames).toEqual(names10);
    const set = await unwrap(readAll(source, { chunkSize: 4 }));
    expect(set.count).toBe(15);
    for (let r = 0; r < 15; r++) expectRecord(set.pixels, r, r);
  });

  it('reads the test batch', async () => {
    const source = await unwrap(cifar10(join(dir, 'cifar-10-batches-bin'), { split: 'test' }));
    const set = await unwrap(readAll(source));
    expect(Array.from(set.labels)).toEqual(testLabels);
    for (let j = 0; j < 6; j++) expectRecord(set.pixels, j, 100 + j);
  });

  it('random access crosses file boundaries and keeps the requested order', async () => {
    const source = await unwrap(cifar10(join(dir, 'cifar-10-batches-bin')));
    const want = [14, 2, 3, 4, 5, 6, 7, 0, 8, 9];
    const pixels = await unwrap(source.read(want));
    want.forEach((r, j) => {
      expectRecord(pixels, j, r);
    });
    const bad = await source.read([15])();
    expect(E.isLeft(bad) && bad.left._tag).toBe('ShapeError');
  });

  it('streams record ranges with offset, limit and per-class selection', async () => {
    const source = await unwrap(cifar10(join(dir, 'cifar-10-batches-bin')));
    const chunks = [];
    for await (const c of streamImages(source, {
      chunkSize: 3,
      selection: { offset: 2, limit: 8 },
    }))
      chunks.push(c);
    expect(chunks.map((c) => c.count)).toEqual([3, 3, 2]);
    chunks.forEach((c, k) => {
      for (let j = 0; j < c.count; j++) expectRecord(c.pixels, j, 2 + 3 * k + j);
    });
    // label 3 occurs at records i with 3i mod 10 = 3: i = 1, 11.
    const threes = await unwrap(readAll(source, { selection: { classes: [3] } }));
    expect(Array.from(threes.labels)).toEqual([3, 3]);
    expectRecord(threes.pixels, 0, 1);
    expectRecord(threes.pixels, 1, 11);
  });

  it('encodeRecords writes the official layout and decodeRecords inverts it', async () => {
    const bytes = officialRecords(0, [[4], [7]]);
    const decoded = decodeRecords(bytes, cifar10Layout, { file: 'x.bin' });
    if (E.isLeft(decoded)) throw new Error(decoded.left.message);
    expect(Array.from(decoded.right.labels)).toEqual([4, 7]);
    expect(
      Buffer.from(encodeRecords(decoded.right.pixels, [[4, 7]], cifar10Layout)).equals(
        Buffer.from(bytes),
      ),
    ).toBe(true);
    expect(recordBytes(cifar10Layout)).toBe(3073);
    expect(recordBytes(cifar100Layout())).toBe(3074);
  });
});

describe('CIFAR-100 binary round trip', () => {
  it('reads fine labels (default) and coarse labels with their names', async () => {
    const root = join(dir, 'cifar-100-binary');
    const fine = await unwrap(cifar100(root, { split: 'train' }));
    expect(Array.from(fine.labels)).toEqual(train100.map((p) => p[1]));
    expect(fine.classNames[37]).toBe('fine37');
    const coarse = await unwrap(cifar100(root, { split: 'train', label: 'coarse' }));
    expect(Array.from(coarse.labels)).toEqual(train100.map((p) => p[0]));
    expect(coarse.classNames).toHaveLength(20);
    const set = await unwrap(readAll(fine));
    for (let r = 0; r < 9; r++) expectRecord(set.pixels, r, r);
    const test = await unwrap(readAll(await unwrap(cifar100(root, { split: 'test' }))));
    expect(Array.from(test.labels)).toEqual([99]);
    expectRecord(test.pixels, 0, 50);
  });
});

describe('malformed binaries give named errors', () => {
  const fail = async (task: () => Promise<E.Either<unknown, unknown>>) => {
    const r = await task();
    if (E.isRight(r)) throw new Error('expected an error');
    return r.left as { _tag: string; message: string; file: string; field?: string };
  };

  it('a truncated file: FormatError naming the file and the size', async () => {
    const file = join(dir, 'bad', 'truncated.bin');
    await writeFile(file, officialRecords(0, [[1], [2]]).subarray(0, 3073 + 100));
    const err = await fail(binSource(file, cifar10Layout));
    expect(err._tag).toBe('FormatError');
    expect(err.file).toBe(file);
    expect(err.field).toBe('size');
    expect(err.message).toContain('truncated.bin');
    expect(err.message).toContain('3173 bytes is not a whole number of 3073-byte');
  });

  it('a label byte out of range: FormatError naming file, record and field', async () => {
    const file = join(dir, 'bad', 'label.bin');
    await writeFile(file, officialRecords(0, [[1], [2], [10], [3]]));
    const err = await fail(binSource(file, cifar10Layout));
    expect(err).toMatchObject({ _tag: 'FormatError', file, field: 'label' });
    expect(err.message).toContain('record 2');
    expect(err.message).toContain('label byte 10 out of range 0..9');
    const file100 = join(dir, 'bad', 'fine.bin');
    await writeFile(
      file100,
      officialRecords(0, [
        [3, 50],
        [20, 5],
      ]),
    );
    const err100 = await fail(binSource(file100, cifar100Layout()));
    expect(err100).toMatchObject({ _tag: 'FormatError', field: 'coarse' });
    expect(err100.message).toContain('record 1');
  });

  it('a missing file or folder: IoError naming it', async () => {
    const missing = join(dir, 'bad', 'nope.bin');
    const err = await fail(binSource([missing], cifar10Layout));
    expect(err).toMatchObject({ _tag: 'IoError', file: missing });
    expect(err.message).toContain('ENOENT');
    const noDir = join(dir, 'no-such-dir');
    expect(await fail(cifar10(noDir))).toMatchObject({ _tag: 'IoError', file: noDir });
    // A folder with records but no batches.meta.txt.
    const noMeta = join(dir, 'bad');
    const meta = await fail(cifar10(noMeta, { split: 'test' }));
    expect(meta).toMatchObject({ _tag: 'IoError', file: join(noMeta, 'batches.meta.txt') });
  });

  it("onBadFile: 'skip' leaves bad files out and lists them", async () => {
    const good = join(dir, 'bad', 'good.bin');
    await writeFile(good, officialRecords(0, [[5], [6]]));
    const source = await unwrap(
      binSource(
        [join(dir, 'bad', 'truncated.bin'), good, join(dir, 'bad', 'label.bin')],
        cifar10Layout,
        {
          onBadFile: 'skip',
        },
      ),
    );
    expect(source.count).toBe(2);
    expect(source.skipped.map((e) => e._tag)).toEqual(['FormatError', 'FormatError']);
    expect(Array.from(source.labels)).toEqual([5, 6]);
    expectRecord(await unwrap(source.read([1])), 0, 1);
  });

  it('unwrap throws a ScorekitException carrying the error', async () => {
    await expect(
      unwrap(binSource(join(dir, 'bad', 'truncated.bin'), cifar10Layout)),
    ).rejects.toBeInstanceOf(ScorekitException);
  });
});

describe('empty files and label wording (issue 14)', () => {
  const fail = async (task: () => Promise<E.Either<unknown, unknown>>) => {
    const r = await task();
    if (E.isRight(r)) throw new Error('expected an error');
    return r.left as { _tag: string; message: string; file: string; field?: string };
  };

  it('an empty .bin is refused with a named error, not read as a 0-image set', async () => {
    const file = join(dir, 'bad', 'empty.bin');
    await writeFile(file, new Uint8Array(0));
    const err = await fail(binSource(file, cifar10Layout));
    expect(err).toMatchObject({ _tag: 'FormatError', file, field: 'size' });
    expect(err.message).toContain('empty file (0 bytes): expected 3073-byte CIFAR-10 records');
    const decoded = decodeRecords(new Uint8Array(0), cifar10Layout, { file });
    expect(E.isLeft(decoded) && decoded.left.message).toContain('empty (0 bytes)');
  });

  it('names a bad label byte once: "label byte" (CIFAR-10), "coarse label byte" (CIFAR-100)', async () => {
    const file = join(dir, 'bad', 'label2.bin');
    await writeFile(file, officialRecords(0, [[1], [12]]));
    const err = await fail(binSource(file, cifar10Layout));
    expect(err.message).toContain('record 1 (byte 3073): label byte 12 out of range 0..9');
    expect(err.message).not.toContain('label label');
    const file100 = join(dir, 'bad', 'coarse2.bin');
    await writeFile(file100, officialRecords(0, [[25, 5]]));
    const err100 = await fail(binSource(file100, cifar100Layout()));
    expect(err100.message).toContain('coarse label byte 25 out of range 0..19');
  });
});
