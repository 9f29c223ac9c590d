#!/usr/bin/env node
/**
 * `npm run cifar -- <command>`: the CIFAR-10 experiment of Chao et al. (ICLR 2022) — train the
 * score model, train the classifier (CE / DLSM / total), sample with classifier guidance,
 * evaluate. See `--help`.
 */
import { describeBackend, setupBackend } from '@scorekit/core';
import { parseArgs, usages } from './cli.js';
import { evaluateSamples } from './evaluate.js';
import { sampleImages } from './sample.js';
import { runShardCommand, runSharded, shardCommands, splitShardArgs } from './shardCli.js';
import { trainClassifier } from './trainClassifier.js';
import { trainScore } from './trainScore.js';

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
  const backend = await setupBackend({ backend: cfg.backend });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(
    `scorekit cifar ${cfg.command}: preset ${cfg.preset}, seed ${cfg.seed}, backend ${describeBackend(backend)}, out ${cfg.out}`,
  );
  const controller = new AbortController();
  process.once('SIGINT', () => {
    log('interrupted: stopping after the current step');
    controller.abort();
  });
  const options = { log, signal: controller.signal };
  if (sharded) {
    await runSharded(cfg, sharded, options);
    return 0;
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
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
