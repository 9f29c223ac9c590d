import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type ScorekitError, ScorekitException, unwrap } from '@scorekit/core';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { binSource, cifar10Layout, cifar100Layout, pixelsOnlyLayout } from './cifarBinary.js';
import { formatError, readLabelNames, tryIo } from './io.js';
import type { ImageSource } from './source.js';

/**
 * The ten CIFAR-10 class names in the official label order (Krizhevsky 2009; the lines of
 * `batches.meta.txt`): label i is `cifar10ClassNames[i]`.
 */
export const cifar10ClassNames: readonly string[] = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

/**
 * A split of the official CIFAR distributions (Krizhevsky 2009): 50,000 train, 10,000 test.
 *
 * @example
 * ```ts
 * const split: Split = 'test';
 * ```
 */
export type Split = 'train' | 'test';

/**
 * Options shared by the CIFAR readers (Krizhevsky 2009 binaries).
 *
 * @example
 * ```ts
 * const options: CifarOptions = { split: 'test', onBadFile: 'error' };
 * ```
 */
export interface CifarOptions {
  /** `'train'` (default) or `'test'`. */
  readonly split?: Split;
  /** What to do with a malformed file (default `'error'`); see `binSource`. */
  readonly onBadFile?: 'error' | 'skip';
}

const ensureDir = (dir: string) =>
  tryIo(dir, 'dataset folder not found', async () => {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
  });

/**
 * The official CIFAR-10 binary distribution, `cifar-10-batches-bin/` (Krizhevsky 2009):
 * `data_batch_1.bin` … `data_batch_5.bin` (train, 50,000) or `test_batch.bin` (test,
 * 10,000), 3073-byte records, class names from `batches.meta.txt`. A streamed source: pixels
 * are read when asked. The paper's CIFAR-10 data (Chao et al. 2022, §5).
 *
 * @example
 * ```ts
 * const test = await unwrap(cifar10('data/cifar-10-batches-bin', { split: 'test' }));
 * const set = await unwrap(readAll(test)); // 10,000 images
 * ```
 */
export function cifar10(
  dir: string,
  options: CifarOptions = {},
): TE.TaskEither<ScorekitError, ImageSource> {
  const split = options.split ?? 'train';
  const files =
    split === 'train'
      ? [1, 2, 3, 4, 5].map((b) => join(dir, `data_batch_${b}.bin`))
      : [join(dir, 'test_batch.bin')];
  return tryIo(dir, 'cannot open CIFAR-10', async () => {
    await unwrap(ensureDir(dir));
    const classNames = await unwrap(readLabelNames(join(dir, 'batches.meta.txt'), 10));
    return unwrap(
      binSource(files, cifar10Layout, {
        classNames,
        ...(options.onBadFile ? { onBadFile: options.onBadFile } : {}),
      }),
    );
  });
}

/**
 * Options of {@link cifar100} (Krizhevsky 2009: 100 fine classes in 20 coarse superclasses).
 *
 * @example
 * ```ts
 * const options: Cifar100Options = { split: 'train', label: 'coarse' };
 * ```
 */
export interface Cifar100Options extends CifarOptions {
  /** Which label byte labels a sample: `'fine'` (default, 100 classes) or `'coarse'` (20). */
  readonly label?: 'fine' | 'coarse';
}

/**
 * The official CIFAR-100 binary distribution, `cifar-100-binary/` (Krizhevsky 2009):
 * `train.bin` (50,000) or `test.bin` (10,000), 3074-byte records `<coarse><fine><pixels>`,
 * class names from `fine_label_names.txt` / `coarse_label_names.txt`. Both label bytes are
 * validated. The paper's CIFAR-100 data (Chao et al. 2022, §5).
 *
 * @example
 * ```ts
 * const train = await unwrap(cifar100('data/cifar-100-binary', { split: 'train' }));
 * ```
 */
export function cifar100(
  dir: string,
  options: Cifar100Options = {},
): TE.TaskEither<ScorekitError, ImageSource> {
  const split = options.split ?? 'train';
  const label = options.label ?? 'fine';
  return tryIo(dir, 'cannot open CIFAR-100', async () => {
    await unwrap(ensureDir(dir));
    const classNames = await unwrap(
      readLabelNames(join(dir, `${label}_label_names.txt`), label === 'fine' ? 100 : 20),
    );
    return unwrap(
      binSource([join(dir, `${split}.bin`)], cifar100Layout(label), {
        classNames,
        ...(options.onBadFile ? { onBadFile: options.onBadFile } : {}),
      }),
    );
  });
}

/**
 * The file-name pattern of the label-less split CIFAR-100 files (Krizhevsky 2009 data split
 * by fine class): `<fine name>-<fine index>-<train|test>.bin`.
 *
 * @example
 * ```ts
 * splitFilePattern.exec('apple-0-test.bin'); // ['apple-0-test.bin', 'apple', '0', 'test']
 * ```
 */
export const splitFilePattern = /^(.+)-(\d+)-(train|test)\.bin$/;

/**
 * CIFAR-100 split by fine class into label-less files `<fine name>-<fine index>-<split>.bin`
 * (100 files of 3072-byte planar records, as in shared/data/cifar100/test-bin): the label
 * and class name come from each file name. Every index 0..K−1 must have exactly one file;
 * `.bin` files that do not match the pattern are errors (or skipped with `onBadFile:
 * 'skip'`); other files and the other split's files are ignored. Samples are ordered by
 * fine index, then record order. Krizhevsky 2009.
 *
 * @example
 * ```ts
 * const test = await unwrap(cifar100Split('../shared/data/cifar100/test-bin', { split: 'test' }));
 * test.count; // 10000
 * ```
 */
export function cifar100Split(
  dir: string,
  options: CifarOptions = {},
): TE.TaskEither<ScorekitError, ImageSource> {
  const split = options.split ?? 'test';
  return tryIo(dir, 'cannot open split CIFAR-100', async () => {
    await unwrap(ensureDir(dir));
    const entries = (await readdir(dir)).filter((f) => f.endsWith('.bin')).sort();
    const byIndex = new Map<number, { file: string; name: string }>();
    const skipped: ScorekitError[] = [];
    for (const entry of entries) {
      const m = splitFilePattern.exec(entry);
      if (m === null) {
        const err = formatError(
          join(dir, entry),
          'file name does not match <fine name>-<fine index>-<train|test>.bin',
          'name',
        );
        if (options.onBadFile === 'skip') skipped.push(err);
        else throw new ScorekitException(err);
        continue;
      }
      if (m[3] !== split) continue;
      const index = Number(m[2]);
      const before = byIndex.get(index);
      if (before !== undefined)
        throw new ScorekitException(
          formatError(join(dir, entry), `fine index ${index} also used by ${before.file}`, 'name'),
        );
      byIndex.set(index, { file: join(dir, entry), name: m[1]! });
    }
    if (byIndex.size === 0)
      throw new ScorekitException(formatError(dir, `no *-<index>-${split}.bin files`, 'files'));
    const numClasses = Math.max(...byIndex.keys()) + 1;
    const classNames: string[] = [];
    const files: string[] = [];
    for (let k = 0; k < numClasses; k++) {
      const got = byIndex.get(k);
      if (got === undefined)
        throw new ScorekitException(
          formatError(dir, `no ${split} file for fine index ${k} (expected 0..${numClasses - 1})`),
        );
      classNames.push(got.name);
      files.push(got.file);
    }
    const source = await unwrap(
      binSource(files, pixelsOnlyLayout, {
        classNames,
        fileLabels: files.map((_, k) => k),
        ...(options.onBadFile ? { onBadFile: options.onBadFile } : {}),
      }),
    );
    return { ...source, description: dir, skipped: [...skipped, ...source.skipped] };
  });
}
