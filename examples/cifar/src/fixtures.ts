/**
 * Shared set-up of the CIFAR CLI's tests and benchmarks: where the repository and the real
 * CIFAR-10 subset are, a `tiny` run config on that subset, and the CLI in a child process.
 * Not part of the CLI itself (index.ts does not export it).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './cli.js';
import type { CifarConfig } from './config.js';

/** The repository root (this file is examples/cifar/src/fixtures.ts). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The shared data folder: `SCOREKIT_SHARED_DATA`, else `../shared/data` beside the clone. */
export const sharedData =
  process.env['SCOREKIT_SHARED_DATA'] ?? resolve(repoRoot, '../shared/data');

/** The first 4,000 CIFAR-10 training images in the official binary format (shared/data). */
export const cifarSubset = join(
  sharedData,
  'cifar10/cifar-10-batches-bin-subset/data_batch_1_first4000.bin',
);

/** The run config of `argv` with the `tiny` preset on {@link cifarSubset}, quiet. */
export function tinyConfig(argv: readonly string[], data: string = cifarSubset): CifarConfig {
  const parsed = parseArgs([...argv, '--preset', 'tiny', '--data', data, '--quiet']);
  if (parsed.kind !== 'run') throw new Error(`tinyConfig: ${argv.join(' ')} asked for help`);
  return parsed.config;
}

/**
 * `npm run cifar -- …argv --backend backend` as a child process from the repository root
 * (sources through tsx), stdout ignored, stderr piped so a test can show it on failure.
 */
export function spawnCli(argv: readonly string[], backend: string): ChildProcessWithoutNullStreams {
  return spawn(
    process.execPath,
    [
      '--conditions=@scorekit/source',
      '--import',
      'tsx',
      'examples/cifar/src/main.ts',
      ...argv,
      '--backend',
      backend,
    ],
    { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] },
  ) as unknown as ChildProcessWithoutNullStreams;
}
