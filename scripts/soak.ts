/**
 * Crash-and-resume soak of the CIFAR CLI (issue 14): random `kill -9` during training and during
 * sampling, then `--resume` (or a rerun), looped for a while, checking that
 * - after every kill, `latest` (if present) names a complete checkpoint whose every file decodes,
 *   and `samples.safetensors` (if present) decodes completely;
 * - every interrupted-and-resumed training run ends bit-identical (every tensor of params, EMA,
 *   optimizer state and buffers, and state.json) to an uninterrupted run of the same steps;
 * - every completed sampling run after a kill writes exactly the reference samples.
 *
 * Usage: npm run soak -- [--seconds 600] [--dir /tmp/soak] [--seed 1]
 * (node --conditions=@scorekit/source --import tsx scripts/soak.ts; run it under nice -n 10).
 * Prints one line per iteration and a JSON summary of the counts at the end. Exit code 1 if any
 * corruption or mismatch was seen.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeSafetensors } from '@scorekit/training';
import * as E from 'fp-ts/lib/Either.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
};
const seconds = Number(arg('--seconds', '600'));
const root = arg('--dir', mkdtempSync(join(tmpdir(), 'scorekit-soak-')));
const data = resolve(
  arg(
    '--data',
    join(
      process.env['SCOREKIT_SHARED_DATA'] ?? resolve(repo, '../shared/data'),
      'cifar10/cifar-10-batches-bin-subset/data_batch_1_first4000.bin',
    ),
  ),
);
if (!Number.isFinite(seconds) || seconds <= 0)
  throw new Error(`--seconds: expected > 0, got ${seconds}`);

// a seeded generator for the kill times (mulberry32), so a soak can be replayed
let rngState = Number(arg('--seed', '1')) >>> 0;
const random = (): number => {
  rngState = (rngState + 0x6d2b79f5) >>> 0;
  let t = rngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  readonly ms: number;
}

/**
 * When to `kill -9` a run: after a delay, or `ms` after `when()` first holds (polled every 5 ms;
 * e.g. a save in progress), whichever comes first with the delay as a fallback.
 */
type KillPlan =
  | number
  | { readonly when: () => boolean; readonly ms: number; readonly fallbackMs: number };

/** Runs the CLI; with a kill plan, sends SIGKILL accordingly (if still running). */
function cli(argv: readonly string[], plan?: KillPlan): Promise<Run> {
  const killAfterMs = typeof plan === 'number' ? plan : plan?.fallbackMs;
  const t0 = performance.now();
  return new Promise((done) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@scorekit/source', '--import', 'tsx', 'examples/cifar/src/main.ts', ...argv],
      { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += String(d);
    });
    const timer =
      killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    const poll =
      typeof plan === 'object'
        ? setInterval(() => {
            if (!plan.when()) return;
            clearInterval(poll);
            setTimeout(() => child.kill('SIGKILL'), plan.ms);
          }, 5)
        : undefined;
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (poll) clearInterval(poll);
      done({ code, signal, stderr, ms: performance.now() - t0 });
    });
  });
}

const common = ['--preset', 'tiny', '--data', data, '--quiet'];
const steps = 12;
const training = {
  'train-score': [
    '--set',
    'score.warmup=8',
    '--set',
    'score.gradClip=0.05',
    '--set',
    'score.checkpointEvery=3',
  ],
  'train-classifier': [
    '--loss',
    'ce',
    '--set',
    'classifier.warmup=8',
    '--set',
    'classifier.gradClip=0.05',
    '--set',
    'classifier.checkpointEvery=3',
  ],
} as const;
type TrainCommand = keyof typeof training;
const trainArgv = (command: TrainCommand, out: string, more: string[] = []) => [
  command,
  ...common,
  '--out',
  out,
  '--steps',
  String(steps),
  ...training[command],
  ...more,
];

/** Problems with the files of one checkpoint folder (empty: complete and decodable). */
function checkpointProblems(path: string): string[] {
  const problems: string[] = [];
  for (const f of [
    'params.safetensors',
    'optimizer.safetensors',
    'buffers.safetensors',
    'state.json',
    'config.json',
  ])
    if (!existsSync(join(path, f))) problems.push(`${path}: ${f} missing`);
  for (const f of readdirSync(path)) {
    const file = join(path, f);
    if (f.endsWith('.safetensors')) {
      const d = decodeSafetensors(readFileSync(file), file);
      if (E.isLeft(d)) problems.push(d.left.message);
    } else if (f.endsWith('.json')) {
      try {
        JSON.parse(readFileSync(file, 'utf8'));
      } catch (e) {
        problems.push(`${file}: ${(e as Error).message}`);
      }
    }
  }
  return problems;
}

/** Problems of a training folder after a kill: `latest` must name a complete checkpoint. */
function folderProblems(out: string): string[] {
  const latest = join(out, 'latest');
  if (!existsSync(latest)) return [];
  const name = readFileSync(latest, 'utf8').trim();
  if (!/^step-\d+$/.test(name)) return [`${latest}: corrupt pointer`];
  if (!existsSync(join(out, name))) return [`${latest}: names missing ${name}`];
  return checkpointProblems(join(out, name));
}

/** Names of the files of two checkpoint folders whose bytes differ. */
function differingFiles(a: string, b: string): string[] {
  const files = [...new Set([...readdirSync(a), ...readdirSync(b)])].filter(
    (f) => f.endsWith('.safetensors') || f === 'state.json',
  );
  return files.filter((f) => {
    const x = join(a, f);
    const y = join(b, f);
    return !existsSync(x) || !existsSync(y) || !readFileSync(x).equals(readFileSync(y));
  });
}

const counts = {
  iterations: 0,
  trainingRuns: 0,
  trainingKills: 0,
  killsTimedAtSaves: 0,
  resumes: 0,
  resumedRunsCompared: 0,
  bitExact: 0,
  mismatches: 0,
  corruptAfterKill: 0,
  samplingRuns: 0,
  samplingKills: 0,
  samplesCompared: 0,
  samplesIdentical: 0,
  samplesCorruptAfterKill: 0,
  unexpectedFailures: 0,
};
const problems: string[] = [];
const note = (p: string) => {
  problems.push(p);
  process.stderr.write(`PROBLEM ${p}\n`);
};

async function reference(command: TrainCommand): Promise<{ dir: string; ms: number }> {
  const dir = join(root, `ref-${command}`);
  const run = await cli(trainArgv(command, dir));
  if (run.code !== 0) throw new Error(`reference ${command} failed: ${run.stderr}`);
  return { dir, ms: run.ms };
}

async function soakTraining(command: TrainCommand, ref: { dir: string; ms: number }, i: number) {
  const out = join(root, `run-${i}-${command}`);
  let first = true;
  for (let attempt = 0; attempt < 20; attempt++) {
    const resume = existsSync(join(out, 'latest'));
    // killed between publishing a step folder and its `latest`: no checkpoint to resume from yet
    const orphans =
      !resume && existsSync(out) && readdirSync(out).some((n) => /^step-\d+$/.test(n));
    const kill = attempt < 3 && random() < (first ? 1 : 0.5);
    // half the kills are timed to hit a checkpoint save (its temporary folder exists), the
    // others fall at a random moment of the run
    const delay = Math.round(ref.ms * (0.5 + 0.6 * random()));
    const saving = () =>
      existsSync(out) &&
      readdirSync(out).some((n) => n.startsWith('.tmp-step-') || n.startsWith('.tmp-latest'));
    const plan: KillPlan =
      random() < 0.5
        ? { when: saving, ms: Math.round(20 * random()), fallbackMs: 3 * ref.ms }
        : delay;
    if (kill && typeof plan === 'object') counts.killsTimedAtSaves++;
    const run = await cli(
      trainArgv(command, out, resume ? ['--resume'] : orphans ? ['--overwrite'] : []),
      kill ? plan : undefined,
    );
    counts.trainingRuns++;
    if (resume) counts.resumes++;
    first = false;
    if (run.signal === 'SIGKILL') {
      counts.trainingKills++;
      const bad = folderProblems(out);
      if (bad.length > 0) {
        counts.corruptAfterKill++;
        for (const p of bad) note(p);
      }
      continue;
    }
    if (run.code !== 0) {
      counts.unexpectedFailures++;
      note(`${command} ${out}: exit ${run.code}: ${run.stderr.trim().split('\n').pop()}`);
      return;
    }
    const final = join(out, `step-${String(steps).padStart(6, '0')}`);
    const diff = differingFiles(join(ref.dir, `step-${String(steps).padStart(6, '0')}`), final);
    counts.resumedRunsCompared++;
    if (diff.length === 0) counts.bitExact++;
    else {
      counts.mismatches++;
      note(`${final}: differs from the uninterrupted run in ${diff.join(', ')}`);
    }
    rmSync(out, { recursive: true, force: true });
    return;
  }
  note(`${out}: did not complete in 20 attempts`);
}

async function soakSampling(
  score: string,
  classifier: string,
  refSamples: Buffer,
  refMs: number,
  i: number,
) {
  const out = join(root, `samples-${i}`);
  const argv = ['sample', ...common, '--score', score, '--classifier', classifier, '--out', out];
  const killed = await cli(argv, Math.round(refMs * (0.3 + 0.9 * random())));
  counts.samplingRuns++;
  const file = join(out, 'samples.safetensors');
  if (killed.signal === 'SIGKILL') {
    counts.samplingKills++;
    if (existsSync(file)) {
      const d = decodeSafetensors(readFileSync(file), file);
      if (E.isLeft(d)) {
        counts.samplesCorruptAfterKill++;
        note(d.left.message);
      }
    }
  }
  const again = await cli(argv);
  counts.samplingRuns++;
  if (again.code !== 0) {
    counts.unexpectedFailures++;
    note(`sample ${out}: exit ${again.code}: ${again.stderr.trim().split('\n').pop()}`);
    return;
  }
  counts.samplesCompared++;
  if (readFileSync(file).equals(refSamples)) counts.samplesIdentical++;
  else note(`${file}: differs from the reference samples`);
  rmSync(out, { recursive: true, force: true });
}

async function main() {
  process.stderr.write(`soak: ${seconds} s in ${root}\n`);
  const refScore = await reference('train-score');
  const refClf = await reference('train-classifier');
  const refSampleDir = join(root, 'ref-samples');
  const sampled = await cli([
    'sample',
    ...common,
    '--score',
    refScore.dir,
    '--classifier',
    refClf.dir,
    '--out',
    refSampleDir,
  ]);
  if (sampled.code !== 0) throw new Error(`reference sample failed: ${sampled.stderr}`);
  const refSamples = readFileSync(join(refSampleDir, 'samples.safetensors'));
  const deadline = performance.now() + seconds * 1000;
  for (let i = 0; performance.now() < deadline; i++) {
    counts.iterations++;
    await soakTraining('train-score', refScore, i);
    if (performance.now() >= deadline) break;
    await soakTraining('train-classifier', refClf, i);
    if (performance.now() >= deadline) break;
    await soakSampling(refScore.dir, refClf.dir, refSamples, sampled.ms, i);
    process.stderr.write(`soak: iteration ${i} done ${JSON.stringify(counts)}\n`);
  }
  process.stdout.write(`${JSON.stringify({ seconds, root, counts, problems }, null, 2)}\n`);
  rmSync(root, { recursive: true, force: true });
  return problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`soak: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  },
);
