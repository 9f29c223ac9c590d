import { describe, expect, it } from 'vitest';
import { setupBackend } from './backend.js';
import {
  adapterReport,
  describeAdapter,
  isSoftwareAdapter,
  missingVulkanDriver,
} from './webgpuAdapter.js';

const llvmpipe = {
  vendor: '',
  architecture: '',
  device: 'llvmpipe-llvm-15-0-6-256-bits-',
  description: 'OpenGL version OpenGL ES 3.2 Mesa 22.3.6',
  isFallbackAdapter: false,
};
const nvidia = {
  vendor: 'nvidia',
  architecture: 'ampere',
  device: '',
  description: 'NVIDIA A100-SXM4-40GB',
  isFallbackAdapter: false,
};

describe('webgpu adapters', () => {
  it('a CPU rasteriser is software even when Dawn does not flag it as a fallback adapter', () => {
    expect(isSoftwareAdapter(llvmpipe)).toBe(true);
    expect(isSoftwareAdapter({ ...nvidia, description: 'SwiftShader Device (Subzero)' })).toBe(
      true,
    );
    expect(isSoftwareAdapter({ ...nvidia, device: 'llvmpipe (LLVM 19.1.7, 256 bits)' })).toBe(true);
    expect(isSoftwareAdapter({ ...nvidia, isFallbackAdapter: true })).toBe(true);
    expect(isSoftwareAdapter(nvidia)).toBe(false);
  });

  it('reports the adapter and its binding limit', () => {
    const report = adapterReport('default', nvidia, {
      maxStorageBufferBindingSize: 2 ** 31 - 4,
      maxBufferSize: 2 ** 32,
    });
    expect(report.software).toBe(false);
    expect(describeAdapter(report)).toBe(
      'nvidia / ampere / NVIDIA A100-SXM4-40GB via default; largest binding 2048 MiB, largest buffer 4096 MiB',
    );
  });

  it('a Vulkan driver named by VK_ICD_FILENAMES counts as present', () => {
    expect(missingVulkanDriver({ VK_ICD_FILENAMES: '/x/lvp_icd.x86_64.json' })).toBeNull();
  });

  it('SCOREKIT_BACKEND must name a backend', async () => {
    const before = process.env['SCOREKIT_BACKEND'];
    process.env['SCOREKIT_BACKEND'] = 'cuda';
    try {
      await expect(setupBackend()).rejects.toThrow(
        'SCOREKIT_BACKEND: expected one of auto | tensorflow | webgpu | wasm | cpu, got "cuda"',
      );
    } finally {
      if (before === undefined) delete process.env['SCOREKIT_BACKEND'];
      else process.env['SCOREKIT_BACKEND'] = before;
    }
  });
});
