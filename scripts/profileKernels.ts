/**
 * Kernels per training step (issue 15, "fewer kernels per step"):
 * `node --conditions=@scorekit/source --import tsx scripts/profileKernels.ts [workload ...]`
 * (default: the ResNet-18 w8 DLSM + CE step and the unetSmall DSM step of benchTorch.ts).
 *
 * For one step after a warm-up it prints the number of kernels run (loss, gradients and the
 * Adam update), the most frequent kernels, and the kernels taking most time (from
 * `tf.profile`: timing each kernel adds overhead, so the times are only a ranking).
 */
import { describeBackend, setupBackend } from '@scorekit/core/node';
import * as tf from '@tensorflow/tfjs-core';
import { buildScorekitWorkload, vsTorchWorkloads } from './benchTorch.js';

async function main() {
  const report = await setupBackend({ backend: 'wasm' });
  console.log(`backend: ${describeBackend(report)}`);
  const ids = process.argv.slice(2);
  const wanted = ids.length > 0 ? ids : ['resnet8Total', 'unetSmallDsm'];
  for (const id of wanted) {
    const w = vsTorchWorkloads.find((q) => q.id === id);
    if (!w)
      throw new Error(
        `profileKernels: unknown workload '${id}' (one of ${vsTorchWorkloads.map((q) => q.id).join(', ')})`,
      );
    const built = buildScorekitWorkload(w);
    try {
      built.step(); // warm-up
      const info = await tf.profile(() => built.step());
      const count = new Map<string, number>();
      const time = new Map<string, number>();
      for (const k of info.kernels) {
        count.set(k.name, (count.get(k.name) ?? 0) + 1);
        const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
        time.set(k.name, (time.get(k.name) ?? 0) + ms);
      }
      const totalMs = [...time.values()].reduce((a, b) => a + b, 0);
      console.log(`\n${w.label}, batch ${w.batch}: ${info.kernels.length} kernels per step`);
      const top = (m: Map<string, number>) =>
        [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12);
      console.log(
        `  most frequent: ${top(count)
          .map(([n, c]) => `${n} ${c}`)
          .join(', ')}`,
      );
      console.log(
        `  most time:     ${top(time)
          .map(([n, t]) => `${n} ${((100 * t) / totalMs).toFixed(0)}%`)
          .join(', ')}`,
      );
    } finally {
      built.dispose();
    }
  }
}

await main();
