import { errorMessage, type ScorekitError, ScorekitException } from '@scorekit/core';
import * as TE from 'fp-ts/lib/TaskEither.js';

type NodeFs = typeof import('node:fs/promises');

/**
 * Node's `fs/promises`, looked up when a file is read — never imported at module level, so
 * this module (and the in-memory parts of @scorekit/datasets) load in a browser. Throws an
 * `IoError` naming `file` where there is no Node file system.
 */
function nodeFs(file: string): NodeFs {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const fs = proc?.getBuiltinModule?.('node:fs/promises') as NodeFs | undefined;
  if (fs === undefined)
    throw new ScorekitException(
      ioError(file, 'cannot read', 'no Node file system here (needs Node >= 20.16)'),
    );
  return fs;
}

/**
 * An `IoError` naming the file, the operation and the system's reason (e.g. ENOENT).
 * Krizhevsky 2009 readers (CIFAR-10/100) report every failed read this way.
 *
 * @example
 * ```ts
 * ioError('data/test_batch.bin', 'cannot open', new Error('ENOENT'));
 * // { _tag: 'IoError', file: 'data/test_batch.bin', message: 'data/test_batch.bin: cannot open: ENOENT' }
 * ```
 */
export function ioError(file: string, what: string, cause: unknown): ScorekitError {
  return { _tag: 'IoError', file, message: `${file}: ${what}: ${errorMessage(cause)}` };
}

/**
 * A `FormatError` for a file whose contents break its format (Krizhevsky 2009 record layout,
 * PNG header): the message names the file and the problem, `field` what was wrong.
 *
 * @example
 * ```ts
 * formatError('a.bin', 'record 3: label 12 out of range 0..9', 'label');
 * ```
 */
export function formatError(file: string, problem: string, field?: string): ScorekitError {
  return field === undefined
    ? { _tag: 'FormatError', file, message: `${file}: ${problem}` }
    : { _tag: 'FormatError', file, field, message: `${file}: ${problem}` };
}

/**
 * Runs an async file operation, mapping a thrown {@link ScorekitException} to its error and
 * any other throw to an {@link ioError} (the effects-at-the-edges rule of the architecture,
 * for Krizhevsky 2009 readers).
 *
 * @example
 * ```ts
 * const size = tryIo('a.bin', 'cannot stat', async () => (await stat('a.bin')).size);
 * ```
 */
export function tryIo<A>(
  file: string,
  what: string,
  f: () => Promise<A>,
): TE.TaskEither<ScorekitError, A> {
  return TE.tryCatch(f, (cause) =>
    cause instanceof ScorekitException ? cause.error : ioError(file, what, cause),
  );
}

/**
 * Reads `length` bytes at `position` of `file` (one open/read/close) — a record range of a
 * Krizhevsky 2009 binary. Throws a {@link ScorekitException} with an `IoError` naming the
 * file if it cannot be read or is short.
 *
 * @example
 * ```ts
 * const record7 = await readRange('test_batch.bin', 7 * 3073, 3073);
 * ```
 */
export async function readRange(file: string, position: number, length: number): Promise<Buffer> {
  try {
    const handle = await nodeFs(file).open(file, 'r');
    try {
      const buffer = Buffer.alloc(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
        if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
        done += bytesRead;
      }
      return buffer;
    } finally {
      await handle.close();
    }
  } catch (cause) {
    throw new ScorekitException(ioError(file, `cannot read ${length} bytes at ${position}`, cause));
  }
}

/**
 * The size of `file` in bytes, or an `IoError` naming it (Krizhevsky 2009 files must hold
 * whole records).
 *
 * @example
 * ```ts
 * await fileSize('data/cifar-10-batches-bin/test_batch.bin')(); // Right(30730000)
 * ```
 */
export function fileSize(file: string): TE.TaskEither<ScorekitError, number> {
  return tryIo(file, 'cannot stat', async () => {
    const s = await nodeFs(file).stat(file);
    if (!s.isFile()) throw new Error('not a regular file');
    return s.size;
  });
}

/**
 * Reads a label-names text file (one name a line, index = line number; blank lines at the end
 * are dropped), as `batches.meta.txt` and `fine_label_names.txt` of the CIFAR distributions
 * (Krizhevsky 2009). Checks the count when `expected` is given.
 *
 * @example
 * ```ts
 * const names = await unwrap(readLabelNames('data/cifar-10-batches-bin/batches.meta.txt', 10));
 * ```
 */
export function readLabelNames(
  file: string,
  expected?: number,
): TE.TaskEither<ScorekitError, readonly string[]> {
  return tryIo(file, 'cannot read label names', async () => {
    const text = await nodeFs(file).readFile(file, 'utf8');
    const names = text.split(/\r?\n/).map((line) => line.trim());
    while (names.length > 0 && names[names.length - 1] === '') names.pop();
    const blank = names.indexOf('');
    if (blank >= 0)
      throw new ScorekitException(formatError(file, `line ${blank + 1} is blank`, 'names'));
    if (expected !== undefined && names.length !== expected)
      throw new ScorekitException(
        formatError(file, `expected ${expected} label names, got ${names.length}`, 'names'),
      );
    return names;
  });
}
