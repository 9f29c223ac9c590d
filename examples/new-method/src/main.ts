#!/usr/bin/env node
/**
 * `npm start -w @scorekit/example-new-method`: trains and samples the guide's new method on
 * the two-moons toy at test size and prints what it measured.
 */
import { describeBackend, setupBackend } from '@scorekit/core/node';
import { runNewMethod, testSize } from './run.js';

// the application chooses the backend; setupBackend honours SCOREKIT_BACKEND (tensorflow|wasm|cpu…)
const backend = await setupBackend();
process.stdout.write(`scorekit new-method guide, backend ${describeBackend(backend)}\n`);
await runNewMethod(testSize, (line) => process.stdout.write(`${line}\n`));
