/**
 * Kernels per training step (issue 15, "fewer kernels per step"):
 * `node --conditions=@scorekit/source --import tsx scripts/profileKernels.ts [workload ...]`
 * (default: the toy DSM and DLSM + CE steps, the ResNet-18 w8 DLSM + CE step and the unetSmall
 * DSM step of benchTorch.ts).
 *
 * After a warm-up it prints the median wall time of a step, the number of kernels one step runs
 * (loss, gradients and the Adam update), the most frequent kernels, and the kernels taking most
 * time (from `tf.profile`: timing each kernel adds overhead, so those times are only a
 * ranking; the gap between them and the wall time is mostly per-kernel engine overhead).
 */
import { describeBackend, setupBackend } from '@scorekit/core/node';
import * as tf from '@tensorflow/tfjs-core';
import { buildScorekitWorkload, vsTorchWorkloads } from './benchTorch.js';

async function main() {
  const report = await setupBackend({ backend: 'wasm' });
  console.log(`backend: ${describeBackend(report)}`);
  const ids = process.argv.slice(2);
  const wanted = ids.length > 0 ? ids : ['toyDsm', 'toyTotal', 'resnet8Total', 'unetSmallDsm'];
  for (const id of wanted) {
    const w = vsTorchWorkloads.find((q) => q.id === id);
    if (!w)
      throw new Error(
        `profileKernels: unknown workload '${id}' (one of ${vsTorchWorkloads.map((q) => q.id).join(', ')})`,
      );
    const built = buildScorekitWorkload(w);
    try {
      for (let i = 0; i < 2; i++) built.step(); // warm-up
      const wall: number[] = [];
      for (let i = 0; i < 7; i++) {
        const t0 = performance.now();
        built.step();
        wall.push(performance.now() - t0);
      }
      wall.sort((a, b) => a - b);
      const info = await tf.profile(() => built.step());
      // tf.profile also lists gradient scopes ('backward', 'unnamed scope') around their kernels
      const kernels = info.kernels.filter(
        (k) => k.name !== 'backward' && k.name !== 'unnamed scope',
      );
      const count = new Map<string, number>();
      const time = new Map<string, number>();
      for (const k of kernels) {
        count.set(k.name, (count.get(k.name) ?? 0) + 1);
        const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
        time.set(k.name, (time.get(k.name) ?? 0) + ms);
      }
      const totalMs = [...time.values()].reduce((a, b) => a + b, 0);
      console.log(
        `\n${w.label}, batch ${w.batch}: ${kernels.length} kernels per step; step ${wall[3]!.toFixed(1)} ms ` +
          `(median of 7), of which ${totalMs.toFixed(1)} ms inside kernels (timed under tf.profile)`,
      );
      const top = (m: Map<string, number>) =>
        [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12);
      console.log(
        `  most frequent: ${top(count)
          .map(([n, c]) => `${n} ${c}`)
          .join(', ')}`,
      );
      console.log(
        `  most time:     ${top(time)
          .map(([n, t]) => `${n} ${t.toFixed(1)} ms`)
          .join(', ')}`,
      );
    } finally {
      built.dispose();
    }
  }
}

await main();
