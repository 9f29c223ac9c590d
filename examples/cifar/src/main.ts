#!/usr/bin/env node
/**
 * `npm run cifar -- <command>`: the CIFAR-10 experiment of Chao et al. (ICLR 2022) — train the
 * score model, train the classifier (CE / DLSM / total), sample with classifier guidance,
 * evaluate. See `--help`.
 */
import { describeBackend, setupBackend } from '@scorekit/core/node';
import { checkOutputDir } from '@scorekit/example-kit';
import { parseArgs, usages } from './cli.js';
import type { CifarConfig } from './config.js';
import { evaluateSamples } from './evaluate.js';
import { sampleImages } from './sample.js';
import { runShardCommand, runSharded, shardCommands, splitShardArgs } from './shardCli.js';
import { trainClassifier } from './trainClassifier.js';
import { TrainingInterrupted } from './trainingStage.js';
import { trainScore } from './trainScore.js';

/** Exit codes of a run stopped by a signal (128 + the signal number, as shells report them). */
const signalExit = { SIGINT: 130, SIGTERM: 143 } as const;

/** An argument as the user can paste it back into a shell. */
const shellWord = (a: string): string =>
  /^[\w./=,:@+-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`;

async function main(argv: readonly string[]): Promise<number> {
  if ((shardCommands as readonly string[]).includes(argv[0] ?? ''))
    return runShardCommand(argv, (line) => process.stderr.write(`${line}\n`));
  let parsed: ReturnType<typeof parseArgs>;
  let sharded: ReturnType<typeof splitShardArgs>['shard'];
  try {
    const split = splitShardArgs(argv);
    sharded = split.shard;
    parsed = parseArgs(split.argv);
  } catch (e) {
    const cmd = argv[0] as keyof typeof usages | undefined;
    const usage = cmd && cmd in usages ? usages[cmd] : usages.main;
    process.stderr.write(`error: ${(e as Error).message}\n\n${usage}\n`);
    return 2;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(`${parsed.text}\n`);
    return 0;
  }
  const cfg = parsed.config;
  try {
    await checkOutputDir(cfg.out); // before the backend, the data or any training
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    return 2;
  }
  const backend = await setupBackend({ backend: cfg.backend });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(
    `scorekit cifar ${cfg.command}: preset ${cfg.preset}, seed ${cfg.seed}, backend ${describeBackend(backend)}, out ${cfg.out}`,
  );
  const controller = new AbortController();
  let stoppedBy: keyof typeof signalExit | undefined;
  for (const name of ['SIGINT', 'SIGTERM'] as const)
    process.on(name, () => {
      if (stoppedBy !== undefined) {
        log(`${name} again: exiting now without a checkpoint of the current step`);
        process.exit(signalExit[name]);
      }
      stoppedBy = name;
      log(`${name}: stopping after the current step (send it again to exit at once)`);
      controller.abort();
    });
  const options = { log, signal: controller.signal };
  try {
    await run(cfg, options, sharded);
  } catch (e) {
    if (!(e instanceof TrainingInterrupted)) throw e;
    const again = argv.includes('--resume') ? argv : [...argv, '--resume'];
    log(`${e.message}; resume with: npm run cifar -- ${again.map(shellWord).join(' ')}`);
    return signalExit[stoppedBy ?? 'SIGINT'];
  }
  if (stoppedBy !== undefined) return signalExit[stoppedBy];
  return 0;
}

async function run(
  cfg: CifarConfig,
  options: { log: (line: string) => void; signal: AbortSignal },
  sharded: ReturnType<typeof splitShardArgs>['shard'],
): Promise<void> {
  if (sharded) {
    await runSharded(cfg, sharded, options);
    return;
  }
  switch (cfg.command) {
    case 'train-score':
      await trainScore(cfg, options);
      break;
    case 'train-classifier':
      await trainClassifier(cfg, options);
      break;
    case 'sample':
      await sampleImages(cfg, options);
      break;
    case 'evaluate':
      await evaluateSamples(cfg, options);
      break;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
