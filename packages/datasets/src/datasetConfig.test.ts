import { join } from 'node:path';
import { unwrap } from '@scorekit/core';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { openDataset } from './datasetConfig.js';
import { classCounts } from './imageSet.js';
import { sharedDataDir } from './testing/sharedData.js';

const data = sharedDataDir();

describe('openDataset', () => {
  it('opens record files and applies the selection', async () => {
    const file = join(data, 'cifar10', 'cifar-10-batches-bin-subset', 'data_batch_1_first4000.bin');
    const source = await unwrap(
      openDataset({
        kind: 'bin',
        files: [file],
        format: 'cifar10',
        selection: { classes: [1], limit: 50 },
      }),
    );
    expect(source.count).toBe(50);
    expect(classCounts(source.labels, 10)[1]).toBe(50);
  });

  it('opens the split CIFAR-100 folder with the default test split', async () => {
    const source = await unwrap(
      openDataset({
        kind: 'cifar100Split',
        dir: join(data, 'cifar100', 'test-bin'),
        selection: { perClassLimit: 3 },
      }),
    );
    expect(source.count).toBe(300);
  });

  it('reports invalid configs as ConfigError naming the field', async () => {
    const bad = await openDataset({ kind: 'cifar10', dir: 'x', split: 'validation' })();
    expect(E.isLeft(bad) && bad.left._tag).toBe('ConfigError');
    expect(E.isLeft(bad) && bad.left.message).toMatch(/split/);
    const unknown = await openDataset({ kind: 'mnist', dir: 'x' })();
    expect(E.isLeft(unknown) && unknown.left._tag).toBe('ConfigError');
    const badSel = await openDataset({
      kind: 'bin',
      files: [join(data, 'cifar10', 'cifar-10-batches-bin-subset', 'data_batch_1_first4000.bin')],
      format: 'cifar10',
      selection: { classes: [12] },
    })();
    expect(E.isLeft(badSel) && badSel.left.message).toMatch(/classes/);
  });
});
