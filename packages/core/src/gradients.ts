/**
 * Registers tfjs-core's own gradients (every kernel's `GradConfig`) and chained tensor methods
 * (`x.square()` …) without the `@tensorflow/tfjs` umbrella package (layers, converter, data,
 * webgl): `../vendor/tfjsRegistrations.js` is tfjs-core 4.22's `register_all_gradients` and
 * `register_all_chained_ops` pre-bundled into one ES module (generated and checked by
 * `packages/core/scripts/bundleTfjsRegistrations.mjs`). tfjs keeps its registries and the
 * Tensor class on a global, so this registers into the application's tfjs-core. Imported for
 * its side effect by `secondOrder.ts`, before scorekit's second-order-safe gradients replace
 * some of these.
 */
import '@tensorflow/tfjs-core'; // the application's tfjs-core creates the global engine first
import '../vendor/tfjsRegistrations.js';
// The chained methods' types (module augmentations of tfjs-core's Tensor).
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
