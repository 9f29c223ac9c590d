import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockDir, lockFile } from './lock.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'scorekit-lock-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The pid of a process that has exited (so it is certainly not running). */
const deadPid = (): number => {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(String(r.stdout));
};

describe('lockDir', () => {
  it('gives one folder to one holder at a time, and is free again after release', async () => {
    const dir = join(root, 'one');
    const first = await lockDir(dir)();
    if (E.isLeft(first)) throw new Error(first.left.message);
    const holder = JSON.parse(await readFile(join(dir, lockFile), 'utf8'));
    expect(holder.pid).toBe(process.pid);
    // a second run in the same folder (here: the same process again) is refused, naming the holder
    const second = await lockDir(dir)();
    expect(E.isLeft(second) && second.left.message).toMatch(/already locked by this process/);
    // another live process (our parent) holding it: refused with its pid
    await writeFile(
      join(dir, lockFile),
      JSON.stringify({ pid: process.ppid, host: holder.host, started: 'earlier' }),
    );
    const third = await lockDir(dir)();
    expect(E.isLeft(third) && third.left.message).toMatch(
      new RegExp(`in use by another run \\(pid ${process.ppid} on `),
    );
    first.right.release();
    expect(existsSync(join(dir, lockFile))).toBe(false);
    const again = await lockDir(dir)();
    expect(E.isRight(again)).toBe(true);
    if (E.isRight(again)) again.right.release();
  });

  it('takes over the lock of a dead process and says so', async () => {
    const dir = join(root, 'stale');
    const first = await lockDir(dir)();
    if (E.isLeft(first)) throw new Error(first.left.message);
    const host = JSON.parse(await readFile(join(dir, lockFile), 'utf8')).host;
    first.right.release();
    const pid = deadPid();
    await writeFile(join(dir, lockFile), JSON.stringify({ pid, host, started: 'then' }));
    const messages: string[] = [];
    const taken = await lockDir(dir, (m) => messages.push(m))();
    if (E.isLeft(taken)) throw new Error(taken.left.message);
    expect(taken.right.tookOverFrom).toBe(pid);
    expect(messages).toEqual([
      `${dir}: taking over the lock of process ${pid} (started then), which is no longer running`,
    ]);
    expect(JSON.parse(await readFile(join(dir, lockFile), 'utf8')).pid).toBe(process.pid);
    taken.right.release();
  });

  it('of many concurrent takers of a stale lock exactly one wins', async () => {
    const dir = join(root, 'race');
    await lockDir(dir)().then((l) => E.isRight(l) && l.right.release());
    const host = (await import('node:os')).hostname();
    // several rounds of 16 takers: a half-written lock mistaken for a crashed one, or a stale
    // lock removed after another taker had replaced it, made 2–3 winners in some rounds
    for (let round = 0; round < 6; round++) {
      await writeFile(join(dir, lockFile), JSON.stringify({ pid: deadPid(), host, started: 'x' }));
      const results = await Promise.all(Array.from({ length: 16 }, () => lockDir(dir)()));
      const winners = results.filter(E.isRight);
      expect(winners, `round ${round}`).toHaveLength(1);
      for (const w of winners) w.right.release();
    }
  });
});
