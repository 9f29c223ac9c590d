import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeLeftovers, writeDirAtomic, writeFileAtomic, writeFileDurable } from './atomic.js';

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

  it('concurrent writers of one folder and one file neither fail nor leave temporary folders', async () => {
    const parent = await mkdtemp(join(root, 'race-'));
    const dir = join(parent, 'step-000001');
    const file = join(parent, 'latest');
    const writes = Array.from({ length: 100 }, (_, i) => [
      writeDirAtomic(dir, (tmp) => async () => {
        const a = await writeFileDurable(join(tmp, 'a.txt'), `writer ${i}`)();
        if (E.isLeft(a)) return a;
        return writeFileDurable(join(tmp, 'b.txt'), `writer ${i}`)();
      })(),
      writeFileAtomic(file, `writer ${i}\n`)(),
    ]).flat();
    const results = await Promise.all(writes);
    const failures = results.filter(E.isLeft).map((r) => r.left.message);
    expect(failures).toEqual([]);
    expect((await readdir(parent)).sort()).toEqual(['latest', 'step-000001']);
    // the folder is one writer's complete pair
    const [a, b] = await Promise.all(['a.txt', 'b.txt'].map((f) => readFile(join(dir, f), 'utf8')));
    expect(a).toMatch(/^writer \d+$/);
    expect(b).toBe(a);
  });

  it('removeLeftovers deletes only the .tmp-* entries crashed writes left', async () => {
    const parent = await mkdtemp(join(root, 'leftovers-'));
    await writeFileDurable(join(parent, 'latest'), 'step-000001\n')();
    await mkdir(join(parent, 'step-000001'));
    await mkdir(join(parent, '.tmp-step-000002-abc123'));
    await writeFileDurable(join(parent, '.tmp-step-000002-abc123', 'params.safetensors'), 'half')();
    await writeFileDurable(join(parent, '.tmp-latest-1-0-xyz'), 'step-0')();
    const removed = await removeLeftovers(parent)();
    expect(E.isRight(removed) && removed.right).toEqual([
      '.tmp-latest-1-0-xyz',
      '.tmp-step-000002-abc123',
    ]);
    expect((await readdir(parent)).sort()).toEqual(['latest', 'step-000001']);
    expect(await removeLeftovers(join(parent, 'missing'))()).toEqual(E.right([]));
  });
});
