import { open } from 'node:fs/promises';
import { errorMessage, type ScorekitError } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';
import { type } from 'arktype';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { writeFileAtomic } from './atomic.js';
import { printable } from './printable.js';

/**
 * The tfjs dtypes stored in safetensors files here (Hugging Face safetensors format: `F32`,
 * `I32`).
 *
 * @example
 * ```ts
 * const d: HostDtype = 'float32'; // written as "F32"
 * ```
 */
export type HostDtype = 'float32' | 'int32';

/**
 * A tensor's data on the host: dtype, shape and row-major values (one entry of a Hugging Face
 * safetensors file).
 *
 * @example
 * ```ts
 * const t: HostTensor = { dtype: 'float32', shape: [2], values: new Float32Array([1, 2]) };
 * ```
 */
export interface HostTensor {
  readonly dtype: HostDtype;
  readonly shape: readonly number[];
  readonly values: Float32Array | Int32Array;
}

/**
 * The decoded contents of a safetensors file (Hugging Face format): named tensors and the
 * string → string `__metadata__`.
 *
 * @example
 * ```ts
 * const c: SafetensorsContents = { tensors: { w: t }, metadata: { format: 'scorekit' } };
 * ```
 */
export interface SafetensorsContents {
  readonly tensors: Readonly<Record<string, HostTensor>>;
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * The shape and dtype a loaded tensor must have (see {@link checkTensors}; the safetensors
 * header's `shape` and `dtype`).
 *
 * @example
 * ```ts
 * const spec: TensorSpec = { shape: [3, 3, 64, 64], dtype: 'float32' };
 * ```
 */
export interface TensorSpec {
  readonly shape: readonly number[];
  readonly dtype: string;
}

const SAFE_DTYPE: Record<HostDtype, 'F32' | 'I32'> = { float32: 'F32', int32: 'I32' };
const HOST_DTYPE: Record<string, HostDtype> = { F32: 'float32', I32: 'int32' };
/** Rust safetensors orders tensors by dtype (descending enum order: F32 before I32), then name. */
const DTYPE_RANK: Record<HostDtype, number> = { float32: 0, int32: 1 };
/**
 * The largest safetensors header scorekit reads: 16 MiB (the reference implementation allows
 * 100 MB; a checkpoint of the paper's NCSN++ with Adam state has a header of a few hundred kB).
 * Checked from the 8-byte length before the header is read or parsed, so a hostile length costs
 * nothing.
 *
 * @example
 * ```ts
 * maxHeaderBytes; // 16777216
 * ```
 */
export const maxHeaderBytes = 16 * 2 ** 20;
const MAX_HEADER = maxHeaderBytes;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const fail = (file: string, message: string, tensor?: string): ScorekitError =>
  tensor === undefined
    ? { _tag: 'CheckpointError', file, message: printable(`${file}: ${message}`, 600) }
    : {
        _tag: 'CheckpointError',
        file,
        tensor,
        message: printable(`${file}: tensor '${tensor}': ${message}`, 600),
      };

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function toLittleEndianBytes(values: Float32Array | Int32Array): Uint8Array {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (LITTLE_ENDIAN) return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 4)
    for (let j = 0; j < 4; j++) out[i + j] = bytes[i + 3 - j]!;
  return out;
}

function fromLittleEndianBytes(bytes: Uint8Array, dtype: HostDtype): Float32Array | Int32Array {
  const copy = new Uint8Array(bytes.length); // aligned copy
  if (LITTLE_ENDIAN) copy.set(bytes);
  else
    for (let i = 0; i < bytes.length; i += 4)
      for (let j = 0; j < 4; j++) copy[i + j] = bytes[i + 3 - j]!;
  return dtype === 'float32' ? new Float32Array(copy.buffer) : new Int32Array(copy.buffer);
}

/**
 * Serialises named host tensors in the safetensors format (Hugging Face, "safetensors"
 * format spec): an 8-byte little-endian unsigned header length N, an N-byte UTF-8 JSON header
 * `{"__metadata__": {…}, name: {"dtype", "shape", "data_offsets": [begin, end]}, …}` padded
 * with spaces to a multiple of 8, then the raw little-endian data of every tensor, contiguous,
 * in header order (dtype, then name, as the Rust implementation lays them out). Readable by
 * `safetensors.torch.load_file` / `safetensors.numpy.load_file`.
 *
 * @example
 * ```ts
 * const bytes = encodeSafetensors({
 *   tensors: { w: { dtype: 'float32', shape: [2], values: new Float32Array([1, 2]) } },
 *   metadata: { format: 'scorekit' },
 * });
 * ```
 */
export function encodeSafetensors(contents: SafetensorsContents): Uint8Array {
  const names = Object.keys(contents.tensors).sort((a, b) => {
    const ra = DTYPE_RANK[contents.tensors[a]!.dtype];
    const rb = DTYPE_RANK[contents.tensors[b]!.dtype];
    return ra !== rb ? ra - rb : a < b ? -1 : a > b ? 1 : 0;
  });
  const header: Record<string, unknown> = {};
  if (Object.keys(contents.metadata).length > 0) header['__metadata__'] = contents.metadata;
  let offset = 0;
  for (const name of names) {
    if (name === '__metadata__') throw new RangeError("safetensors: '__metadata__' is reserved");
    const t = contents.tensors[name]!;
    if (t.values.length !== numel(t.shape))
      throw new RangeError(
        `safetensors: tensor '${name}' has ${t.values.length} values for shape [${t.shape}]`,
      );
    const end = offset + t.values.byteLength;
    header[name] = { dtype: SAFE_DTYPE[t.dtype], shape: [...t.shape], data_offsets: [offset, end] };
    offset = end;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const n = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + n + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  let at = 8 + n;
  for (const name of names) {
    const bytes = toLittleEndianBytes(contents.tensors[name]!.values);
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}

const entrySchema = type({
  dtype: 'string',
  shape: 'number.integer >= 0 []',
  data_offsets: ['number.integer >= 0', 'number.integer >= 0'],
});
const metadataSchema = type('Record<string, string>');

/**
 * Parses safetensors bytes (see {@link encodeSafetensors}) with the reference implementation's
 * checks: header length within the file, a JSON object header, known dtypes (F32, I32),
 * byte ranges that match the shapes and tile the data section exactly. A truncated file names
 * the first tensor whose bytes are missing. Every failure is a `CheckpointError` naming `file`
 * (and the tensor when one is at fault).
 *
 * @example
 * ```ts
 * const decoded = decodeSafetensors(bytes, 'params.safetensors');
 * if (E.isRight(decoded)) decoded.right.tensors['w']!.values; // Float32Array [1, 2]
 * ```
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  file: string,
): E.Either<ScorekitError, SafetensorsContents> {
  if (bytes.length < 8)
    return E.left(
      fail(file, `truncated: ${bytes.length} bytes, shorter than the 8-byte header length`),
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER))
    return E.left(fail(file, `corrupt: header length ${n64} exceeds the ${MAX_HEADER}-byte limit`));
  const n = Number(n64);
  if (8 + n > bytes.length)
    return E.left(
      fail(
        file,
        `truncated: the header is ${n} bytes but only ${bytes.length - 8} follow the length`,
      ),
    );
  let raw: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
    if (!text.startsWith('{')) throw new Error("the header must start with '{'");
    raw = JSON.parse(text);
  } catch (cause) {
    return E.left(fail(file, `corrupt header (not JSON): ${errorMessage(cause)}`));
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return E.left(fail(file, 'corrupt header: expected a JSON object'));
  const dataLength = bytes.length - 8 - n;
  let metadata: Record<string, string> = {};
  const entries: { name: string; dtype: HostDtype; shape: number[]; begin: number; end: number }[] =
    [];
  for (const [name, value] of Object.entries(raw)) {
    if (name === '__metadata__') {
      const m = metadataSchema(value);
      if (m instanceof type.errors)
        return E.left(fail(file, `corrupt header: __metadata__ ${m.summary}`));
      metadata = m;
      continue;
    }
    const entry = entrySchema(value);
    if (entry instanceof type.errors)
      return E.left(fail(file, `corrupt header entry: ${entry.summary}`, name));
    const dtype = HOST_DTYPE[entry.dtype];
    if (!dtype)
      return E.left(fail(file, `unsupported dtype ${entry.dtype} (expected F32 or I32)`, name));
    const [begin, end] = entry.data_offsets;
    if (end - begin !== numel(entry.shape) * 4)
      return E.left(
        fail(
          file,
          `data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but shape [${entry.shape}] of ${entry.dtype} needs ${numel(entry.shape) * 4}`,
          name,
        ),
      );
    entries.push({ name, dtype, shape: entry.shape, begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expectedBegin = 0;
  for (const e of entries) {
    if (e.end > dataLength)
      return E.left(
        fail(
          file,
          `truncated: its data_offsets [${e.begin}, ${e.end}] extend past the ${dataLength} bytes of data in the file`,
          e.name,
        ),
      );
    if (e.begin !== expectedBegin)
      return E.left(
        fail(
          file,
          `corrupt: data starts at byte ${e.begin}, expected ${expectedBegin} (holes or overlaps)`,
          e.name,
        ),
      );
    expectedBegin = e.end;
  }
  if (expectedBegin !== dataLength)
    return E.left(
      fail(
        file,
        `corrupt: the tensors cover ${expectedBegin} bytes of data but the file holds ${dataLength}`,
      ),
    );
  const tensors: Record<string, HostTensor> = {};
  for (const e of entries) {
    const start = 8 + n + e.begin;
    tensors[e.name] = {
      dtype: e.dtype,
      shape: e.shape,
      values: fromLittleEndianBytes(bytes.subarray(start, 8 + n + e.end), e.dtype),
    };
  }
  return E.right({ tensors, metadata });
}

/**
 * Checks decoded tensors against the expected names, shapes and dtypes (e.g. a model's freshly
 * initialised params): a missing tensor, an unexpected one, or a shape/dtype mismatch gives a
 * `CheckpointError` naming `file` and the tensor, with expected vs got. Returns the tensors in
 * the order of `expected` (the model's order, which fixes the summation order of clipping).
 *
 * @example
 * ```ts
 * checkTensors('params.safetensors', decoded.tensors, { w: { shape: [2], dtype: 'float32' } });
 * ```
 */
export function checkTensors(
  file: string,
  tensors: Readonly<Record<string, HostTensor>>,
  expected: Readonly<Record<string, TensorSpec>>,
): E.Either<ScorekitError, Readonly<Record<string, HostTensor>>> {
  for (const [name, spec] of Object.entries(expected)) {
    const t = tensors[name];
    if (!t)
      return E.left(fail(file, `missing (expected shape [${spec.shape}] ${spec.dtype})`, name));
    if (t.shape.join() !== spec.shape.join())
      return E.left(fail(file, `shape mismatch: expected [${spec.shape}], got [${t.shape}]`, name));
    if (t.dtype !== spec.dtype)
      return E.left(fail(file, `dtype mismatch: expected ${spec.dtype}, got ${t.dtype}`, name));
  }
  for (const name of Object.keys(tensors))
    if (!Object.hasOwn(expected, name))
      return E.left(fail(file, 'unexpected tensor (not in the model)', name));
  // In the order of `expected` (the model's), not the file's (sorted): the order of a params
  // record is the summation order of the global gradient norm, so resume is bit-exact only if
  // the loaded params keep the model's order.
  const ordered: Record<string, HostTensor> = {};
  for (const name of Object.keys(expected)) ordered[name] = tensors[name]!;
  return E.right(ordered);
}

/**
 * Reads the values of named tfjs tensors to the host (asynchronously, outside any tidy), ready
 * for {@link encodeSafetensors} (Hugging Face safetensors format).
 * Only float32 and int32 tensors can be stored; others give a `CheckpointError` naming the
 * tensor. The tensors are not disposed.
 *
 * @example
 * ```ts
 * const host = await toHost({ w: tf.tensor([1, 2]) }, 'params.safetensors')();
 * ```
 */
export function toHost(
  tensors: Readonly<Record<string, tf.Tensor>>,
  file: string,
): TE.TaskEither<ScorekitError, Record<string, HostTensor>> {
  return async () => {
    const out: Record<string, HostTensor> = {};
    for (const [name, t] of Object.entries(tensors)) {
      if (t.dtype !== 'float32' && t.dtype !== 'int32')
        return E.left(fail(file, `dtype ${t.dtype} cannot be saved (float32 or int32 only)`, name));
      if (t.isDisposed) return E.left(fail(file, 'the tensor is disposed', name));
      const values = (await t.data()) as Float32Array | Int32Array;
      out[name] = { dtype: t.dtype, shape: [...t.shape], values };
    }
    return E.right(out);
  };
}

/**
 * Creates tfjs tensors (owned by the caller) from host tensors, e.g. those of a decoded
 * safetensors file (Hugging Face format).
 *
 * @example
 * ```ts
 * const params = fromHost(decoded.tensors);
 * ```
 */
export function fromHost(tensors: Readonly<Record<string, HostTensor>>): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [name, t] of Object.entries(tensors))
    out[name] = tf.tensor(t.values, [...t.shape], t.dtype);
  return out;
}

/**
 * Writes named tfjs tensors to `file` in the safetensors format (see
 * {@link encodeSafetensors}), atomically (a temporary file, fsynced, renamed over `file`: a crash
 * leaves the previous file or the new one, never a truncated one). The tensors are not disposed.
 *
 * @example
 * ```ts
 * await writeSafetensors('/tmp/params.safetensors', params, { format: 'scorekit' })();
 * ```
 */
export function writeSafetensors(
  file: string,
  tensors: Readonly<Record<string, tf.Tensor>>,
  metadata: Readonly<Record<string, string>> = {},
): TE.TaskEither<ScorekitError, void> {
  return TE.chain((host: Record<string, HostTensor>) =>
    writeFileAtomic(file, encodeSafetensors({ tensors: host, metadata })),
  )(toHost(tensors, file));
}

/**
 * Reads and validates a safetensors file (see {@link decodeSafetensors}); host data only, no
 * tfjs tensors are created. A file that cannot be read gives an `IoError`.
 *
 * @example
 * ```ts
 * const contents = await readSafetensors('/tmp/params.safetensors')();
 * ```
 */
export function readSafetensors(file: string): TE.TaskEither<ScorekitError, SafetensorsContents> {
  return async () => {
    let bytes: Uint8Array;
    try {
      const handle = await open(file, 'r');
      try {
        // the header-size guard first: 8 bytes decide whether the rest is read at all
        const head = new Uint8Array(8);
        const { bytesRead } = await handle.read(head, 0, 8, 0);
        if (bytesRead === 8) {
          const n = new DataView(head.buffer).getBigUint64(0, true);
          if (n > BigInt(MAX_HEADER))
            return E.left(
              fail(file, `corrupt: header length ${n} exceeds the ${MAX_HEADER}-byte limit`),
            );
        }
        bytes = await handle.readFile();
      } finally {
        await handle.close();
      }
    } catch (cause) {
      return E.left({
        _tag: 'IoError',
        file,
        message: printable(`${file}: could not read: ${errorMessage(cause)}`),
      });
    }
    return decodeSafetensors(bytes, file);
  };
}
