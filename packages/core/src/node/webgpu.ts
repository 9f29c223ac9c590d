import * as tf from '@tensorflow/tfjs-core';
import {
  type AdapterInfoLike,
  adapterReport,
  missingVulkanDriver,
  type WebgpuAdapterReport,
} from './webgpuAdapter.js';
import {
  type GuardedDevice,
  guardedWebgpuBackend,
  hasErrorCheck,
  type WebGPUBackendClass,
} from './webgpuGuard.js';
import { registerWebgpuKernels } from './webgpuKernels.js';

/** The parts of a WebGPU adapter scorekit uses. */
interface AdapterLike {
  readonly info: AdapterInfoLike;
  readonly limits: Readonly<Record<string, unknown>>;
  requestDevice(descriptor: { requiredLimits: Record<string, number> }): Promise<DeviceLike>;
}

/** The parts of a WebGPU device scorekit uses. */
interface DeviceLike extends GuardedDevice {
  destroy(): void;
}

/** The `GPU` object of Dawn's Node binding (`navigator.gpu` in a browser). */
export interface GpuLike {
  requestAdapter(options?: Record<string, unknown>): Promise<AdapterLike | null>;
}

/** The `webgpu` npm package (Dawn's Node binding): `create(flags)` and the WebGPU globals. */
export interface DawnModule {
  create(flags: string[]): GpuLike;
  readonly globals: object;
}

/** The two optional packages the webgpu backend needs, loaded or injected (bundles). */
export interface WebgpuModules {
  readonly dawn: DawnModule;
  /** `WebGPUBackend` from `@tensorflow/tfjs-backend-webgpu`. */
  readonly WebGPUBackend: WebGPUBackendClass;
}

/** Options of {@link tryWebgpu}. */
export interface TryWebgpuOptions {
  /**
   * Accept only hardware adapters (the `auto` choice): a software adapter is 15–100× slower
   * than wasm. Default false (an explicit `webgpu` request takes any adapter).
   */
  readonly requireHardware?: boolean;
  /** Preloaded modules (a bundle injects them); default: import the optional packages. */
  readonly modules?: WebgpuModules;
}

/** One Dawn backend to ask for an adapter. */
interface Route {
  readonly via: WebgpuAdapterReport['via'];
  readonly flags: string[];
  readonly adapterOptions: Record<string, unknown>;
}

const ROUTES: readonly Route[] = [
  { via: 'default', flags: [], adapterOptions: { powerPreference: 'high-performance' } },
  // Mesa's OpenGL ES through EGL without a display: Dawn's compatibility mode.
  {
    via: 'opengles',
    flags: ['backend=opengles'],
    adapterOptions: { powerPreference: 'high-performance', featureLevel: 'compatibility' },
  },
];

/** The limits tfjs's WebGPU backend raises from the defaults to the adapter's. */
const REQUIRED_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupSizeX',
  'maxComputeInvocationsPerWorkgroup',
  // not raised by tfjs: AddN and Concat bind one storage buffer per input
  'maxStorageBuffersPerShaderStage',
] as const;

interface Active {
  readonly device: DeviceLike;
  readonly definedGpu: boolean;
}
let active: Active | null = null;

function message(cause: unknown): string {
  return cause instanceof Error ? (cause.message.split('\n')[0] ?? cause.message) : String(cause);
}

/** Imports `webgpu` and `@tensorflow/tfjs-backend-webgpu` (optional dependencies). */
export async function loadWebgpuModules(): Promise<WebgpuModules> {
  // Non-literal specifiers: both packages are optional.
  const dawnSpecifier: string = 'webgpu';
  const backendSpecifier: string = '@tensorflow/tfjs-backend-webgpu';
  const dawn = (await import(dawnSpecifier)) as DawnModule;
  // navigator.gpu is not defined yet, so this import registers nothing by itself.
  const backend = (await import(backendSpecifier)) as { WebGPUBackend: WebGPUBackendClass };
  return { dawn, WebGPUBackend: backend.WebGPUBackend };
}

/** An adapter found by {@link findWebgpuAdapters}, still unopened. */
export interface FoundAdapter {
  readonly report: WebgpuAdapterReport;
  readonly gpu: GpuLike;
  readonly adapter: AdapterLike;
}

/**
 * Asks each Dawn backend for an adapter: the platform's own (Vulkan on Linux, Metal on macOS,
 * D3D12 on Windows) and, unless `hardwareOnly`, OpenGL ES through EGL (`EGL_PLATFORM` set to
 * `surfaceless` when unset: no display needed). Reasons for every route that gave nothing are
 * pushed to `skipped`.
 */
export async function findWebgpuAdapters(
  dawn: DawnModule,
  skipped: { name: string; reason: string }[],
  hardwareOnly = false,
): Promise<FoundAdapter[]> {
  const found: FoundAdapter[] = [];
  for (const route of ROUTES) {
    const name = `webgpu (${route.via === 'default' ? 'Vulkan/Metal/D3D12' : 'OpenGL ES'})`;
    if (route.via === 'default') {
      const missing = missingVulkanDriver();
      if (missing) {
        skipped.push({ name, reason: missing });
        continue;
      }
    } else {
      if (hardwareOnly) continue; // GLES on a real GPU is a fringe; auto never tries it
      process.env['EGL_PLATFORM'] ??= 'surfaceless';
    }
    try {
      const gpu = dawn.create(route.flags);
      const adapter = await gpu.requestAdapter(route.adapterOptions);
      if (!adapter) {
        skipped.push({ name, reason: 'no adapter (no driver for this Dawn backend)' });
        continue;
      }
      found.push({ report: adapterReport(route.via, adapter.info, adapter.limits), gpu, adapter });
    } catch (cause) {
      skipped.push({ name, reason: message(cause) });
    }
  }
  return found;
}

/**
 * Tries the `webgpu` backend: loads the optional packages, picks an adapter (hardware first),
 * opens a device with the adapter's storage limits, and registers tfjs's WebGPU backend
 * wrapped by {@link guardedWebgpuBackend} (sizes refused up front, GPU errors thrown at the
 * next read, sync reads named). Returns the adapter, or `null` with the reasons in `skipped`.
 * Undo with {@link teardownWebgpu} (also run automatically before the process exits).
 */
export async function tryWebgpu(
  skipped: { name: string; reason: string }[],
  options: TryWebgpuOptions = {},
): Promise<WebgpuAdapterReport | null> {
  const requireHardware = options.requireHardware ?? false;
  if (requireHardware) {
    // Spare loading Dawn (20 MB) where no Vulkan driver exists at all.
    const missing = missingVulkanDriver();
    if (missing) {
      skipped.push({ name: 'webgpu', reason: missing });
      return null;
    }
  }
  let modules: WebgpuModules;
  try {
    modules = options.modules ?? (await loadWebgpuModules());
  } catch (cause) {
    skipped.push({
      name: 'webgpu',
      reason: `the optional packages webgpu and @tensorflow/tfjs-backend-webgpu are not installed (${message(cause)})`,
    });
    return null;
  }
  const found = await findWebgpuAdapters(modules.dawn, skipped, requireHardware);
  const hardware = found.find((f) => !f.report.software);
  const chosen = hardware ?? (requireHardware ? undefined : found[0]);
  if (!chosen) {
    for (const f of found)
      skipped.push({
        name: `webgpu (${f.report.via})`,
        reason: `only a software adapter (${f.report.device || f.report.description}), slower than wasm`,
      });
    return null;
  }
  try {
    await teardownWebgpu();
    const limits = chosen.adapter.limits;
    const requiredLimits: Record<string, number> = {};
    for (const name of REQUIRED_LIMITS) {
      const v = limits[name];
      if (typeof v === 'number') requiredLimits[name] = v;
    }
    const device = await chosen.adapter.requestDevice({ requiredLimits });
    const g = globalThis as Record<string, unknown>;
    for (const [k, v] of Object.entries(modules.dawn.globals)) if (!(k in g)) g[k] = v;
    if (g['navigator'] === undefined) g['navigator'] = {};
    const nav = g['navigator'] as Record<string, unknown>;
    const definedGpu = nav['gpu'] === undefined;
    if (definedGpu)
      Object.defineProperty(nav, 'gpu', { value: chosen.gpu, configurable: true, writable: true });
    active = { device, definedGpu };
    process.once('beforeExit', () => void teardownWebgpu());
    const Guarded = guardedWebgpuBackend(modules.WebGPUBackend);
    registerWebgpuKernels();
    const info = chosen.adapter.info;
    if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
    tf.registerBackend('webgpu', () => new Guarded(device as never, info as never), 3);
    if (!(await tf.setBackend('webgpu'))) {
      skipped.push({ name: 'webgpu', reason: 'the tfjs webgpu backend failed to initialise' });
      await teardownWebgpu();
      return null;
    }
    await tf.ready();
    return chosen.report;
  } catch (cause) {
    skipped.push({ name: 'webgpu', reason: `device creation failed: ${message(cause)}` });
    await teardownWebgpu();
    return null;
  }
}

/**
 * Throws the GPU errors recorded since the last read (a {@link GpuDeviceError}), if the
 * current backend is scorekit's guarded webgpu backend; otherwise does nothing. Call it at a
 * step boundary where no value is read.
 */
export async function checkWebgpuErrors(): Promise<void> {
  const backend = tf.findBackend('webgpu');
  if (tf.getBackend() === 'webgpu' && hasErrorCheck(backend)) await backend.checkErrors();
}

/**
 * Unregisters the webgpu backend, destroys its device and removes `navigator.gpu`, so the
 * process can exit by itself. Safe to call when webgpu was never set up.
 */
export async function teardownWebgpu(): Promise<void> {
  const was = active;
  active = null;
  if (!was) return;
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  was.device.destroy();
  if (was.definedGpu) {
    const nav = (globalThis as Record<string, unknown>)['navigator'] as
      | Record<string, unknown>
      | undefined;
    if (nav) delete nav['gpu'];
  }
}

export {
  describeAdapter,
  isSoftwareAdapter,
  type WebgpuAdapterReport,
  type WebgpuLimits,
} from './webgpuAdapter.js';
export type { GpuErrorRecord } from './webgpuErrors.js';
export {
  GpuDeviceError,
  GpuReductionTooLargeError,
  GpuSyncReadError,
  GpuTensorTooLargeError,
} from './webgpuErrors.js';
export { syncReadPhase } from './webgpuHost.js';
export { safeReduceSize, setSafeReduceSize } from './webgpuKernels.js';
