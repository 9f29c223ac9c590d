import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { unwrap } from '@scorekit/core';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cifar100Split } from './cifar.js';
import { binSource, cifar10Layout } from './cifarBinary.js';
import { channelMean, classCounts } from './imageSet.js';
import { readLabelNames } from './io.js';
import { readAll, streamImages } from './source.js';
import { sharedDataDir, tempDir } from './testing/sharedData.js';

const data = sharedDataDir();

describe('real CIFAR data (shared/data)', () => {
  it('the split CIFAR-100 test files: 10,000 images, 100 per fine label, published mean', async () => {
    const source = await unwrap(
      cifar100Split(join(data, 'cifar100', 'test-bin'), { split: 'test' }),
    );
    expect(source.count).toBe(10_000);
    const names = await unwrap(readLabelNames(join(data, 'cifar100', 'fine_label_names.txt'), 100));
    expect(source.classNames).toEqual(names);
    expect(classCounts(source.labels, 100)).toEqual(new Array(100).fill(100));
    const set = await unwrap(readAll(source, { chunkSize: 2500 }));
    const mean = channelMean(set);
    [0.5088, 0.4874, 0.4419].forEach((m, c) => {
      expect(Math.abs(mean[c]! - m), `channel ${c}: ${mean[c]}`).toBeLessThan(0.001);
    });
    // Labels come from file names: samples 100k..100k+99 are fine class k (apple = 0, worm = 99).
    expect(set.labels[0]).toBe(0);
    expect(set.labels[9999]).toBe(99);
    expect(source.classNames[0]).toBe('apple');
    expect(source.classNames[99]).toBe('worm');
  });

  it('the official-layout data_batch_1 subset: 4,000 records, label counts, names, mean', async () => {
    const dir = join(data, 'cifar10', 'cifar-10-batches-bin-subset');
    const classNames = await unwrap(readLabelNames(join(dir, 'batches.meta.txt'), 10));
    const source = await unwrap(
      binSource(join(dir, 'data_batch_1_first4000.bin'), cifar10Layout, { classNames }),
    );
    expect(source.count).toBe(4000);
    expect(classCounts(source.labels, 10)).toEqual([
      396, 366, 420, 384, 422, 393, 414, 385, 407, 413,
    ]);
    // The first ten labels of data_batch_1 (shared/data/README.md).
    expect(Array.from(source.labels.subarray(0, 10))).toEqual([6, 9, 9, 4, 1, 1, 2, 7, 8, 3]);
    expect(classNames[0]).toBe('airplane');
    // Streaming in record ranges gives the same bytes as one read.
    const whole = await unwrap(readAll(source, { chunkSize: 4000 }));
    let at = 0;
    for await (const chunk of streamImages(source, { chunkSize: 1500 })) {
      expect(
        Buffer.from(chunk.pixels).equals(
          Buffer.from(whole.pixels.subarray(at * 3072, (at + chunk.count) * 3072)),
        ),
      ).toBe(true);
      at += chunk.count;
    }
    expect(at).toBe(4000);
    const mean = channelMean(whole);
    [0.4916, 0.4818, 0.4447].forEach((m, c) => {
      expect(Math.abs(mean[c]! - m)).toBeLessThan(0.001);
    });
  });
});

describe('split CIFAR-100 file names', () => {
  let dir = '';
  let cleanup = async () => {};
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterAll(() => cleanup());

  const records = (n: number, v: number) => new Uint8Array(n * 3072).fill(v);
  const fails = async (d: string) => {
    const r = await cifar100Split(d)();
    if (E.isRight(r)) throw new Error('expected an error');
    return r.left;
  };

  it('labels from names; other splits and non-.bin files ignored', async () => {
    const d = join(dir, 'ok');
    await mkdir(d);
    await writeFile(join(d, 'b-1-test.bin'), records(2, 11));
    await writeFile(join(d, 'a-0-test.bin'), records(3, 10));
    await writeFile(join(d, 'a-0-train.bin'), records(1, 99));
    await writeFile(join(d, 'notes.txt'), 'x');
    const source = await unwrap(cifar100Split(d));
    expect(source.classNames).toEqual(['a', 'b']);
    expect(Array.from(source.labels)).toEqual([0, 0, 0, 1, 1]);
    const set = await unwrap(readAll(source));
    expect(set.pixels[3 * 3072]).toBe(11);
    expect(set.pixels[0]).toBe(10);
  });

  it('a bad name, a duplicate index, a missing index, a truncated file are named errors', async () => {
    const bad = join(dir, 'bad');
    await mkdir(bad);
    await writeFile(join(bad, 'a-0-test.bin'), records(1, 0));
    await writeFile(join(bad, 'oops.bin'), records(1, 0));
    expect(await fails(bad)).toMatchObject({ _tag: 'FormatError', file: join(bad, 'oops.bin') });
    const skipped = await unwrap(cifar100Split(bad, { onBadFile: 'skip' }));
    expect(skipped.count).toBe(1);
    expect(skipped.skipped).toHaveLength(1);

    const dup = join(dir, 'dup');
    await mkdir(dup);
    await writeFile(join(dup, 'a-0-test.bin'), records(1, 0));
    await writeFile(join(dup, 'b-0-test.bin'), records(1, 0));
    expect((await fails(dup)).message).toContain('fine index 0 also used');

    const gap = join(dir, 'gap');
    await mkdir(gap);
    await writeFile(join(gap, 'a-0-test.bin'), records(1, 0));
    await writeFile(join(gap, 'c-2-test.bin'), records(1, 0));
    expect((await fails(gap)).message).toContain('no test file for fine index 1');

    const short = join(dir, 'short');
    await mkdir(short);
    await writeFile(join(short, 'a-0-test.bin'), records(2, 0).subarray(1));
    expect(await fails(short)).toMatchObject({
      _tag: 'FormatError',
      field: 'size',
      file: join(short, 'a-0-test.bin'),
    });
    expect(await readFile(join(short, 'a-0-test.bin')).then((b) => b.length)).toBe(6143);
  });
});
