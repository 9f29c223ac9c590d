import { type ScorekitError, ScorekitException, unwrap } from '@scorekit/core';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { cifarShape, type ImageShape, imageBytes } from './imageSet.js';
import { fileSize, formatError, readRange, tryIo } from './io.js';
import { checkIndices, type ImageSource } from './source.js';

/**
 * One label byte of a record (Krizhevsky 2009 binary layout): its name (for messages) and how
 * many classes it has.
 *
 * @example
 * ```ts
 * const fine: LabelField = { name: 'fine', numClasses: 100 };
 * ```
 */
export interface LabelField {
  readonly name: string;
  readonly numClasses: number;
}

/**
 * The byte layout of a fixed-size image record: `labelFields.length` label bytes, then the
 * pixels as planes (all of R, then G, then B; each plane row-major), as in the official
 * CIFAR binaries (Krizhevsky 2009). `label` says which label byte is the sample's label, or
 * `'file'` when records carry no label and each file's label is given (the split CIFAR-100
 * files `<fine>-<idx>-test.bin`).
 *
 * @example
 * ```ts
 * recordBytes(cifar10Layout); // 3073
 * ```
 */
export interface RecordLayout {
  readonly name: string;
  readonly labelFields: readonly LabelField[];
  readonly label: number | 'file';
  readonly shape: ImageShape;
}

/**
 * CIFAR-10 binary record (Krizhevsky 2009): `<1 label byte 0..9><1024 R><1024 G><1024 B>` =
 * 3073 bytes.
 *
 * @example
 * ```ts
 * binSource('data/cifar-10-batches-bin/test_batch.bin', cifar10Layout);
 * ```
 */
export const cifar10Layout: RecordLayout = {
  name: 'CIFAR-10',
  labelFields: [{ name: 'label', numClasses: 10 }],
  label: 0,
  shape: cifarShape,
};

/**
 * CIFAR-100 binary record (Krizhevsky 2009): `<1 coarse byte 0..19><1 fine byte 0..99><3072
 * pixels>` = 3074 bytes; both label bytes are validated, `label` picks which one labels the
 * sample.
 *
 * @example
 * ```ts
 * cifar100Layout('coarse').label; // 0
 * ```
 */
export function cifar100Layout(label: 'fine' | 'coarse' = 'fine'): RecordLayout {
  return {
    name: `CIFAR-100 (${label})`,
    labelFields: [
      { name: 'coarse', numClasses: 20 },
      { name: 'fine', numClasses: 100 },
    ],
    label: label === 'coarse' ? 0 : 1,
    shape: cifarShape,
  };
}

/**
 * Label-less 3072-byte planar RGB records (Krizhevsky 2009 pixels without the label bytes, as
 * in the split CIFAR-100 files); the label comes from the file.
 *
 * @example
 * ```ts
 * binSource(['apple-0-test.bin'], pixelsOnlyLayout, { fileLabels: [0], classNames: ['apple'] });
 * ```
 */
export const pixelsOnlyLayout: RecordLayout = {
  name: 'pixels only',
  labelFields: [],
  label: 'file',
  shape: cifarShape,
};

/**
 * Bytes per record of a layout: label bytes + H·W·C (Krizhevsky 2009: 3073 for CIFAR-10).
 *
 * @example
 * ```ts
 * recordBytes(cifar10Layout); // 3073
 * ```
 */
export function recordBytes(layout: RecordLayout): number {
  return layout.labelFields.length + imageBytes(layout.shape);
}

/**
 * The number of classes of a layout's label (0 for `'file'`; Krizhevsky 2009).
 *
 * @example
 * ```ts
 * layoutClasses(cifar100Layout('fine')); // 100
 * ```
 */
export function layoutClasses(layout: RecordLayout): number {
  return layout.label === 'file' ? 0 : (layout.labelFields[layout.label]?.numClasses ?? 0);
}

/**
 * Copies one planar (CHW) image at `src[srcOffset..]` into HWC order at `dst[dstOffset..]`
 * (Krizhevsky 2009 stores planes; tensors here are NHWC).
 *
 * @example
 * ```ts
 * planarToHwc(record, 1, out, 0, cifarShape); // skip the CIFAR-10 label byte
 * ```
 */
export function planarToHwc(
  src: Uint8Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  shape: ImageShape,
): void {
  const plane = shape[0] * shape[1];
  const c = shape[2];
  for (let ch = 0; ch < c; ch++) {
    const from = srcOffset + ch * plane;
    for (let p = 0; p < plane; p++) dst[dstOffset + p * c + ch] = src[from + p]!;
  }
}

/**
 * The inverse of {@link planarToHwc}: one HWC image to planar CHW (to write Krizhevsky 2009
 * records).
 *
 * @example
 * ```ts
 * hwcToPlanar(image, 0, record, 1, cifarShape);
 * ```
 */
export function hwcToPlanar(
  src: Uint8Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  shape: ImageShape,
): void {
  const plane = shape[0] * shape[1];
  const c = shape[2];
  for (let ch = 0; ch < c; ch++) {
    const to = dstOffset + ch * plane;
    for (let p = 0; p < plane; p++) dst[to + p] = src[srcOffset + p * c + ch]!;
  }
}

/**
 * Decodes whole records: NHWC pixels and the labels, checking every label byte against its
 * range. `firstRecord` numbers records in messages (record index within `file`).
 * Krizhevsky 2009, "binary version" of CIFAR-10/100.
 *
 * @example
 * ```ts
 * decodeRecords(bytes, cifar10Layout, { file: 'test_batch.bin' });
 * // Right({ pixels, labels }) or Left(FormatError 'test_batch.bin: record 7 (byte 21511): label byte 12 out of range 0..9')
 * ```
 */
export function decodeRecords(
  bytes: Uint8Array,
  layout: RecordLayout,
  where: { readonly file: string; readonly firstRecord?: number; readonly fileLabel?: number },
): E.Either<ScorekitError, { pixels: Uint8Array; labels: Int32Array }> {
  const size = recordBytes(layout);
  const per = imageBytes(layout.shape);
  const first = where.firstRecord ?? 0;
  if (bytes.length === 0)
    return E.left(
      formatError(
        where.file,
        `empty (0 bytes): expected ${size}-byte ${layout.name} records`,
        'size',
      ),
    );
  if (bytes.length % size !== 0)
    return E.left(
      formatError(
        where.file,
        `${bytes.length} bytes is not a whole number of ${size}-byte ${layout.name} records`,
        'size',
      ),
    );
  const n = bytes.length / size;
  const bad = checkLabels(bytes, layout, where.file, first);
  if (bad !== undefined) return E.left(bad);
  if (layout.label === 'file' && where.fileLabel === undefined)
    return E.left(formatError(where.file, `${layout.name} records carry no label`, 'label'));
  const pixels = new Uint8Array(n * per);
  const labels = new Int32Array(n);
  const skip = layout.labelFields.length;
  for (let r = 0; r < n; r++) {
    labels[r] = layout.label === 'file' ? where.fileLabel! : bytes[r * size + layout.label]!;
    planarToHwc(bytes, r * size + skip, pixels, r * per, layout.shape);
  }
  return E.right({ pixels, labels });
}

/** 'label byte' for a field named label (CIFAR-10), 'coarse label byte' for CIFAR-100's coarse one. */
const labelByte = (field: string): string =>
  field === 'label' ? 'label byte' : `${field} label byte`;

function checkLabels(
  bytes: Uint8Array,
  layout: RecordLayout,
  file: string,
  firstRecord: number,
): ScorekitError | undefined {
  const size = recordBytes(layout);
  const n = Math.floor(bytes.length / size);
  for (let r = 0; r < n; r++)
    for (let f = 0; f < layout.labelFields.length; f++) {
      const field = layout.labelFields[f]!;
      const v = bytes[r * size + f]!;
      if (v >= field.numClasses) {
        const record = firstRecord + r;
        return formatError(
          file,
          `record ${record} (byte ${record * size + f}): ${labelByte(field.name)} ${v} out of range 0..${field.numClasses - 1}`,
          field.name,
        );
      }
    }
  return undefined;
}

/**
 * Encodes NHWC images and labels as records of `layout` (the inverse of
 * {@link decodeRecords}; Krizhevsky 2009 layout); `labelBytes[f][i]` is label field f of
 * record i.
 *
 * @example
 * ```ts
 * encodeRecords(pixels, [labels], cifar10Layout); // bytes of a CIFAR-10 .bin file
 * ```
 */
export function encodeRecords(
  pixels: Uint8Array,
  labelBytes: readonly ArrayLike<number>[],
  layout: RecordLayout,
): Uint8Array {
  const size = recordBytes(layout);
  const per = imageBytes(layout.shape);
  const n = pixels.length / per;
  const out = new Uint8Array(n * size);
  for (let r = 0; r < n; r++) {
    for (let f = 0; f < layout.labelFields.length; f++) out[r * size + f] = labelBytes[f]?.[r] ?? 0;
    hwcToPlanar(pixels, r * per, out, r * size + layout.labelFields.length, layout.shape);
  }
  return out;
}

/**
 * Options of {@link binSource} (Krizhevsky 2009 record files).
 *
 * @example
 * ```ts
 * const options: BinSourceOptions = { classNames: ['apple'], fileLabels: [0], onBadFile: 'skip' };
 * ```
 */
export interface BinSourceOptions {
  /** Names of the label's classes (default "0", "1", …). */
  readonly classNames?: readonly string[];
  /** The label of every record of each file, for label-less layouts (`label: 'file'`). */
  readonly fileLabels?: readonly number[];
  /** `'error'` (default): a malformed file fails the read; `'skip'`: it is left out and listed in `skipped`. Missing files are always errors. */
  readonly onBadFile?: 'error' | 'skip';
  /** Records read at a time while scanning labels (default 2048). */
  readonly scanChunk?: number;
}

interface BinFile {
  readonly file: string;
  readonly start: number;
  readonly count: number;
  readonly label: number | undefined;
}

/**
 * A streamed, random-access source over one or more binary record files (a CIFAR-10
 * `data_batch_*.bin`, a CIFAR-100 `train.bin`, the split `<fine>-<idx>-test.bin` files …).
 * Opening checks each file's size (a whole number of records) and scans its label bytes in
 * chunks (every label in range); pixels are read only when asked, record-range by
 * record-range. Errors name the file and the record. Krizhevsky 2009.
 *
 * @example
 * ```ts
 * const source = await unwrap(binSource(['data/cifar-10-batches-bin/test_batch.bin'], cifar10Layout));
 * source.count; // 10000
 * ```
 */
export function binSource(
  files: string | readonly string[],
  layout: RecordLayout,
  options: BinSourceOptions = {},
): TE.TaskEither<ScorekitError, ImageSource> {
  const list = typeof files === 'string' ? [files] : files;
  const size = recordBytes(layout);
  const per = imageBytes(layout.shape);
  const where = list[0] ?? '(no files)';
  return tryIo(where, 'cannot open', async () => {
    const numClasses =
      layout.label === 'file'
        ? (options.classNames?.length ?? Math.max(0, ...(options.fileLabels ?? [])) + 1)
        : layoutClasses(layout);
    const classNames = options.classNames ?? Array.from({ length: numClasses }, (_, k) => `${k}`);
    if (classNames.length !== numClasses)
      throw new ScorekitException(
        formatError(
          where,
          `${numClasses} classes in the ${layout.name} layout but ${classNames.length} class names`,
          'classNames',
        ),
      );
    if (layout.label === 'file' && options.fileLabels?.length !== list.length)
      throw new ScorekitException({
        _tag: 'ConfigError',
        path: 'fileLabels',
        message: `binSource: ${layout.name} records carry no label: fileLabels must give one label per file (${list.length}), got ${options.fileLabels?.length ?? 'none'}`,
      });
    const skipped: ScorekitError[] = [];
    const parts: BinFile[] = [];
    const labelChunks: Int32Array[] = [];
    let start = 0;
    for (let f = 0; f < list.length; f++) {
      const file = list[f]!;
      const bytes = await unwrap(fileSize(file));
      const label = layout.label === 'file' ? options.fileLabels![f]! : undefined;
      const problem =
        bytes === 0
          ? formatError(
              file,
              `empty file (0 bytes): expected ${size}-byte ${layout.name} records`,
              'size',
            )
          : bytes % size !== 0
            ? formatError(
                file,
                `file size ${bytes} bytes is not a whole number of ${size}-byte ${layout.name} records (${Math.floor(bytes / size)} records + ${bytes % size} bytes)`,
                'size',
              )
            : label !== undefined && !(Number.isInteger(label) && label >= 0 && label < numClasses)
              ? formatError(file, `file label ${label} out of range 0..${numClasses - 1}`, 'label')
              : undefined;
      const scanned = problem ?? (await scanLabels(file, bytes / size, layout, options, label));
      if (!(scanned instanceof Int32Array)) {
        if (options.onBadFile === 'skip') {
          skipped.push(scanned);
          continue;
        }
        throw new ScorekitException(scanned);
      }
      parts.push({ file, start, count: scanned.length, label });
      labelChunks.push(scanned);
      start += scanned.length;
    }
    const labels = new Int32Array(start);
    let at = 0;
    for (const chunk of labelChunks) {
      labels.set(chunk, at);
      at += chunk.length;
    }
    const description =
      list.length === 1 ? where : `${where} and ${list.length - 1} more ${layout.name} files`;
    const source: ImageSource = {
      count: start,
      shape: layout.shape,
      classNames,
      labels,
      description,
      skipped,
      read: (indices) => {
        const bad = checkIndices(description, start, indices);
        if (bad !== undefined) return TE.left(bad);
        return tryIo(description, 'cannot read records', () =>
          readRecords(parts, indices, layout, size, per),
        );
      },
    };
    return source;
  });
}

async function scanLabels(
  file: string,
  n: number,
  layout: RecordLayout,
  options: BinSourceOptions,
  fileLabel: number | undefined,
): Promise<Int32Array | ScorekitError> {
  const labels = new Int32Array(n);
  if (layout.label === 'file') return labels.fill(fileLabel ?? 0);
  const size = recordBytes(layout);
  const chunk = options.scanChunk ?? 2048;
  for (let r0 = 0; r0 < n; r0 += chunk) {
    const m = Math.min(chunk, n - r0);
    const bytes = await readRange(file, r0 * size, m * size);
    const bad = checkLabels(bytes, layout, file, r0);
    if (bad !== undefined) return bad;
    for (let r = 0; r < m; r++) labels[r0 + r] = bytes[r * size + layout.label]!;
  }
  return labels;
}

function findPart(parts: readonly BinFile[], i: number): BinFile {
  let lo = 0;
  let hi = parts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (parts[mid]!.start <= i) lo = mid;
    else hi = mid - 1;
  }
  return parts[lo]!;
}

async function readRecords(
  parts: readonly BinFile[],
  indices: ArrayLike<number>,
  layout: RecordLayout,
  size: number,
  per: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(indices.length * per);
  const skip = layout.labelFields.length;
  let j = 0;
  while (j < indices.length) {
    const first = indices[j]!;
    const part = findPart(parts, first);
    let run = 1;
    while (
      j + run < indices.length &&
      indices[j + run] === first + run &&
      first + run < part.start + part.count
    )
      run++;
    const bytes = await readRange(part.file, (first - part.start) * size, run * size);
    for (let r = 0; r < run; r++)
      planarToHwc(bytes, r * size + skip, out, (j + r) * per, layout.shape);
    j += run;
  }
  return out;
}
