import { existsSync, readdirSync } from 'node:fs';

/** The parts of a WebGPU adapter's `info` scorekit reads. */
export interface AdapterInfoLike {
  readonly vendor: string;
  readonly architecture: string;
  readonly device?: string;
  readonly description: string;
  readonly isFallbackAdapter?: boolean;
}

/** The device limits that decide which scorekit models fit (bytes, counts). */
export interface WebgpuLimits {
  /** The largest buffer one kernel can bind: the largest single tensor (× 4 bytes). */
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupSizeX: number;
  readonly maxComputeWorkgroupsPerDimension: number;
}

/** The names of {@link WebgpuLimits}, in report order. */
export const WEBGPU_LIMIT_NAMES = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
] as const satisfies ReadonlyArray<keyof WebgpuLimits>;

/** A WebGPU adapter as scorekit reports it. */
export interface WebgpuAdapterReport {
  /** The Dawn backend that provided it: `default` (Vulkan/Metal/D3D12) or `opengles`. */
  readonly via: 'default' | 'opengles';
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** True for CPU implementations (SwiftShader, lavapipe, llvmpipe) and fallback adapters. */
  readonly software: boolean;
  readonly limits: WebgpuLimits;
}

const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|software|\bcpu\b/i;

/**
 * Whether an adapter runs on the CPU: flagged `isFallbackAdapter`, or named like one of the
 * software rasterisers (SwiftShader, Mesa's lavapipe / llvmpipe / softpipe). Dawn reports
 * Mesa's llvmpipe through OpenGL ES with `isFallbackAdapter: false`, so names are checked too.
 */
export function isSoftwareAdapter(info: AdapterInfoLike): boolean {
  if (info.isFallbackAdapter === true) return true;
  return [info.vendor, info.architecture, info.device ?? '', info.description].some((s) =>
    SOFTWARE.test(s),
  );
}

/** Reads {@link WebgpuLimits} from an adapter's or device's `limits`. */
export function readLimits(limits: Readonly<Record<string, unknown>>): WebgpuLimits {
  const out: Record<string, number> = {};
  for (const name of WEBGPU_LIMIT_NAMES) {
    const v = limits[name];
    out[name] = typeof v === 'number' ? v : Number.NaN;
  }
  return out as unknown as WebgpuLimits;
}

/** Builds the {@link WebgpuAdapterReport} of an adapter. */
export function adapterReport(
  via: WebgpuAdapterReport['via'],
  info: AdapterInfoLike,
  limits: Readonly<Record<string, unknown>>,
): WebgpuAdapterReport {
  return {
    via,
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device ?? '',
    description: info.description,
    software: isSoftwareAdapter(info),
    limits: readLimits(limits),
  };
}

/** A one-line description of an adapter for logs. */
export function describeAdapter(a: WebgpuAdapterReport): string {
  const name = [a.vendor, a.architecture, a.device, a.description]
    .filter((s) => s !== '')
    .join(' / ');
  const mib = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;
  return (
    `${name || 'unnamed adapter'} via ${a.via}${a.software ? ' (software)' : ''}; ` +
    `largest binding ${mib(a.limits.maxStorageBufferBindingSize)}, ` +
    `largest buffer ${mib(a.limits.maxBufferSize)}`
  );
}

/** Where the Vulkan loader looks for driver manifests (ICDs) on Linux. */
const VULKAN_ICD_DIRS = [
  '/usr/share/vulkan/icd.d',
  '/usr/local/share/vulkan/icd.d',
  '/etc/vulkan/icd.d',
] as const;

/**
 * On Linux, why Dawn's Vulkan backend cannot find a driver, or `null` when one may exist:
 * no `VK_ICD_FILENAMES` / `VK_DRIVER_FILES` and no manifest in the loader's directories.
 * A cheap check that spares loading Dawn on machines without any Vulkan driver.
 * On other platforms (Metal, D3D12) always `null`.
 */
export function missingVulkanDriver(env: NodeJS.ProcessEnv = process.env): string | null {
  if (process.platform !== 'linux') return null;
  if (env['VK_ICD_FILENAMES'] || env['VK_DRIVER_FILES'] || env['VK_ADD_DRIVER_FILES']) return null;
  for (const dir of VULKAN_ICD_DIRS) {
    try {
      if (existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.json'))) return null;
    } catch {
      // unreadable directory: keep looking
    }
  }
  return (
    `no Vulkan driver manifest (ICD) in ${VULKAN_ICD_DIRS.join(', ')}; on NVIDIA install the ` +
    "driver's Vulkan ICD (nvidia_icd.json) and libvulkan1, and in containers set " +
    'NVIDIA_DRIVER_CAPABILITIES to include graphics'
  );
}
