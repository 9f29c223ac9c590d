import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ScorekitError } from '@scorekit/core';
import { unwrap } from '@scorekit/core';
import {
  binSource,
  cifar10Layout,
  downsampleImages,
  gatherImages,
  type ImageSet,
  type ImageSource,
  readAll,
  readLabelNames,
} from '@scorekit/datasets';
import { cifar10, cifar10ClassNames, imageFolderSource } from '@scorekit/datasets/node';
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';

/** Training and held-out images of one run (Krizhevsky 2009 CIFAR-10, as in Chao et al. 2022 §5). */
export interface CifarData {
  readonly train: ImageSet;
  readonly test: ImageSet;
  readonly description: string;
}

/** Options of {@link loadCifarData}. */
export interface DataOptions {
  /** Training images kept (0 = all). */
  readonly limit: number;
  /** Held-out images. */
  readonly heldOut: number;
  /** Side of the returned images (32, or a divisor: box-filter down-sampled); default 32. */
  readonly imageSize?: number;
}

const range = (from: number, to: number) =>
  Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

const dataError = (path: string, problem: string): ScorekitError => ({
  _tag: 'IoError',
  file: path,
  message: `data: ${path}: ${problem} (expected a CIFAR-10 .bin file, an official cifar-10-batches-bin folder or a class-folder PNG tree; set it with --data)`,
});

/** Opens `path` as a CIFAR-10 source: a `.bin` record file, a `cifar-10-batches-bin` folder or a PNG class-folder tree. */
async function openSource(path: string): Promise<{ train: ImageSource; test?: ImageSource }> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw dataError(path, 'no such file or folder');
  if (info.isFile()) {
    const meta = join(path, '..', 'batches.meta.txt');
    const names = await readLabelNames(meta, 10)().then((r) =>
      E.isRight(r) ? r.right : cifar10ClassNames,
    );
    return { train: await unwrap(binSource(path, cifar10Layout, { classNames: names })) };
  }
  const official = await stat(join(path, 'data_batch_1.bin')).then(
    () => true,
    () => false,
  );
  if (official)
    return {
      train: await unwrap(cifar10(path, { split: 'train' })),
      test: await unwrap(cifar10(path, { split: 'test' })),
    };
  return { train: await unwrap(imageFolderSource(path)) };
}

/** Down-samples both sets to `options.imageSize` (box filter) when it is below the stored size. */
function resized(data: CifarData, options: DataOptions): CifarData {
  const size = options.imageSize ?? data.train.shape[0];
  const stored = data.train.shape[0];
  if (size === stored) return data;
  if (size > stored || stored % size !== 0 || data.train.shape[1] !== stored)
    throw new Error(
      `data.imageSize: expected a divisor of the stored ${stored}×${data.train.shape[1]} (square) images, got ${size}`,
    );
  const f = stored / size;
  return {
    train: downsampleImages(data.train, f),
    test: downsampleImages(data.test, f),
    description: `${data.description}, down-sampled to ${size}×${size}`,
  };
}

/**
 * Loads the training images and a held-out set from `path` (Krizhevsky 2009 CIFAR-10): a
 * single `.bin` file (e.g. `data_batch_1_first4000.bin`; class names from a `batches.meta.txt`
 * beside it), the official `cifar-10-batches-bin` folder (held-out = its test split) or a
 * `<class>/*.png` tree. For a file or a folder of PNGs the last `heldOut` images are held out.
 * With `imageSize` below 32 both sets are box-filter down-sampled to that side.
 * A wrong path is an `IoError` naming it and the accepted layouts.
 *
 * @example
 * ```ts
 * const data = await loadCifarData(defaultSubset, { limit: 64, heldOut: 32 })();
 * ```
 */
export function loadCifarData(
  path: string,
  options: DataOptions,
): TE.TaskEither<ScorekitError, CifarData> {
  return async () => {
    try {
      const { train, test } = await openSource(path);
      if (test) {
        const trainCount = options.limit > 0 ? Math.min(options.limit, train.count) : train.count;
        const trainSet = await unwrap(readAll(train, { selection: { limit: trainCount } }));
        const testSet = await unwrap(
          readAll(test, { selection: { limit: Math.min(options.heldOut, test.count) } }),
        );
        return E.right(
          resized({ train: trainSet, test: testSet, description: train.description }, options),
        );
      }
      const all = await unwrap(readAll(train));
      if (all.count <= options.heldOut)
        return E.left(
          dataError(path, `${all.count} images, not more than the ${options.heldOut} held out`),
        );
      const trainEnd = all.count - options.heldOut;
      const trainCount = options.limit > 0 ? Math.min(options.limit, trainEnd) : trainEnd;
      return E.right(
        resized(
          {
            train: gatherImages(all, range(0, trainCount)),
            test: gatherImages(all, range(trainEnd, all.count)),
            description: train.description,
          },
          options,
        ),
      );
    } catch (e) {
      const err = (e as { error?: ScorekitError; _tag?: string }).error ?? (e as ScorekitError);
      if (err && typeof err === 'object' && '_tag' in err)
        return E.left(
          err._tag === 'IoError' && !err.message.startsWith('data:')
            ? dataError(path, err.message)
            : err,
        );
      return E.left(dataError(path, e instanceof Error ? e.message : String(e)));
    }
  };
}
