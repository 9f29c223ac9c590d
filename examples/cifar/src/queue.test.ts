import { type ChildProcess, execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fid, gaussianStats } from '@scorekit/metrics';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs } from './cli.js';
import type { CifarConfig } from './config.js';
import { cifarSubset, repoRoot, spawnCli } from './fixtures.js';
import {
  closeQueue,
  connectQueue,
  enqueueRun,
  runStatus,
  sampleViaQueue,
  waitForRun,
} from './queue.js';
import { sampleImages } from './sample.js';
import { extractFeatureShard, mergeFeatureShards, momentsGaussian } from './shardFeatures.js';
import { trainClassifier } from './trainClassifier.js';
import { trainScore } from './trainScore.js';

const repo = repoRoot;
const data = cifarSubset;
const redisScript = join(repo, 'scripts/ci/redis.sh');

/**
 * The Redis to test against: SCOREKIT_REDIS_URL (as .ci/run sets it after
 * `scripts/ci/redis.sh start`), else a throw-away redis-server started here when the binary
 * exists, else a failure saying how to get one.
 */
function redisForTests(): { url: string; stop?: () => void } {
  const fromEnv = process.env['SCOREKIT_REDIS_URL'];
  if (fromEnv) return { url: fromEnv };
  let hasServer = true;
  try {
    execFileSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' });
  } catch {
    hasServer = false;
  }
  if (!hasServer)
    throw new Error(
      'queue tests need Redis: set SCOREKIT_REDIS_URL=redis://127.0.0.1:PORT, or install redis-server (scripts/ci/redis.sh install) so the test starts its own, or run: export SCOREKIT_REDIS_URL=$(scripts/ci/redis.sh start 6390)',
    );
  const port = String(20000 + (process.pid % 20000));
  const url = execFileSync(redisScript, ['start', port], { encoding: 'utf8' }).trim();
  return { url, stop: () => execFileSync(redisScript, ['stop', port], { stdio: 'ignore' }) };
}

const out = mkdtempSync(join(tmpdir(), 'scorekit-queue-'));
const config = (argv: string[]): CifarConfig => {
  const parsed = parseArgs([...argv, '--preset', 'tiny', '--data', data, '--quiet']);
  if (parsed.kind !== 'run') throw new Error('unexpected help');
  return parsed.config;
};
// 2 classes × 6 samples in batches of 2, 10 sampler steps: 6 batches, 2 per shard job
const sampleCfg = (dest: string, score = join(out, 'score'), clf = join(out, 'clf')) =>
  config([
    'sample',
    '--score',
    score,
    '--classifier',
    clf,
    '--out',
    dest,
    '--steps',
    '10',
    '--set',
    'sample.batch=2',
  ]);

interface Spawned {
  readonly child: ChildProcess;
  log: string;
  readonly exited: Promise<number | null>;
}
const workers: Spawned[] = [];
function startWorker(url: string): Spawned {
  const child = spawnCli(['worker', '--queue', url, '--lock-ms', '5000'], tf.getBackend());
  const w: Spawned = {
    child,
    log: '',
    exited: new Promise((r) => child.once('exit', (code) => r(code))),
  };
  child.stderr!.on('data', (b: Buffer) => {
    w.log += b.toString();
  });
  workers.push(w);
  return w;
}
const until = async (what: string, ok: () => Promise<boolean> | boolean, ms: number) => {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
};

describe('queue mode on BullMQ + Redis (3 worker processes, tiny models)', () => {
  let redis: { url: string; stop?: () => void };
  beforeAll(async () => {
    redis = redisForTests();
    await trainScore(config(['train-score', '--out', join(out, 'score'), '--steps', '2']));
    await trainClassifier(
      config(['train-classifier', '--loss', 'ce', '--out', join(out, 'clf'), '--steps', '1']),
    );
  });
  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    redis?.stop?.();
    rmSync(out, { recursive: true, force: true });
  });

  it('bad input is one clear error and queues nothing: wrong URL, unwritable output', async () => {
    await expect(connectQueue('http://127.0.0.1:6379')).rejects.toThrow(
      /--queue: expected a redis:\/\/ or rediss:\/\/ URL/,
    );
    await expect(connectQueue('redis://127.0.0.1:1')).rejects.toThrow(
      /--queue redis:\/\/127.0.0.1:1: cannot reach Redis: .*ECONNREFUSED/,
    );
    const conn = await connectQueue(redis.url);
    try {
      await expect(enqueueRun(conn, sampleCfg('/proc/scorekit-nowhere/out'), 3)).rejects.toThrow(
        /--out \(its shard folder\) \/proc\/scorekit-nowhere\/out.shards: not a writable folder/,
      );
      expect(await runStatus(conn)).toSatisfy((runs: { shards: { id: string }[] }[]) =>
        runs.every((r) => !r.shards.some((s) => s.id.includes('nowhere'))),
      );
    } finally {
      await closeQueue(conn);
    }
  });

  it('a worker SIGKILLed mid-shard loses nothing: merged samples and metrics equal a single-process run', async () => {
    const reference = await sampleImages(sampleCfg(join(out, 'single')));
    const ws = [startWorker(redis.url), startWorker(redis.url), startWorker(redis.url)];
    await until(
      '3 workers ready',
      () => ws.every((w) => w.log.includes('waiting for jobs')),
      90_000,
    );
    const cfg = sampleCfg(join(out, 'queued'));
    const conn = await connectQueue(redis.url);
    let killed: string | undefined;
    let done: ReturnType<typeof sampleViaQueue>;
    try {
      const { runId } = await enqueueRun(conn, cfg, 3);
      done = sampleViaQueue(redis.url, cfg, 3, { pollMs: 200 }); // the same run: waits for it
      // kill the worker that is in the middle of a shard (progress reported, not finished)
      await until(
        'a shard in progress',
        async () => {
          const [run] = await runStatus(conn, runId);
          const victim = run?.shards.find(
            (s) =>
              s.state === 'active' && (s.progress ?? 0) > 0 && (s.progress ?? 0) < 1 && s.worker,
          );
          killed = victim?.worker;
          return victim !== undefined;
        },
        120_000,
      );
    } finally {
      await closeQueue(conn);
    }
    const victim = ws.find((w) => `pid-${w.child.pid}` === killed)!;
    expect(victim).toBeDefined();
    victim.child.kill('SIGKILL');
    expect(await victim.exited).toBe(null);
    const run = await done;
    const merged = readFileSync(join(run.out, 'samples.safetensors'));
    expect(merged.equals(readFileSync(reference.samplesFile))).toBe(true);
    // the killed worker's shard was retried by another worker after stalled-job detection
    const conn2 = await connectQueue(redis.url);
    try {
      const [st] = await runStatus(conn2, run.runId);
      expect(st!.done).toBe(3);
      expect(st!.merge.state).toBe('completed');
      expect(st!.shards.every((s) => s.worker !== killed)).toBe(true);
    } finally {
      await closeQueue(conn2);
    }
    expect(readdirSync(run.shardDir).filter((n) => n.includes('.tmp-'))).toEqual([]);
    // merged metrics: FD of the queued samples (features in 2 shards, moments merged) equals
    // the single run's (one extraction)
    const evalCfg = (samples: string, dest: string) =>
      config([
        'evaluate',
        '--samples',
        samples,
        '--extractor',
        `classifier:${join(out, 'clf')}`,
        '--out',
        dest,
        '--set',
        'evaluate.batch=4',
      ]);
    const one = await extractFeatureShard(
      evalCfg(join(out, 'single'), join(out, 'e1')),
      { index: 0, count: 1 },
      join(out, 'e1'),
    );
    const fdir = join(out, 'e2');
    for (let i = 0; i < 2; i++)
      await extractFeatureShard(evalCfg(run.out, fdir), { index: i, count: 2 }, fdir);
    const two = await mergeFeatureShards(fdir, join(out, 'e2m'));
    const ref = gaussianStats({
      ...one.features,
      data: one.features.data.map((v) => 0.5 * v + 0.25),
    });
    const a = fid(ref, momentsGaussian(one.moments, one.extractor)).value;
    const b = fid(ref, momentsGaussian(two.moments, two.extractor)).value;
    expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-9 * Math.max(1, a));
    // the surviving workers shut down cleanly on SIGTERM
    const alive = ws.filter((w) => w !== victim);
    for (const w of alive) w.child.kill('SIGTERM');
    expect(await Promise.all(alive.map((w) => w.exited))).toEqual([0, 0]);
  });

  it('a checkpoint that differs on the workers fails the run with both digests, and nothing is merged', async () => {
    const copy = join(out, 'score-copy');
    cpSync(join(out, 'score'), copy, { recursive: true });
    const cfg = sampleCfg(join(out, 'mismatch'), copy);
    const conn = await connectQueue(redis.url);
    try {
      const { runId } = await enqueueRun(conn, cfg, 2);
      // the checkpoint changes after the run was queued (another machine's copy, say)
      const step = readFileSync(join(copy, 'latest'), 'utf8').trim();
      const params = join(copy, step, 'params.safetensors');
      const bytes = readFileSync(params);
      bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
      writeFileSync(params, bytes);
      const w = startWorker(redis.url);
      await expect(waitForRun(conn, runId, { pollMs: 200 })).rejects.toThrow(
        new RegExp(
          `run ${runId} failed: .*have digest [0-9a-f]{16}…, but this run was started with checkpoints of digest`,
        ),
      );
      const [st] = await runStatus(conn, runId);
      expect(st!.shards.filter((s) => s.state === 'failed').every((s) => s.attempts === 1)).toBe(
        true,
      );
      w.child.kill('SIGTERM');
      expect(await w.exited).toBe(0);
    } finally {
      await closeQueue(conn);
    }
    expect(existsSync(join(out, 'mismatch'))).toBe(false);
  });
});
