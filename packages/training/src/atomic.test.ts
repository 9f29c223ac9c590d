import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDirAtomic, writeFileAtomic, writeFileDurable } from './atomic.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'scorekit-atomic-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('atomic writes', () => {
  it('a failure while filling leaves no directory under the final name and no temporary one', async () => {
    const parent = await mkdtemp(join(root, 'fail-'));
    const out = await writeDirAtomic(join(parent, 'step-000010'), (tmp) => async () => {
      const a = await writeFileDurable(join(tmp, 'params.safetensors'), 'complete')();
      if (E.isLeft(a)) return a;
      await writeFileDurable(join(tmp, 'optimizer.safetensors'), 'half')();
      return E.left({
        _tag: 'IoError',
        file: join(tmp, 'ema.safetensors'),
        message: 'disk full (simulated)',
      });
    })();
    expect(E.isLeft(out) && out.left.message).toBe('disk full (simulated)');
    expect(await readdir(parent)).toEqual([]);
  });

  it('publishes a complete directory, and replaces an existing one whole', async () => {
    const parent = await mkdtemp(join(root, 'ok-'));
    const target = join(parent, 'step-000001');
    const fill = (text: string, extra: boolean) => (tmp: string) => async () => {
      const a = await writeFileDurable(join(tmp, 'a.txt'), text)();
      if (E.isLeft(a) || !extra) return a;
      return writeFileDurable(join(tmp, 'b.txt'), text)();
    };
    expect(E.isRight(await writeDirAtomic(target, fill('one', true))())).toBe(true);
    expect((await readdir(target)).sort()).toEqual(['a.txt', 'b.txt']);
    expect(E.isRight(await writeDirAtomic(target, fill('two', false))())).toBe(true);
    expect(await readdir(target)).toEqual(['a.txt']);
    expect(await readFile(join(target, 'a.txt'), 'utf8')).toBe('two');
    expect(await readdir(parent)).toEqual(['step-000001']);
  });

  it('replaces a file atomically and leaves no temporary file', async () => {
    const parent = await mkdtemp(join(root, 'file-'));
    const file = join(parent, 'latest');
    expect(E.isRight(await writeFileAtomic(file, 'step-000001\n')())).toBe(true);
    expect(E.isRight(await writeFileAtomic(file, 'step-000002\n')())).toBe(true);
    expect(await readFile(file, 'utf8')).toBe('step-000002\n');
    expect(await readdir(parent)).toEqual(['latest']);
    const bad = await writeFileAtomic(join(parent, 'no-such-dir', 'latest'), 'x')();
    expect(E.isLeft(bad) && bad.left._tag).toBe('IoError');
  });
});
