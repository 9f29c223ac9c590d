import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

/** Workspace packages resolve to their TypeScript sources, so tests need no build. */
const alias = [
  {
    find: /^@scorekit\/(core|datasets|metrics)\/node$/,
    replacement: `${root}packages/$1/src/node/index.ts`,
  },
  {
    find: /^@scorekit\/core\/testing$/,
    replacement: `${root}packages/core/src/testing/index.ts`,
  },
  {
    find: /^@scorekit\/(core|losses|samplers|models|datasets|metrics|training|native)$/,
    replacement: `${root}packages/$1/src/index.ts`,
  },
  {
    find: /^@scorekit\/example-(toy-moons|cifar|kit)$/,
    replacement: `${root}examples/$1/src/index.ts`,
  },
];

const project = (name: string, dir: string) => ({
  extends: true as const,
  test: { name, root: `${root}${dir}`, include: ['**/*.test.ts'] },
});

export default defineConfig({
  resolve: { alias },
  test: {
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    setupFiles: [`${root}packages/core/src/testing/setup.ts`],
    reporters: ['default', `${root}scripts/summary-reporter.ts`],
    projects: [
      project('core', 'packages/core'),
      project('losses', 'packages/losses'),
      project('samplers', 'packages/samplers'),
      project('models', 'packages/models'),
      project('datasets', 'packages/datasets'),
      project('metrics', 'packages/metrics'),
      project('training', 'packages/training'),
      project('native', 'packages/native'),
      project('examples', 'examples'),
      project('integration', 'tests'),
      project('gpu', 'gpu'),
    ],
  },
});
