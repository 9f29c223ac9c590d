/**
 * The queue-driven mode of `sample` (issue 18) on BullMQ + Redis: one flow per run, a `merge`
 * parent job whose children are the run's shard jobs, so that BullMQ itself runs the merge when
 * the last shard lands. Workers (`worker.ts`) take the jobs; `status` reads them.
 */
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { FlowProducer, type Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { CifarConfig } from './config.js';
import { planSampling } from './sample.js';
import { checkpointDigest, checkWritableFolder, runDigest, shardRange } from './shard.js';
import type { RunOptions } from './trainingStage.js';

/** The BullMQ queue every scorekit CIFAR job goes through. */
export const queueName = 'scorekit-cifar';

/** The data of a shard job: everything a worker on another machine needs. */
export interface ShardJobData {
  readonly kind: 'shard';
  readonly runId: string;
  readonly index: number;
  readonly count: number;
  readonly from: number;
  readonly to: number;
  /** The run's config (its `out` is the merged folder). */
  readonly config: CifarConfig;
  /** The shared folder the shard files go to. */
  readonly shardDir: string;
  readonly checkpointDigest: string;
  readonly runDigest: string;
}

/** The data of a run's merge job (the parent of its shard jobs). */
export interface MergeJobData {
  readonly kind: 'merge';
  readonly runId: string;
  readonly count: number;
  readonly shardDir: string;
  readonly out: string;
}

/** A job of the scorekit CIFAR queue. */
export type JobData = ShardJobData | MergeJobData;

/**
 * Checks a `--queue` URL and opens a Redis connection for BullMQ (`maxRetriesPerRequest: null`,
 * as BullMQ workers need). The server is pinged first with a short timeout and no retries, so a
 * wrong address is one clear error instead of endless reconnecting.
 *
 * @example
 * ```ts
 * const redis = await connectQueue('redis://127.0.0.1:6379');
 * ```
 */
export async function connectQueue(url: string): Promise<Redis> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`--queue: expected a Redis URL like redis://127.0.0.1:6379, got '${url}'`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    throw new Error(
      `--queue: expected a redis:// or rediss:// URL, got '${url}' (protocol ${parsed.protocol})`,
    );
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  let cause: Error | undefined;
  probe.on('error', (e: Error) => {
    cause ??= e; // the socket error; connect() itself only says "Connection is closed"
  });
  try {
    await probe.connect();
    await probe.ping();
  } catch (e) {
    probe.disconnect();
    throw new Error(
      `--queue ${url}: cannot reach Redis: ${(cause ?? (e as Error)).message} (is redis-server running there? locally: scripts/ci/redis.sh start 6379)`,
    );
  }
  await probe.quit();
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  redis.on('error', () => {}); // ioredis reconnects; BullMQ surfaces command failures
  return redis;
}

/** Closes a connection from {@link connectQueue} (waits for pending replies). */
export async function closeQueue(redis: Redis): Promise<void> {
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}

/** What {@link enqueueRun} queued. */
export interface QueuedRun {
  readonly runId: string;
  readonly mergeJobId: string;
  readonly shardJobIds: readonly string[];
  readonly shardDir: string;
  readonly out: string;
  /** False when the same run was already in the queue (nothing was added). */
  readonly added: boolean;
}

/** The shared shard folder of a run whose merged folder is `out`: `<out>.shards`. */
export const shardDirOf = (out: string): string => `${resolve(out)}.shards`;

/**
 * Queues a `sample` run as `count` shard jobs under one merge job (a BullMQ flow). Everything
 * that can be checked here is checked before anything is queued: the config and checkpoints
 * (as `sample` checks them), the shard folder and the output's parent folder writable. The run
 * id is a digest of the run (config, checkpoints, shard count, output folder), and job ids are
 * derived from it, so queueing the same run again adds nothing. Shard jobs are retried (3
 * attempts) and fail their merge job when they finally fail.
 *
 * @example
 * ```ts
 * const run = await enqueueRun(redis, cfg, 3);
 * ```
 */
export async function enqueueRun(
  redis: Redis,
  cfg: CifarConfig,
  count: number,
): Promise<QueuedRun> {
  if (!Number.isSafeInteger(count) || count < 1)
    throw new Error(`--shards: expected a positive number of shards, got ${count}`);
  const out = resolve(cfg.out);
  const shardDir = shardDirOf(out);
  await checkWritableFolder(shardDir, '--out (its shard folder)');
  await checkWritableFolder(dirname(out), '--out (its parent folder)');
  const plan = await planSampling(cfg);
  const config: CifarConfig = {
    ...cfg,
    out,
    quiet: true,
    inputs: {
      ...cfg.inputs,
      scoreCheckpoint: resolve(cfg.inputs.scoreCheckpoint!),
      classifierCheckpoint: resolve(cfg.inputs.classifierCheckpoint!),
    },
  };
  const ckpt = await checkpointDigest([plan.scoreDir, plan.classifierDir]);
  const digest = runDigest(config);
  const runId = createHash('sha256')
    .update(`${digest}\0${ckpt}\0${count}\0${out}`)
    .digest('hex')
    .slice(0, 16);
  const mergeJobId = `${runId}-merge`;
  const shardJobIds = Array.from({ length: count }, (_, i) => `${runId}-shard-${i}`);
  const queue = new Queue<JobData>(queueName, { connection: redis });
  try {
    if (await queue.getJob(mergeJobId))
      return { runId, mergeJobId, shardJobIds, shardDir, out, added: false };
  } finally {
    await queue.close();
  }
  const flow = new FlowProducer({ connection: redis });
  try {
    await flow.add({
      name: 'merge',
      queueName,
      data: { kind: 'merge', runId, count, shardDir, out } satisfies MergeJobData,
      opts: { jobId: mergeJobId, attempts: 3, backoff: { type: 'fixed', delay: 500 } },
      children: shardJobIds.map((jobId, index) => {
        const r = shardRange(plan.total, { index, count });
        const data: ShardJobData = {
          kind: 'shard',
          runId,
          index,
          count,
          from: r.from,
          to: r.to,
          config,
          shardDir,
          checkpointDigest: ckpt,
          runDigest: digest,
        };
        return {
          name: 'shard',
          queueName,
          data,
          opts: {
            jobId,
            attempts: 3,
            backoff: { type: 'fixed', delay: 500 },
            failParentOnFailure: true,
          },
        };
      }),
    });
  } finally {
    await flow.close();
  }
  return { runId, mergeJobId, shardJobIds, shardDir, out, added: true };
}

/** One job's state as {@link runStatus} reports it. */
export interface JobStatus {
  readonly id: string;
  readonly state: string;
  readonly progress?: number;
  readonly attempts: number;
  readonly worker?: string;
  readonly failedReason?: string;
}

/** The state of a queued run: its shard jobs and its merge job. */
export interface RunStatus {
  readonly runId: string;
  readonly shards: readonly JobStatus[];
  readonly merge: JobStatus;
  readonly done: number;
  readonly running: number;
  readonly waiting: number;
  readonly failed: number;
}

const jobStatus = async (job: Job<JobData> | undefined, id: string): Promise<JobStatus> => {
  if (!job) return { id, state: 'missing', attempts: 0 };
  const state = await job.getState();
  const p = job.progress as { done?: number; total?: number } | number;
  const progress =
    typeof p === 'object' && p && p.total
      ? (p.done ?? 0) / p.total
      : typeof p === 'number'
        ? p
        : undefined;
  return {
    id,
    state,
    attempts: job.attemptsMade,
    ...(progress !== undefined ? { progress } : {}),
    ...(job.processedBy ? { worker: job.processedBy } : {}),
    ...(job.failedReason ? { failedReason: job.failedReason } : {}),
  };
};

/**
 * The state of every job of a run (or of every run in the queue, when `runId` is undefined).
 *
 * @example
 * ```ts
 * const [run] = await runStatus(redis, 'a1b2c3d4e5f60718');
 * ```
 */
export async function runStatus(redis: Redis, runId?: string): Promise<RunStatus[]> {
  const queue = new Queue<JobData>(queueName, { connection: redis });
  try {
    const ids = new Set<string>();
    if (runId) ids.add(runId);
    else for (const job of await queue.getJobs()) if (job?.data?.runId) ids.add(job.data.runId);
    const runs: RunStatus[] = [];
    for (const id of ids) {
      const merge = await queue.getJob(`${id}-merge`);
      if (!merge) throw new Error(`status: no run ${id} in the queue ${queueName}`);
      const count = (merge.data as MergeJobData).count;
      const shards: JobStatus[] = [];
      for (let i = 0; i < count; i++) {
        const sid = `${id}-shard-${i}`;
        shards.push(await jobStatus(await queue.getJob(sid), sid));
      }
      const n = (s: string[]) => shards.filter((j) => s.includes(j.state)).length;
      runs.push({
        runId: id,
        shards,
        merge: await jobStatus(merge, `${id}-merge`),
        done: n(['completed']),
        running: n(['active']),
        waiting: n(['waiting', 'delayed', 'prioritized', 'waiting-children']),
        failed: n(['failed']),
      });
    }
    return runs;
  } finally {
    await queue.close();
  }
}

/**
 * One line per run and one per job: "run <id>: 2/3 shards done, 1 running, 0 failed; merge
 * waiting-children", then each job's state, progress, attempts and worker.
 *
 * @example
 * ```ts
 * process.stdout.write(formatStatus(await runStatus(redis)));
 * ```
 */
export function formatStatus(runs: readonly RunStatus[]): string {
  if (runs.length === 0) return 'no runs in the queue\n';
  const lines: string[] = [];
  for (const r of runs) {
    lines.push(
      `run ${r.runId}: ${r.done}/${r.shards.length} shards done, ${r.running} running, ${r.waiting} waiting, ${r.failed} failed; merge ${r.merge.state}`,
    );
    for (const j of [...r.shards, r.merge])
      lines.push(
        `  ${j.id}: ${j.state}${j.progress !== undefined && j.state === 'active' ? ` ${(100 * j.progress).toFixed(0)} %` : ''}, attempts ${j.attempts}${j.worker ? `, worker ${j.worker}` : ''}${j.failedReason ? `, error: ${j.failedReason}` : ''}`,
      );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * `sample --queue URL --shards K`: queues the run ({@link enqueueRun}) and, unless `detach`,
 * waits for its merge job, logging the run's status whenever it changes. Resolves with the
 * merged folder; rejects with the failing job's reason when a shard or the merge fails for good.
 *
 * @example
 * ```ts
 * await sampleViaQueue('redis://127.0.0.1:6379', cfg, 3);
 * ```
 */
export async function sampleViaQueue(
  url: string,
  cfg: CifarConfig,
  count: number,
  options: RunOptions & { readonly detach?: boolean; readonly pollMs?: number } = {},
): Promise<QueuedRun> {
  const log = options.log ?? (() => {});
  const redis = await connectQueue(url);
  try {
    const run = await enqueueRun(redis, cfg, count);
    log(
      `queued run ${run.runId} (${count} shard jobs${run.added ? '' : ', already in the queue'}) on ${url}: shards → ${run.shardDir}, merged → ${run.out}`,
    );
    if (options.detach) return run;
    await waitForRun(redis, run.runId, options);
    return run;
  } finally {
    await closeQueue(redis);
  }
}

/**
 * Waits until the merge job of run `runId` completes, logging the run's status whenever it
 * changes; rejects with the failing jobs' reasons when the run fails for good.
 *
 * @example
 * ```ts
 * await waitForRun(redis, run.runId, { log });
 * ```
 */
export async function waitForRun(
  redis: Redis,
  runId: string,
  options: RunOptions & { readonly pollMs?: number } = {},
): Promise<void> {
  const log = options.log ?? (() => {});
  let last = '';
  for (;;) {
    if (options.signal?.aborted) throw new Error('interrupted: the run stays queued (see status)');
    const [st] = await runStatus(redis, runId);
    const line = `run ${runId}: ${st!.done}/${st!.shards.length} shards done, ${st!.running} running, ${st!.failed} failed; merge ${st!.merge.state}`;
    if (line !== last) log(line);
    last = line;
    if (st!.merge.state === 'completed') return;
    if (st!.merge.state === 'failed')
      throw new Error(
        `run ${runId} failed: ${st!.merge.failedReason ?? 'unknown'}${st!.shards
          .filter((s) => s.failedReason)
          .map((s) => `; ${s.id}: ${s.failedReason}`)
          .join('')}`,
      );
    await new Promise((r) => setTimeout(r, options.pollMs ?? 500));
  }
}
