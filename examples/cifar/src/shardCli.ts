/**
 * The command-line side of issue 18: `sample`/`evaluate` options `--shard`, `--range`,
 * `--queue`, `--shards`, `--detach`, and the commands `merge`, `worker` and `status`.
 */
import { describeBackend, setupBackend } from '@scorekit/core/node';
import type { CifarConfig } from './config.js';
import { mergeShards } from './merge.js';
import { closeQueue, connectQueue, formatStatus, runStatus, sampleViaQueue } from './queue.js';
import { type IndexRange, parseRange, parseShard, type ShardSpec, sampleShard } from './shard.js';
import { extractFeatureShard, mergeFeatureShards } from './shardFeatures.js';
import { shardOptionsUsage } from './shardUsage.js';
import type { RunOptions } from './trainingStage.js';
import { runWorker } from './worker.js';

/** The commands of this module. */
export const shardCommands = ['merge', 'worker', 'status'] as const;

/** Usage texts of {@link shardCommands} and of the shard options of `sample` / `evaluate`. */
export const shardUsages = {
  options: shardOptionsUsage,
  merge: `Usage: npm run cifar -- merge --shard-dir DIR [--out DIR]
       npm run cifar -- merge --features DIR --out DIR

Checks that the shards in DIR are of one run (config and checkpoint digests, backend) and hold
every sample exactly once, then writes the folder a single "sample" run writes (samples.safetensors
byte-identical) into --out (default DIR without ".shards"). With --features: joins evaluate's
feature shards (features in order, float64 moments by Chan's pairwise combination).`,
  worker: `Usage: npm run cifar -- worker --queue redis://HOST:PORT [--backend B] [--lock-ms MS]

Takes shard and merge jobs of queued sample runs until SIGINT/SIGTERM (the current job finishes).
Run one per device; every machine needs the checkpoints and the shared folder at the queued paths.`,
  status: `Usage: npm run cifar -- status --queue redis://HOST:PORT [--run ID]

Shows every queued run (or one): shards done / running / waiting / failed, the merge job, and
each job's progress, attempts and worker.`,
};

/** The shard/queue options found in a `sample` or `evaluate` command line. */
export interface ShardArgs {
  readonly shard?: ShardSpec;
  readonly range?: IndexRange;
  readonly shardDir?: string;
  readonly queue?: string;
  readonly shards?: number;
  readonly detach?: boolean;
}

/**
 * Takes the shard/queue options out of a `sample` / `evaluate` command line (the rest goes to
 * the usual parser); `undefined` when there are none. Errors name the option.
 *
 * @example
 * ```ts
 * splitShardArgs(['sample', '--shard', '0/3', '--preset', 'tiny']);
 * // { argv: ['sample', '--preset', 'tiny'], shard: { shard: { index: 0, count: 3 } } }
 * ```
 */
export function splitShardArgs(argv: readonly string[]): {
  argv: string[];
  shard: ShardArgs | undefined;
} {
  const cmd = argv[0];
  if (cmd !== 'sample' && cmd !== 'evaluate') return { argv: [...argv], shard: undefined };
  const rest: string[] = [];
  const found: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${a}: missing value`);
      return v;
    };
    if (a === '--shard') found['shard'] = parseShard(value());
    else if (a === '--range') found['range'] = parseRange(value());
    else if (a === '--shard-dir') found['shardDir'] = value();
    else if (a === '--queue' || a === '--shards' || a === '--detach') {
      if (cmd !== 'sample') throw new Error(`${a} is an option of sample only`);
      if (a === '--queue') found['queue'] = value();
      else if (a === '--detach') found['detach'] = true;
      else {
        const v = value();
        if (!/^\d+$/.test(v) || Number(v) < 1)
          throw new Error(`--shards: expected a positive number of shards, got '${v}'`);
        found['shards'] = Number(v);
      }
    } else rest.push(a);
  }
  if (Object.keys(found).length === 0) return { argv: rest, shard: undefined };
  const s = found as ShardArgs;
  if (s.shard && s.range) throw new Error('--shard and --range: give one of them');
  if (s.queue && (s.shard || s.range))
    throw new Error('--queue: shards are made by the queue, drop --shard/--range');
  if (s.queue && s.shards === undefined)
    throw new Error('--queue: give the number of shard jobs with --shards K');
  if (!s.queue && (s.shards !== undefined || s.detach))
    throw new Error('--shards/--detach need --queue URL');
  if (!s.queue && !s.shard && !s.range)
    throw new Error('--shard-dir needs --shard i/n or --range from:to');
  if (cmd === 'evaluate' && s.range) throw new Error('evaluate: use --shard i/n (feature shards)');
  return { argv: rest, shard: s };
}

/**
 * Runs `sample` / `evaluate` with shard/queue options ({@link splitShardArgs}).
 *
 * @example
 * ```ts
 * await runSharded(cfg, { shard: { index: 0, count: 3 } }, { log });
 * ```
 */
export async function runSharded(
  cfg: CifarConfig,
  args: ShardArgs,
  options: RunOptions,
): Promise<void> {
  if (cfg.command === 'sample') {
    if (args.queue) {
      const run = await sampleViaQueue(args.queue, cfg, args.shards!, {
        ...options,
        ...(args.detach ? { detach: true } : {}),
      });
      options.log?.(
        args.detach
          ? `run ${run.runId} queued; see "status --queue ${args.queue} --run ${run.runId}"`
          : `run ${run.runId} merged → ${run.out}`,
      );
      return;
    }
    await sampleShard(
      cfg,
      args.shard ?? args.range!,
      args.shardDir ?? `${cfg.out}.shards`,
      options,
    );
    return;
  }
  await extractFeatureShard(
    cfg,
    args.shard!,
    args.shardDir ?? `${cfg.out}.features-shards`,
    options,
  );
}

const optionValues = (args: readonly string[], allowed: readonly string[], usage: string) => {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--help' || a === '-h') return undefined;
    if (!allowed.includes(a)) throw new Error(`unknown option ${a}\n\n${usage}`);
    const v = args[++i];
    if (v === undefined || v.startsWith('--')) throw new Error(`${a}: missing value\n\n${usage}`);
    out[a] = v;
  }
  return out;
};

/**
 * Runs `merge`, `worker` or `status` from their command line; resolves with the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await runShardCommand(['status', '--queue', 'redis://127.0.0.1:6379']);
 * ```
 */
export async function runShardCommand(
  argv: readonly string[],
  log: (line: string) => void,
): Promise<number> {
  const [cmd, ...args] = argv as [(typeof shardCommands)[number], ...string[]];
  const usage = shardUsages[cmd];
  let o: Record<string, string> | undefined;
  try {
    o =
      cmd === 'merge'
        ? optionValues(args, ['--shard-dir', '--out', '--features'], usage)
        : cmd === 'worker'
          ? optionValues(args, ['--queue', '--backend', '--lock-ms', '--concurrency'], usage)
          : optionValues(args, ['--queue', '--run'], usage);
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    return 2;
  }
  if (!o) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (cmd === 'merge') {
    if (o['--features']) {
      if (!o['--out']) throw new Error('merge --features: --out DIR is required');
      const m = await mergeFeatureShards(o['--features'], o['--out']);
      log(`merge: ${m.total} feature rows (${m.extractor}) → ${o['--out']}`);
      return 0;
    }
    const dir = o['--shard-dir'];
    if (!dir) throw new Error(`merge: --shard-dir DIR is required\n\n${usage}`);
    const out =
      o['--out'] ?? (dir.endsWith('.shards') ? dir.slice(0, -'.shards'.length) : undefined);
    if (!out)
      throw new Error('merge: --out DIR is required (the shard folder does not end in .shards)');
    await mergeShards(dir, out, { log });
    return 0;
  }
  const url = o['--queue'];
  if (!url) throw new Error(`${cmd}: --queue redis://HOST:PORT is required\n\n${usage}`);
  if (cmd === 'status') {
    const redis = await connectQueue(url);
    try {
      process.stdout.write(formatStatus(await runStatus(redis, o['--run'])));
    } finally {
      await closeQueue(redis);
    }
    return 0;
  }
  const backend = o['--backend'] ?? 'auto';
  if (!['auto', 'wasm', 'cpu', 'tensorflow'].includes(backend))
    throw new Error(`--backend: expected auto, wasm, cpu or tensorflow, got ${backend}`);
  const lockMs = o['--lock-ms'] === undefined ? undefined : Number(o['--lock-ms']);
  if (lockMs !== undefined && !(Number.isSafeInteger(lockMs) && lockMs >= 1000))
    throw new Error(`--lock-ms: expected an integer ≥ 1000, got ${o['--lock-ms']}`);
  const concurrency = o['--concurrency'] === undefined ? 1 : Number(o['--concurrency']);
  if (!(Number.isSafeInteger(concurrency) && concurrency >= 1))
    throw new Error(`--concurrency: expected a positive integer, got ${o['--concurrency']}`);
  const report = await setupBackend({ backend: backend as 'auto' });
  log(`scorekit cifar worker: backend ${describeBackend(report)}`);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await runWorker(url, {
    log,
    signal: controller.signal,
    concurrency,
    ...(lockMs !== undefined ? { lockMs } : {}),
  });
  return 0;
}
