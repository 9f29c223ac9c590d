import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileSize, readLabelNames, readRange } from './io.js';

describe('io (file system looked up at call time, not at module level)', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'scorekit-io-'));
    await writeFile(join(dir, 'a.bin'), Uint8Array.from([1, 2, 3, 4, 5]));
    await writeFile(join(dir, 'names.txt'), 'cat\ndog\n\n');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reads ranges, sizes and label names in Node', async () => {
    expect([...(await readRange(join(dir, 'a.bin'), 1, 3))]).toEqual([2, 3, 4]);
    expect(await fileSize(join(dir, 'a.bin'))()).toEqual(E.right(5));
    expect(await readLabelNames(join(dir, 'names.txt'), 2)()).toEqual(E.right(['cat', 'dog']));
  });

  it('fails with an IoError naming the file where there is no Node file system', async () => {
    const proc = process as { getBuiltinModule?: unknown };
    const saved = proc.getBuiltinModule;
    proc.getBuiltinModule = undefined;
    try {
      await expect(readRange(join(dir, 'a.bin'), 0, 1)).rejects.toMatchObject({
        error: { _tag: 'IoError', file: join(dir, 'a.bin') },
      });
      const size = await fileSize(join(dir, 'a.bin'))();
      expect(E.isLeft(size) && size.left.message).toMatch(/a\.bin: .*no Node file system here/);
    } finally {
      proc.getBuiltinModule = saved;
    }
  });
});
