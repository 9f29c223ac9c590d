/// <reference lib="dom" />
/// <reference types="vite/client" />
import { key, type Params, registerWasmConvGradients, split, veSde } from '@scorekit/core';
import { classifierObjective } from '@scorekit/losses';
import { parametricLogits, toyClassifier } from '@scorekit/models';
import { lossAndGrads } from '@scorekit/training';
import '@tensorflow/tfjs'; // registers tfjs's gradients, the cpu and the webgl backends
import '@tensorflow/tfjs-backend-webgl';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import * as tf from '@tensorflow/tfjs-core';
import { backendOrder, type PageBackend } from './urlState.js';

/** What {@link pickBackend} chose and why each better backend was not used. */
export interface BackendChoice {
  readonly name: PageBackend;
  /** Extra facts about the chosen backend (wasm threads, the GPU adapter). */
  readonly detail: string;
  readonly skipped: ReadonlyArray<{ readonly name: PageBackend; readonly reason: string }>;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

interface GpuAdapterLike {
  readonly isFallbackAdapter?: boolean;
  readonly info?: { readonly vendor?: string; readonly architecture?: string };
}

async function tryWebgpu(auto: boolean): Promise<string> {
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) throw new Error('navigator.gpu is absent (this browser offers no WebGPU)');
  const adapter = (await gpu.requestAdapter()) as GpuAdapterLike | null;
  if (!adapter) throw new Error('navigator.gpu.requestAdapter() returned no adapter');
  if (auto && adapter.isFallbackAdapter)
    throw new Error('only a software fallback adapter, slower than wasm');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend failed to initialise');
  return `WebGPU adapter ${adapter.info?.vendor ?? ''} ${adapter.info?.architecture ?? ''}`.trim();
}

/** The WebGL renderer's name, e.g. "ANGLE (…, SwiftShader …)", or null without WebGL. */
function webglRenderer(): string | null {
  const probe = document.createElement('canvas');
  const gl = (probe.getContext('webgl2') ??
    probe.getContext('webgl')) as WebGLRenderingContext | null;
  if (!gl) return null;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const name = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return name;
}

async function tryWebgl(auto: boolean): Promise<string> {
  const renderer = webglRenderer();
  if (renderer === null) throw new Error('no WebGL context (GPU disabled or blocklisted)');
  // A software rasteriser emulates the GPU on the CPU: measured in headless Chromium here
  // (SwiftShader) at about 1/5 of wasm's step rate for this page, so 'auto' skips it (ask for
  // ?backend=webgl to use it anyway).
  if (auto && /swiftshader|llvmpipe|software/i.test(renderer))
    throw new Error(`software renderer (${renderer}), slower than wasm`);
  if (!(await tf.setBackend('webgl'))) throw new Error('the webgl backend failed to initialise');
  return `${renderer}, WebGL ${tf.env().getNumber('WEBGL_VERSION')}, float32 textures: ${tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED')}`;
}

async function tryWasm(_auto: boolean): Promise<string> {
  setWasmPaths({
    'tfjs-backend-wasm.wasm': wasmPlain,
    'tfjs-backend-wasm-simd.wasm': wasmSimd,
    'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
  });
  registerWasmConvGradients();
  // tfjs-backend-wasm's threaded build starts workers from its own script text, which breaks
  // once the script is bundled ("e is not defined" in the workers): use the single-thread
  // SIMD build, as the Node demo does.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return `SIMD ${simd ? 'on' : 'off'}, one thread`;
}

async function tryCpu(_auto: boolean): Promise<string> {
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
  return 'pure JavaScript (slow)';
}

const tries: Record<PageBackend, (auto: boolean) => Promise<string>> = {
  webgpu: tryWebgpu,
  webgl: tryWebgl,
  wasm: tryWasm,
  cpu: tryCpu,
};

/** The DLSM parameter gradient of a tiny toy classifier on the current backend, on the host. */
function dlsmGradientProbe(): Float32Array {
  const sde = veSde({ sigmaMin: 1e-3, sigmaMax: 10 });
  const model = toyClassifier({ classes: 2 });
  const [kInit, kLoss] = split(key(7), 2) as [ReturnType<typeof key>, ReturnType<typeof key>];
  const vars = model.init(kInit);
  const loss = classifierObjective(
    { method: 'dlsm', eps: 0, wDlsm: 2 },
    {
      sde,
      logits: parametricLogits(model, vars.buffers, sde, { training: true }),
      // an analytic frozen score (the score of N(0, 10² I)), so the probe needs no training
      score: (x) => tf.tidy(() => tf.mul(x, -0.01)),
    },
  );
  const x = tf.tensor2d([3, -2, -10, 4, 20, 1, 0.5, 0.5, -7, -12, 15, 9], [6, 2]);
  const y = tf.tensor1d([0, 1, 0, 1, 1, 0], 'int32');
  const { total, terms, grads } = lossAndGrads(loss, vars.params as Params, { x, y }, kLoss);
  const names = Object.keys(grads).sort();
  const flat = names.flatMap((n) => Array.from(grads[n]!.dataSync()));
  tf.dispose([x, y, total, ...Object.values(terms), ...Object.values(grads)]);
  tf.dispose(Object.values(vars.params));
  tf.dispose(Object.values(vars.buffers));
  return Float32Array.from(flat);
}

/**
 * Checks that second-order gradients (the DLSM loss differentiates an input gradient with
 * respect to the classifier's params, Chao et al. 2022 eq. 10) are right on `name`: the DLSM
 * parameter gradient of a small toy classifier must match the cpu backend's within a relative
 * error of 1e-2 (GPU backends may compute in reduced precision). Returns the relative error.
 */
export async function checkSecondOrder(name: PageBackend): Promise<number> {
  if (name === 'cpu') return 0;
  const got = dlsmGradientProbe();
  await tf.setBackend('cpu');
  const want = dlsmGradientProbe();
  await tf.setBackend(name);
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < want.length; i++) {
    diff += (got[i]! - want[i]!) ** 2;
    norm += want[i]! ** 2;
  }
  const rel = Math.sqrt(diff / Math.max(norm, 1e-30));
  if (!Number.isFinite(rel) || got.length !== want.length)
    throw new Error(`second-order gradient check: non-finite result on ${name}`);
  return rel;
}

/**
 * Picks the page's backend: the one asked for, or (`'auto'`) WebGPU when the browser offers
 * an adapter, else WebGL, else wasm (SIMD, threads when the page is cross-origin isolated),
 * else the pure-JS cpu backend. A GPU backend is used only if it passes
 * {@link checkSecondOrder}; otherwise the next one is tried and the reason is reported.
 */
export async function pickBackend(wanted: PageBackend | 'auto'): Promise<BackendChoice> {
  const skipped: { name: PageBackend; reason: string }[] = [];
  const order =
    wanted === 'auto' ? backendOrder : [wanted, ...backendOrder.filter((b) => b !== wanted)];
  for (const name of order) {
    try {
      let detail = await tries[name](wanted === 'auto');
      await tf.ready();
      if (name === 'webgpu' || name === 'webgl') {
        const rel = await checkSecondOrder(name);
        if (!(rel < 1e-2))
          throw new Error(
            `second-order gradients are wrong here (DLSM gradient off by ${(100 * rel).toFixed(1)} % against cpu)`,
          );
        detail += `; DLSM gradient matches cpu (rel. error ${rel.toExponential(1)})`;
      }
      return { name, detail, skipped };
    } catch (e) {
      skipped.push({ name, reason: message(e) });
    }
  }
  throw new Error(
    `no tfjs backend works here: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`,
  );
}
