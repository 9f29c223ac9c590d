/**
 * A training child of the demo (see `trainInChildren`): receives one {@link WorkerTask},
 * trains that model with checkpoints (resuming from its folder), reports and exits: 0 done,
 * 130 interrupted (SIGINT: the current step finishes and a checkpoint is written), 1 failed.
 * It exits at once if its parent goes away.
 */
import { setupBackend } from '@scorekit/core/node';
import type { WorkerReport, WorkerTask } from './parallel.js';
import { disposeTrained, Interrupted, toySetup, trainTask } from './stages.js';

const controller = new AbortController();
process.on('SIGINT', () => controller.abort());
process.on('SIGTERM', () => controller.abort());
process.on('disconnect', () => process.exit(1));

const finish = (report: WorkerReport, code: number) => {
  if (process.send && process.connected) process.send(report, () => process.exit(code));
  else process.exit(code);
};

process.once('message', async (message) => {
  const { cfg, id, dir } = message as WorkerTask;
  try {
    await setupBackend({ backend: cfg.backend });
    const outcome = await trainTask(cfg, toySetup(cfg), id, { dir, signal: controller.signal });
    disposeTrained(outcome.trained);
    const origin = outcome.origin;
    const resumedFrom = typeof origin === 'object' ? origin.resumedFrom : undefined;
    finish({ kind: 'done', seconds: outcome.seconds, resumedFrom }, 0);
  } catch (e) {
    if (e instanceof Interrupted) finish({ kind: 'interrupted', step: e.step }, 130);
    else finish({ kind: 'error', message: e instanceof Error ? e.message : String(e) }, 1);
  }
});
