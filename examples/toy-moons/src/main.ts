#!/usr/bin/env node
/**
 * `npm run demo`: the two-moons experiment of Chao et al. (ICLR 2022) from one command.
 * See `--help`.
 */
import { describeBackend, setupBackend } from '@scorekit/core/node';
import { parseArgs, parseRunFlags, type RunFlags, usage } from './cli.js';
import type { ToyConfig } from './config.js';
import { writeOutputs } from './output.js';
import { runToyMoons } from './pipeline.js';
import { markdownTable, summaryLine } from './report.js';
import { checkOutputFolder, openRun } from './rundir.js';
import { Interrupted } from './stages.js';

const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

async function main(argv: readonly string[]): Promise<number> {
  let cfg: ToyConfig | 'help';
  let flags: RunFlags;
  try {
    cfg = parseArgs(argv);
    flags = parseRunFlags(argv);
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n\n${usage}\n`);
    return 2;
  }
  if (cfg === 'help') {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const log = (line: string) => {
    if (!cfg.quiet) process.stderr.write(`${line}\n`);
  };
  // every output path is checked before any work
  try {
    await checkOutputFolder(cfg.out);
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    return 2;
  }
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (name: string) => {
    interrupts++;
    if (interrupts > 1) {
      process.stderr.write(`${name} again: exiting now (checkpoints are written atomically)\n`);
      process.exit(130);
    }
    process.stderr.write(`\n${name}: stopping after the current step (again to exit at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', () => onSignal('interrupted'));
  process.on('SIGTERM', () => onSignal('terminated'));

  let run: Awaited<ReturnType<typeof openRun>>;
  try {
    run = await openRun(cfg, { resume: flags.resume, overwrite: flags.overwrite, log });
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    return 2;
  }
  try {
    const started = performance.now();
    const backend = await setupBackend({ backend: cfg.backend });
    log(
      `scorekit toy-moons: preset ${cfg.preset}, seed ${cfg.seed}, backend ${describeBackend(backend)}, ${flags.jobs} job${flags.jobs > 1 ? 's' : ''}${run.resumed ? `, resuming from ${run.dir}` : ''}`,
    );
    const result = await runToyMoons(cfg, {
      log,
      signal: controller.signal,
      dir: run.dir,
      jobs: flags.jobs,
    });
    const seconds = (performance.now() - started) / 1000;
    const files = await writeOutputs(cfg, result, { backend: backend.name, seconds });
    process.stdout.write(
      `\n${markdownTable(result.results, cfg.evaluation.sigma, result.zeroGradientFloor)}\n\n`,
    );
    const summary = summaryLine(result.results, result.zeroGradientFloor, cfg.classifier.lambda);
    process.stdout.write(
      `${summary ? `${summary} ` : ''}Wall time ${seconds.toFixed(0)} s on ${backend.name}.\n`,
    );
    process.stdout.write(`Wrote ${files.join(', ')}\n`);
    return 0;
  } catch (e) {
    if (e instanceof Interrupted || controller.signal.aborted) {
      const where = e instanceof Interrupted ? e.message : 'interrupted';
      const args = argv.filter((a) => a !== '--resume' && a !== '--overwrite').map(quote);
      process.stderr.write(
        `${where}; no results written to ${cfg.out}; checkpoints in ${run.dir}. Continue with: npm run demo -- ${[...args, '--resume'].join(' ')}\n`,
      );
      return 130;
    }
    throw e;
  } finally {
    await run.release();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    if (process.env['SCOREKIT_DEBUG'] && e instanceof Error && e.stack)
      process.stderr.write(`${e.stack}\n`);
    process.exit(1);
  },
);
