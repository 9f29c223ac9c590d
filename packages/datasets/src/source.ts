import type { ScorekitError } from '@scorekit/core';
import { shapeError, unwrap } from '@scorekit/core';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { concatImages, gatherImages, type ImageSet, type ImageShape } from './imageSet.js';
import { tryIo } from './io.js';
import { type SelectionInput, selectIndices } from './selection.js';

/**
 * A random-access dataset whose pixels stay where they are (files) until asked for: labels
 * and class names are known up front (a few bytes per sample), `read(indices)` returns the
 * NHWC uint8 bytes of those samples in that order. Readers of the CIFAR binaries and of
 * PNG class folders return sources, so a stream never holds more than one request
 * (Krizhevsky 2009 data; streamed the way score_sde's input pipeline does, Song et al. 2021).
 *
 * @example
 * ```ts
 * const bytes = await unwrap(source.read([0, 1])); // 2 × 32×32×3 bytes
 * ```
 */
export interface ImageSource {
  readonly count: number;
  readonly shape: ImageShape;
  readonly classNames: readonly string[];
  /** int32 label of every sample. */
  readonly labels: Int32Array;
  /** What the source reads, for messages (e.g. the folder or first file). */
  readonly description: string;
  /** Files left out under `onBadFile: 'skip'`, each with the error it would have raised. */
  readonly skipped: readonly ScorekitError[];
  read(indices: ArrayLike<number>): TE.TaskEither<ScorekitError, Uint8Array>;
}

/**
 * An in-memory set as a source (reads copy bytes; nothing is loaded) — the in-memory
 * counterpart of the Krizhevsky 2009 readers.
 *
 * @example
 * ```ts
 * const source = fromImageSet(set);
 * ```
 */
export function fromImageSet(set: ImageSet, description = 'in-memory set'): ImageSource {
  return {
    count: set.count,
    shape: set.shape,
    classNames: set.classNames,
    labels: set.labels,
    description,
    skipped: [],
    read: (indices) => TE.rightIO(() => gatherImages(set, indices).pixels),
  };
}

/**
 * A view of `source` restricted to a selection (classes, per-class limit, offset, limit) or
 * to explicit indices: sample j of the view is sample `indices[j]` of `source` (class-wise
 * subsets for Chao et al. 2022, §5).
 *
 * @example
 * ```ts
 * const cats = subset(source, { classes: [3] });
 * ```
 */
export function subset(
  source: ImageSource,
  selection: SelectionInput | ArrayLike<number>,
): ImageSource {
  const map =
    'length' in selection
      ? Int32Array.from(selection as ArrayLike<number>)
      : selectIndices(source.labels, source.classNames.length, selection as SelectionInput);
  for (const i of map)
    if (!(i >= 0 && i < source.count)) shapeError('subset index', `0..${source.count - 1}`, `${i}`);
  const labels = Int32Array.from(map, (i) => source.labels[i]!);
  return {
    count: map.length,
    shape: source.shape,
    classNames: source.classNames,
    labels,
    description: source.description,
    skipped: source.skipped,
    read: (indices) => {
      const inner = new Int32Array(indices.length);
      for (let j = 0; j < indices.length; j++) {
        const k = indices[j]!;
        if (!(k >= 0 && k < map.length))
          return TE.left({
            _tag: 'ShapeError',
            message: `${source.description}: index ${k} out of range 0..${map.length - 1}`,
          });
        inner[j] = map[k]!;
      }
      return source.read(inner);
    },
  };
}

/**
 * Checks read indices against a source's count: a `ShapeError` naming the source, or
 * `undefined` (guards random access into Krizhevsky 2009 files).
 *
 * @example
 * ```ts
 * checkIndices('test_batch.bin', 10000, [10000]); // ShapeError 'index 10000 out of range 0..9999'
 * ```
 */
export function checkIndices(
  description: string,
  count: number,
  indices: ArrayLike<number>,
): ScorekitError | undefined {
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j]!;
    if (!(Number.isInteger(i) && i >= 0 && i < count))
      return {
        _tag: 'ShapeError',
        message: `${description}: index ${i} out of range 0..${count - 1}`,
      };
  }
  return undefined;
}

/**
 * Options of {@link streamImages} and {@link readAll} (streaming Krizhevsky 2009 data).
 *
 * @example
 * ```ts
 * const options: StreamOptions = { chunkSize: 500, selection: { classes: [0] } };
 * ```
 */
export interface StreamOptions {
  /** Samples per chunk (default 1000): the most a stream holds at once. */
  readonly chunkSize?: number;
  /** Which samples (default all), see `selectionConfig`. */
  readonly selection?: SelectionInput;
}

/**
 * The samples of a source, in order, as consecutive in-memory chunks of at most `chunkSize`
 * (a Krizhevsky 2009 binary is read record-range by record-range). Errors are thrown as
 * `ScorekitException` carrying the `ScorekitError`.
 *
 * @example
 * ```ts
 * for await (const chunk of streamImages(source, { chunkSize: 500 })) use(chunk);
 * ```
 */
export async function* streamImages(
  source: ImageSource,
  options: StreamOptions = {},
): AsyncGenerator<ImageSet> {
  const chunkSize = options.chunkSize ?? 1000;
  if (!(Number.isInteger(chunkSize) && chunkSize > 0))
    shapeError('streamImages chunkSize', 'a positive integer', `${chunkSize}`);
  const view = options.selection === undefined ? source : subset(source, options.selection);
  for (let start = 0; start < view.count; start += chunkSize) {
    const end = Math.min(view.count, start + chunkSize);
    const indices = Int32Array.from({ length: end - start }, (_, j) => start + j);
    const pixels = await unwrap(view.read(indices));
    yield {
      pixels,
      labels: view.labels.slice(start, end),
      count: end - start,
      shape: view.shape,
      classNames: view.classNames,
    };
  }
}

/**
 * Loads a source (or a selection of it) into memory, `chunkSize` samples a read (Krizhevsky
 * 2009 data).
 *
 * @example
 * ```ts
 * const set = await unwrap(readAll(source, { selection: { limit: 1000 } }));
 * ```
 */
export function readAll(
  source: ImageSource,
  options: StreamOptions = {},
): TE.TaskEither<ScorekitError, ImageSet> {
  return tryIo(source.description, 'read failed', async () => {
    const chunks: ImageSet[] = [];
    for await (const chunk of streamImages(source, options)) chunks.push(chunk);
    if (chunks.length === 0)
      return {
        pixels: new Uint8Array(0),
        labels: new Int32Array(0),
        count: 0,
        shape: source.shape,
        classNames: source.classNames,
      };
    return chunks.length === 1 ? chunks[0]! : concatImages(chunks);
  });
}
