/**
 * `worker --queue URL`: takes shard and merge jobs of queued `sample` runs (BullMQ), writes the
 * shard files to the run's shared folder, merges a run when its last shard lands (issue 18).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors } from '@scorekit/training';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import * as E from 'fp-ts/lib/Either.js';
import { mergeShards } from './merge.js';
import { closeQueue, connectQueue, type JobData, queueName } from './queue.js';
import { sampleShard, shardFileName } from './shard.js';

/** Options of {@link runWorker}. */
export interface WorkerOptions {
  /** How long a job stays locked without renewal before it counts as stalled (BullMQ `lockDuration`, default 30 s). */
  readonly lockMs?: number;
  /** Jobs run at once in this process (default 1: one worker per device). */
  readonly concurrency?: number;
  readonly log?: (line: string) => void;
  /** Aborting it closes the worker: the current job finishes first. */
  readonly signal?: AbortSignal;
}

/** Whether `file` is already a complete shard of this run (a worker killed after writing it). */
async function finishedShard(file: string, data: Extract<JobData, { kind: 'shard' }>) {
  if (!existsSync(file)) return false;
  const got = await readSafetensors(file)();
  return (
    E.isRight(got) &&
    got.right.metadata['scorekit.runDigest'] === data.runDigest &&
    got.right.metadata['scorekit.checkpointDigest'] === data.checkpointDigest
  );
}

/**
 * Runs a BullMQ worker on the scorekit CIFAR queue until `signal` aborts: shard jobs run
 * `sampleShard` (the shard written atomically, so a killed worker leaves no shard file; its job
 * is detected as stalled once its lock expires and is retried by another worker; a complete
 * shard file of the same run is reused, not redrawn) and report progress; merge jobs run
 * `mergeShards` once BullMQ has seen every shard job complete. A checkpoint whose digest
 * differs from the one the run was queued with fails the job at once (no retry), naming both
 * digests. Closes its Redis connections before resolving, so the process can exit.
 *
 * @example
 * ```ts
 * await runWorker('redis://127.0.0.1:6379', { signal: controller.signal });
 * ```
 */
export async function runWorker(url: string, options: WorkerOptions = {}): Promise<void> {
  const log = options.log ?? (() => {});
  const redis = await connectQueue(url);
  const name = `pid-${process.pid}`;
  const processor = async (job: Job<JobData>) => {
    const data = job.data;
    if (data.kind === 'merge') {
      log(`worker ${name}: merging run ${data.runId} (${data.count} shards)`);
      const report = await mergeShards(data.shardDir, data.out, { log });
      return { samplesFile: report.samplesFile };
    }
    const file = join(data.shardDir, shardFileName(data));
    if (await finishedShard(file, data)) {
      log(`worker ${name}: ${job.id}: ${file} is already complete, reusing it`);
      return { file, reused: true };
    }
    log(
      `worker ${name}: ${job.id} (samples [${data.from}, ${data.to})), attempt ${job.attemptsMade + 1}`,
    );
    let lastReport = 0;
    try {
      const report = await sampleShard(
        data.config,
        { from: data.from, to: data.to },
        data.shardDir,
        {
          expectCheckpointDigest: data.checkpointDigest,
          log,
          onProgress: (done, total) => {
            const now = Date.now();
            if (now - lastReport < 500 && done < total) return;
            lastReport = now;
            void job.updateProgress({ done, total }).catch(() => {});
          },
        },
      );
      return { file: report.file, seconds: report.seconds };
    } catch (e) {
      const message = (e as Error).message;
      // a wrong checkpoint will not get better by retrying
      if (message.includes('but this run was started with checkpoints of digest'))
        throw new UnrecoverableError(message);
      throw e;
    }
  };
  const worker = new Worker<JobData>(queueName, processor, {
    connection: redis,
    name,
    concurrency: options.concurrency ?? 1,
    lockDuration: options.lockMs ?? 30_000,
    stalledInterval: options.lockMs ?? 30_000,
    maxStalledCount: 3,
    autorun: false,
  });
  worker.on('failed', (job, err) => log(`worker ${name}: ${job?.id} failed: ${err.message}`));
  worker.on('completed', (job) => log(`worker ${name}: ${job.id} done`));
  worker.on('error', (err) => log(`worker ${name}: ${err.message}`));
  const stop = () => {
    log(`worker ${name}: closing (the current job finishes first)`);
    void worker.close();
  };
  if (options.signal?.aborted) stop();
  options.signal?.addEventListener('abort', stop, { once: true });
  log(`worker ${name}: waiting for jobs on ${url} (queue ${queueName})`);
  try {
    await worker.run();
  } finally {
    options.signal?.removeEventListener('abort', stop);
    await worker.close();
    await closeQueue(redis);
  }
}
