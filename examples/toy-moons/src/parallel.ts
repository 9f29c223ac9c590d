import { type ChildProcess, fork } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ToyConfig } from './config.js';
import { dependenciesOf, Interrupted, isFinished, type TaskId, taskLabel } from './stages.js';

/** The message a training child sends its parent before it exits. */
export type WorkerReport =
  | { readonly kind: 'done'; readonly seconds: number; readonly resumedFrom?: number | undefined }
  | { readonly kind: 'interrupted'; readonly step?: number | undefined }
  | { readonly kind: 'error'; readonly message: string };

/** What the parent sends a training child: the run config, the model and the checkpoint folder. */
export interface WorkerTask {
  readonly cfg: ToyConfig;
  readonly id: TaskId;
  readonly dir: string;
}

/** Options of {@link trainInChildren}. */
export interface ChildrenOptions {
  readonly dir: string;
  /** At most this many child processes at once. */
  readonly jobs: number;
  readonly signal?: AbortSignal | undefined;
  readonly log?: ((line: string) => void) | undefined;
}

const workerFile = fileURLToPath(
  new URL(`./worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);

/**
 * Trains the models `ids` in child processes, at most `jobs` at a time, each starting as soon
 * as the models it needs are finished (a classifier needs the unconditional score model, so
 * with 2 jobs the six models take about three model-times instead of four stage by stage),
 * each checkpointing into its folder under `dir` (see `trainTask`); models already finished
 * there are skipped. The caller then loads them with `trainTask`.
 * When `signal` aborts, every child gets SIGINT, finishes its step, checkpoints and exits,
 * and this rejects with {@link Interrupted}; if one child fails, the others are stopped the
 * same way and this rejects with its message. A killed parent's children exit at their next
 * step (their IPC channel closes), leaving their newest checkpoints.
 */
export async function trainInChildren(
  cfg: ToyConfig,
  ids: readonly TaskId[],
  options: ChildrenOptions,
): Promise<void> {
  const log = options.log ?? (() => {});
  const queue: TaskId[] = [];
  for (const id of ids) {
    if (await isFinished(cfg, id, options.dir))
      log(`${taskLabel(id)}: already trained, loading it`);
    else queue.push(id);
  }
  const running = new Set<ChildProcess>();
  let failure: Error | undefined;
  let interrupted: Interrupted | undefined;
  const stopAll = () => {
    for (const child of running) child.kill('SIGINT');
  };
  const onAbort = () => stopAll();
  options.signal?.addEventListener('abort', onAbort);

  const runOne = (id: TaskId): Promise<boolean> =>
    new Promise((resolve) => {
      const label = taskLabel(id);
      log(`${label}: training in a child process`);
      const child = fork(workerFile, [], {
        execArgv: process.execArgv,
        stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      });
      running.add(child);
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-4000);
      });
      let report: WorkerReport | undefined;
      child.on('message', (m) => {
        report = m as WorkerReport;
      });
      const task: WorkerTask = { cfg: { ...cfg, quiet: true }, id, dir: options.dir };
      child.send(task);
      child.on('close', (code, sig) => {
        running.delete(child);
        if (report?.kind === 'done') {
          const from =
            report.resumedFrom === undefined ? '' : ` (resumed from step ${report.resumedFrom})`;
          log(`${label}: finished in ${report.seconds.toFixed(0)} s${from}`);
        } else if (report?.kind === 'interrupted' || options.signal?.aborted) {
          const step = report?.kind === 'interrupted' ? report.step : undefined;
          interrupted ??= new Interrupted(label, step);
        } else {
          const why =
            report?.kind === 'error'
              ? report.message
              : `exited with ${sig ?? `code ${code}`}${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`;
          failure ??= new Error(`${label} (child process): ${why}`);
          stopAll();
        }
        resolve(report?.kind === 'done');
      });
    });

  // a model may start once the models it needs are finished (classifiers need `score`)
  const finished = new Set<TaskId>(ids.filter((id) => !queue.includes(id)));
  let wake: () => void = () => {};
  let changed = new Promise<void>((r) => {
    wake = r;
  });
  const lane = async () => {
    for (;;) {
      if (failure || interrupted || options.signal?.aborted || queue.length === 0) return;
      const at = queue.findIndex((id) => dependenciesOf(id).every((d) => finished.has(d)));
      if (at < 0) {
        await changed; // every queued model waits for one that is training
        continue;
      }
      const [id] = queue.splice(at, 1) as [TaskId];
      const ok = await runOne(id);
      if (ok) finished.add(id);
      const wakeNow = wake;
      changed = new Promise<void>((r) => {
        wake = r;
      });
      wakeNow();
      if (!ok) return;
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, options.jobs) }, lane));
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (failure) throw failure;
  if (interrupted) throw interrupted;
  if (options.signal?.aborted) throw new Interrupted(taskLabel(queue[0] ?? ids[0]!));
}
