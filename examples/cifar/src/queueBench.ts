/**
 * Benchmark (not a test): wall time of one `sample --queue` run with 1, 2 and 3 local worker
 * processes, and the queue's overhead per job. Needs tiny checkpoints and a Redis:
 *
 *   export SCOREKIT_REDIS_URL=$(scripts/ci/redis.sh start 6390)
 *   nice node --conditions=@scorekit/source --import tsx examples/cifar/src/queueBench.ts \
 *     --score out/cifar-tiny/score --classifier out/cifar-tiny/classifier-ce [--workers 1,2,3]
 *
 * Per-job overhead = (wall time of the 1-worker run − Σ time inside the job processors) /
 * jobs: queueing, polling, locking, job hand-over and the merge job's bookkeeping.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { parseArgs } from './cli.js';
import { closeQueue, connectQueue, enqueueRun, queueName, waitForRun } from './queue.js';

const arg = (name: string, fallback?: string) => {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`${name} is required`);
  return v;
};
const url = process.env['SCOREKIT_REDIS_URL'];
if (!url) throw new Error('set SCOREKIT_REDIS_URL (scripts/ci/redis.sh start 6390)');
const counts = arg('--workers', '1,2,3').split(',').map(Number);
const shards = Number(arg('--shards', '6'));
const backend = arg('--backend', 'wasm');
const base = [
  'sample',
  '--preset',
  'tiny',
  '--score',
  arg('--score'),
  '--classifier',
  arg('--classifier'),
  '--steps',
  arg('--steps', '20'),
  '--n',
  arg('--n', '24'),
  '--set',
  `sample.batch=${arg('--batch', '4')}`,
  '--quiet',
];
const tmp = mkdtempSync(join(tmpdir(), 'scorekit-queue-bench-'));

const startWorker = (): Promise<ChildProcess> =>
  new Promise((ready, fail) => {
    const child = spawn(
      process.execPath,
      [
        '--conditions=@scorekit/source',
        '--import',
        'tsx',
        'examples/cifar/src/main.ts',
        'worker',
        '--queue',
        url,
        '--backend',
        backend,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    child.stderr!.on('data', (b: Buffer) => {
      log += b.toString();
      if (log.includes('waiting for jobs')) ready(child);
    });
    child.once('exit', (code) => fail(new Error(`worker exited ${code}: ${log}`)));
  });

for (const k of counts) {
  const ws = await Promise.all(Array.from({ length: k }, startWorker));
  const parsed = parseArgs([...base, '--out', join(tmp, `run-${k}`)]);
  if (parsed.kind !== 'run') throw new Error('help?');
  const redis = await connectQueue(url);
  const started = performance.now();
  const run = await enqueueRun(redis, parsed.config, shards);
  await waitForRun(redis, run.runId, { pollMs: 100 });
  const wall = (performance.now() - started) / 1000;
  const queue = new Queue(queueName, { connection: redis });
  let inside = 0;
  for (const id of [...run.shardJobIds, run.mergeJobId]) {
    const job = await queue.getJob(id);
    inside += ((job?.finishedOn ?? 0) - (job?.processedOn ?? 0)) / 1000;
  }
  await queue.close();
  await closeQueue(redis);
  const jobs = shards + 1;
  process.stdout.write(
    `${k} worker(s): ${shards} shard jobs + merge in ${wall.toFixed(1)} s wall; time inside processors ${inside.toFixed(1)} s${k === 1 ? `; queue overhead per job ${(((wall - inside) / jobs) * 1000).toFixed(0)} ms` : ''}\n`,
  );
  for (const w of ws) w.removeAllListeners('exit');
  await Promise.all(
    ws.map(
      (w) =>
        new Promise((r) => {
          w.once('exit', r);
          w.kill('SIGTERM');
        }),
    ),
  );
}
rmSync(tmp, { recursive: true, force: true });
