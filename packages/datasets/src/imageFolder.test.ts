import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { unwrap } from '@scorekit/core';
import * as E from 'fp-ts/lib/Either.js';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cifar10ClassNames } from './cifar.js';
import { imageFolderSource, readImageFolder } from './imageFolder.js';
import { channelMean, classCounts } from './imageSet.js';
import { encodePng } from './node/pngCodec.js';
import { sharedDataDir, tempDir } from './testing/sharedData.js';

const data = sharedDataDir();
const official = cifar10ClassNames;

describe('the CIFAR-10 test PNG folder (shared/data)', () => {
  it('decodes all 10,000 images: 1,000 per class, the published mean RGB', async () => {
    const set = await unwrap(
      readImageFolder(join(data, 'cifar10', 'test-png'), { chunkSize: 2000 }),
    );
    expect(set.count).toBe(10_000);
    expect(set.classNames).toEqual(official);
    expect(classCounts(set.labels, 10)).toEqual(new Array(10).fill(1000));
    const mean = channelMean(set);
    [0.4942, 0.4851, 0.4504].forEach((m, c) => {
      expect(Math.abs(mean[c]! - m), `channel ${c}: ${mean[c]}`).toBeLessThan(0.001);
    });
  });

  it('matches the original-order sprite pixel for pixel (HWC order, labels)', async () => {
    // Row i of cifar10_batch_50.png is test image i: column p is pixel (p div 32, p mod 32).
    const sprite = PNG.sync.read(
      await readFile(join(data, 'cifar10', 'convnetjs-sprites', 'cifar10_batch_50.png')),
    );
    const tsv = (await readFile(join(data, 'cifar10', 'test_first1000_order.tsv'), 'utf8'))
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .slice(0, 12)
      .map((l) => l.split('\t'));
    const root = join(data, 'cifar10', 'test-png');
    const source = await unwrap(imageFolderSource(root, { classNames: official }));
    for (const [index, label, file] of tsv) {
      const [cls, name] = file!.split('/');
      expect(cls).toBe(official[Number(label)]);
      // The file's position: its class's first index plus its rank in the sorted folder.
      const files = (await readdir(join(root, cls!))).sort();
      const j = files.indexOf(name!);
      expect(j).toBeGreaterThanOrEqual(0);
      const img = await unwrap(source.read([source.labels.indexOf(Number(label)) + j]));
      const row = Number(index);
      for (let p = 0; p < 1024; p++)
        for (let c = 0; c < 3; c++)
          if (img[p * 3 + c] !== sprite.data[(row * 1024 + p) * 4 + c])
            throw new Error(`test image ${row} (${file}) differs at pixel ${p} channel ${c}`);
    }
  });

  it('reads a per-class selection only', async () => {
    const set = await unwrap(
      readImageFolder(join(data, 'cifar10', 'test-png'), {
        selection: { classes: [8, 2], perClassLimit: 5 },
      }),
    );
    expect(Array.from(set.labels)).toEqual([2, 2, 2, 2, 2, 8, 8, 8, 8, 8]);
  });
});

describe('malformed image folders give named errors', () => {
  let dir = '';
  let cleanup = async () => {};
  const rgb = (h: number, w: number, v: number) => new Uint8Array(h * w * 3).fill(v);
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    for (const c of ['cat', 'dog']) await mkdir(join(dir, 'tree', c), { recursive: true });
    await writeFile(join(dir, 'tree', 'cat', 'a.png'), encodePng(rgb(32, 32, 1), [32, 32, 3]));
    await writeFile(join(dir, 'tree', 'dog', 'b.png'), encodePng(rgb(32, 32, 2), [32, 32, 3]));
  });
  afterAll(() => cleanup());

  const fails = async (root: string, options = {}) => {
    const r = await imageFolderSource(root, options)();
    if (E.isRight(r)) throw new Error('expected an error');
    return r.left as { _tag: string; file: string; field?: string; message: string };
  };

  it('a good tree reads back exactly', async () => {
    const set = await unwrap(readImageFolder(join(dir, 'tree')));
    expect(set.classNames).toEqual(['cat', 'dog']);
    expect(Array.from(set.labels)).toEqual([0, 1]);
    expect(set.pixels[0]).toBe(1);
    expect(set.pixels[3071]).toBe(1);
    expect(set.pixels[3072]).toBe(2);
  });

  it('a 31×32 image, a greyscale PNG, an RGBA PNG, a non-PNG: FormatErrors naming the file', async () => {
    const cases: [string, Buffer | string, string, string][] = [
      [
        'narrow.png',
        encodePng(rgb(32, 31, 0), [32, 31, 3]),
        'size',
        'image is 31×32 (width×height), expected 32×32',
      ],
      [
        'grey.png',
        encodePng(new Uint8Array(1024), [32, 32, 1]),
        'channels',
        'greyscale (colour type 0, 1 channel)',
      ],
      [
        'rgba.png',
        encodePng(new Uint8Array(4096), [32, 32, 4]),
        'channels',
        'RGBA (colour type 6, 4 channels)',
      ],
      ['fake.png', 'not a png at all, but long enough to have a header', 'signature', 'not a PNG'],
      ['notes.txt', 'hello', 'name', 'not a .png file'],
    ];
    for (const [name, bytes, field, text] of cases) {
      const root = join(dir, `case-${name}`);
      await mkdir(join(root, 'cat'), { recursive: true });
      await writeFile(join(root, 'cat', 'ok.png'), encodePng(rgb(32, 32, 0), [32, 32, 3]));
      const file = join(root, 'cat', name);
      await writeFile(file, bytes);
      const err = await fails(root);
      expect(err, name).toMatchObject({ _tag: 'FormatError', file, field });
      expect(err.message).toContain(text);
      expect(err.message).toContain(name);
      const skipped = await unwrap(imageFolderSource(root, { onBadFile: 'skip' }));
      expect(skipped.count, name).toBe(1);
      expect(skipped.skipped.map((e) => (e as { file: string }).file)).toEqual([file]);
    }
  });

  it('a missing root or class folder: IoError naming it', async () => {
    const root = join(dir, 'missing');
    expect(await fails(root)).toMatchObject({ _tag: 'IoError', file: root });
    expect(await fails(join(dir, 'tree'), { classNames: ['cat', 'bird'] })).toMatchObject({
      _tag: 'IoError',
      file: join(dir, 'tree', 'bird'),
    });
  });
});
