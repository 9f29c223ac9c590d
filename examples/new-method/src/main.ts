#!/usr/bin/env node
/**
 * `npm start -w @scorekit/example-new-method`: trains and samples the guide's new method on
 * the two-moons toy at test size and prints what it measured.
 */
import { type BackendName, describeBackend, setupBackend } from '@scorekit/core';
import { runNewMethod, testSize } from './run.js';

// the application chooses the backend: SCOREKIT_BACKEND=tensorflow|wasm|cpu, else the best available
const names: readonly string[] = ['auto', 'tensorflow', 'wasm', 'cpu'];
const wanted = process.env['SCOREKIT_BACKEND'] ?? 'auto';
if (!names.includes(wanted)) {
  process.stderr.write(`SCOREKIT_BACKEND: expected one of ${names.join(', ')}, got '${wanted}'\n`);
  process.exit(2);
}
const backend = await setupBackend({ backend: wanted as BackendName | 'auto' });
process.stdout.write(`scorekit new-method guide, backend ${describeBackend(backend)}\n`);
await runNewMethod(testSize, (line) => process.stdout.write(`${line}\n`));
