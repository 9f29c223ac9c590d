import { decodeConfig, type ScorekitError } from '@scorekit/core';
import { type } from 'arktype';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { cifar10, cifar100, cifar100Split } from './cifar.js';
import { binSource, cifar10Layout, cifar100Layout } from './cifarBinary.js';
import { imageFolderSource } from './imageFolder.js';
import { selectionConfig } from './selection.js';
import { type ImageSource, subset } from './source.js';

const onBadFile = "'error' | 'skip' = 'error'";
const split = "'train' | 'test'";

/**
 * Which image dataset to open, as plain JSON (saved with a run's resolved config):
 * - `{ kind: 'cifar10', dir, split }` — official `cifar-10-batches-bin/`;
 * - `{ kind: 'cifar100', dir, split, label: 'fine' | 'coarse' }` — official `cifar-100-binary/`;
 * - `{ kind: 'cifar100Split', dir, split }` — label-less `<fine>-<idx>-<split>.bin` files;
 * - `{ kind: 'bin', files, format: 'cifar10' | 'cifar100' | 'cifar100Coarse' }` — given record files;
 * - `{ kind: 'imageFolder', dir }` — `<dir>/<class>/*.png` (32×32 RGB).
 * Each takes `onBadFile` ('error' | 'skip') and an optional `selection`. Krizhevsky 2009;
 * the data of Chao et al. 2022, §5.
 *
 * @example
 * ```ts
 * datasetConfig({ kind: 'cifar10', dir: 'data/cifar-10-batches-bin', split: 'test' });
 * ```
 */
export const datasetConfig = type({
  kind: "'cifar10'",
  dir: 'string > 0',
  split: `${split} = 'train'`,
  onBadFile,
  'selection?': selectionConfig,
})
  .or({
    kind: "'cifar100'",
    dir: 'string > 0',
    split: `${split} = 'train'`,
    label: "'fine' | 'coarse' = 'fine'",
    onBadFile,
    'selection?': selectionConfig,
  })
  .or({
    kind: "'cifar100Split'",
    dir: 'string > 0',
    split: `${split} = 'test'`,
    onBadFile,
    'selection?': selectionConfig,
  })
  .or({
    kind: "'bin'",
    files: 'string[] > 0',
    format: "'cifar10' | 'cifar100' | 'cifar100Coarse'",
    onBadFile,
    'selection?': selectionConfig,
  })
  .or({
    kind: "'imageFolder'",
    dir: 'string > 0',
    onBadFile,
    'selection?': selectionConfig,
  });

/**
 * A resolved {@link datasetConfig} (the CIFAR data of Chao et al. 2022, §5).
 *
 * @example
 * ```ts
 * const cfg = datasetConfig.assert({ kind: 'cifar10', dir: 'data/cifar-10-batches-bin' }); // split 'train'
 * ```
 */
export type DatasetConfig = typeof datasetConfig.infer;
/**
 * A {@link datasetConfig} as a user writes it (Chao et al. 2022, §5 data).
 *
 * @example
 * ```ts
 * const input: DatasetConfigInput = { kind: 'imageFolder', dir: 'data/test-png' };
 * ```
 */
export type DatasetConfigInput = typeof datasetConfig.inferIn;

/**
 * Validates a dataset config (a `ConfigError` naming the field otherwise) and opens the
 * source it names, restricted to its `selection` (Krizhevsky 2009 data; Chao et al. 2022, §5).
 *
 * @example
 * ```ts
 * const source = await unwrap(openDataset({ kind: 'imageFolder', dir: '../shared/data/cifar10/test-png' }));
 * ```
 */
export function openDataset(config: unknown): TE.TaskEither<ScorekitError, ImageSource> {
  const decoded = decodeConfig(datasetConfig, config, 'dataset');
  if (E.isLeft(decoded)) return TE.left(decoded.left);
  const cfg = decoded.right;
  const opened = ((): TE.TaskEither<ScorekitError, ImageSource> => {
    switch (cfg.kind) {
      case 'cifar10':
        return cifar10(cfg.dir, { split: cfg.split, onBadFile: cfg.onBadFile });
      case 'cifar100':
        return cifar100(cfg.dir, { split: cfg.split, label: cfg.label, onBadFile: cfg.onBadFile });
      case 'cifar100Split':
        return cifar100Split(cfg.dir, { split: cfg.split, onBadFile: cfg.onBadFile });
      case 'bin':
        return binSource(
          cfg.files,
          cfg.format === 'cifar10'
            ? cifar10Layout
            : cifar100Layout(cfg.format === 'cifar100' ? 'fine' : 'coarse'),
          { onBadFile: cfg.onBadFile },
        );
      case 'imageFolder':
        return imageFolderSource(cfg.dir, { onBadFile: cfg.onBadFile });
    }
  })();
  const selection = cfg.selection;
  return selection === undefined
    ? opened
    : TE.flatMap(opened, (source) =>
        TE.tryCatch(
          async () => subset(source, selection),
          (cause): ScorekitError =>
            cause instanceof Error && 'error' in cause
              ? (cause.error as ScorekitError)
              : { _tag: 'ConfigError', path: 'selection', message: String(cause) },
        ),
      );
}
