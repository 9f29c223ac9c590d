// Test-only helpers (not part of the package build): where the shared real CIFAR data lives,
// and temporary folders for malformed-input tests.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The shared data folder: $SCOREKIT_SHARED_DATA if set, else `../shared/data` beside the repo
 * (this file is <repo>/packages/datasets/src/testing/). Throws a readable error if absent.
 */
export function sharedDataDir(): string {
  const env = process.env['SCOREKIT_SHARED_DATA'];
  const dir =
    env !== undefined && env !== ''
      ? resolve(env)
      : fileURLToPath(new URL('../../../../../shared/data', import.meta.url));
  if (!existsSync(join(dir, 'README.md')))
    throw new Error(
      `shared CIFAR data not found at ${dir}: put it at <repo>/../shared/data or set SCOREKIT_SHARED_DATA`,
    );
  return dir;
}

/** A fresh temporary folder and a function that removes it. */
export async function tempDir(prefix = 'scorekit-datasets-'): Promise<{
  dir: string;
  cleanup: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
