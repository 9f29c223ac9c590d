/**
 * Do two oneDNN threads pay? (issue 15 item 4): `node --conditions=@scorekit/source --import
 * tsx scripts/benchThreads.ts [workload ...]` (default: ResNet-18 w8 DLSM + CE and unetSmall
 * DSM, see benchTorch.ts). Alternates one step with 1 native thread and one with 2 in the same
 * process, and prints the medians and the median per-round ratio (1 thread ÷ 2 threads). Needs
 * the @scorekit/native addon.
 */
import { describeBackend, setupBackend } from '@scorekit/core/node';
import { loadAddon } from '@scorekit/native';
import { buildScorekitWorkload, vsTorchWorkloads } from './benchTorch.js';

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const status = loadAddon();
  if (!status.available) throw new Error(`benchThreads: no native addon: ${status.reason}`);
  const report = await setupBackend({ backend: 'wasm' });
  console.log(`backend: ${describeBackend(report)}`);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const ids = process.argv.slice(2);
  for (const id of ids.length > 0 ? ids : ['resnet8Total', 'unetSmallDsm']) {
    const w = vsTorchWorkloads.find((q) => q.id === id);
    if (!w) throw new Error(`benchThreads: unknown workload '${id}'`);
    const built = buildScorekitWorkload(w);
    try {
      const times: Record<1 | 2, number[]> = { 1: [], 2: [] };
      for (const n of [1, 2] as const) {
        status.addon.setThreads(n);
        built.step(); // warm-up with each thread count
      }
      for (let r = 0; r < rounds; r++)
        for (const n of [1, 2] as const) {
          status.addon.setThreads(n);
          const t0 = performance.now();
          built.step();
          times[n].push(performance.now() - t0);
        }
      const ratio = median(times[1].map((t, i) => t / times[2][i]!));
      console.log(
        `${w.label}, batch ${w.batch}: 1 thread ${median(times[1]).toFixed(0)} ms, 2 threads ${median(times[2]).toFixed(0)} ms, 1 ÷ 2 = ${ratio.toFixed(2)}`,
      );
    } finally {
      built.dispose();
    }
  }
}

await main();
