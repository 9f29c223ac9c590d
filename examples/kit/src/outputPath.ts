import { randomBytes } from 'node:crypto';
import { mkdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

const errorMessage = (cause: unknown): string =>
  cause instanceof Error ? cause.message : String(cause);

/**
 * Checks, before any work starts, that `dir` can be an output folder: not empty, not an existing
 * file (nor under one), and writable — proven by creating the missing folders and a probe file,
 * then removing both, so a path under `/sys`, a read-only mount or a folder without write
 * permission fails now instead of after a long run. Leaves the file system as it found it.
 * Throws an `Error` naming `option` (e.g. `--out`) and the path.
 *
 * @example
 * ```ts
 * await checkOutputDir('out/cifar-tiny/score', '--out');
 * ```
 */
export async function checkOutputDir(dir: string, option = '--out'): Promise<void> {
  if (dir.trim() === '') throw new Error(`${option}: expected a folder path, got an empty string`);
  // the nearest existing ancestor, and the topmost folder we would create
  let existing = resolve(dir);
  const missing: string[] = []; // the folders to create, outermost last
  for (;;) {
    const s = await stat(existing).catch((cause: NodeJS.ErrnoException) => {
      if (cause.code === 'ENOENT' || cause.code === 'ENOTDIR') return undefined;
      throw new Error(`${option} ${dir}: cannot inspect ${existing}: ${errorMessage(cause)}`);
    });
    if (s) {
      if (!s.isDirectory())
        throw new Error(
          existing === resolve(dir)
            ? `${option} ${dir}: is a file, expected a folder`
            : `${option} ${dir}: ${existing} is a file, so no folder can be created under it`,
        );
      break;
    }
    missing.push(existing);
    const up = dirname(existing);
    if (up === existing) break;
    existing = up;
  }
  const created = missing[missing.length - 1];
  try {
    // one level at a time: a recursive mkdir can spin forever on pseudo file systems like /proc
    for (const d of [...missing].reverse()) await mkdir(d);
    const probe = join(dir, `.tmp-write-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
    await writeFile(probe, '');
    await unlink(probe);
  } catch (cause) {
    throw new Error(`${option} ${dir}: not writable: ${errorMessage(cause)}`);
  } finally {
    if (created !== undefined) await rm(created, { recursive: true, force: true });
  }
}
