// vitest setup for every scorekit test project: one backend per worker (SCOREKIT_BACKEND or
// the best present) and a leak check around every test — the live tensor count after a test
// must equal the count before it.
import { afterEach, beforeEach, expect } from 'vitest';
import { setupBackend } from '../node/backend.js';
import { liveTensors } from './leaks.js';

await setupBackend(); // SCOREKIT_BACKEND names one, else the best present

let before = 0;
beforeEach(() => {
  before = liveTensors();
});
afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') return;
  expect(liveTensors(), 'live tensors after the test (leak check)').toBe(before);
});
