import * as tf from '@tensorflow/tfjs-core';

/** The kernel-function arguments tfjs passes (the parts used here). */
interface KernelArgs {
  readonly inputs: tf.NamedTensorInfoMap;
  readonly backend: tf.KernelBackend & {
    readonly device: { readonly limits: Record<string, number> };
  };
  readonly attrs?: tf.NamedAttrMap;
}

type KernelFunc = (args: KernelArgs) => tf.TensorInfo;

let registered = false;

/**
 * Replaces tfjs-backend-webgpu's `AddN` with one that sums at most
 * `maxStorageBuffersPerShaderStage − 1` tensors per dispatch (one binding is the output).
 * tfjs binds every addend at once, so `tf.addN` of more tensors — which gradient accumulation
 * does whenever a tensor feeds more than a few ops — builds an invalid pipeline (8 storage
 * buffers by default, 4 in compatibility mode) and yields garbage. Idempotent.
 */
export function registerWebgpuKernels(): void {
  if (registered) return;
  const original = tf.getKernel('AddN', 'webgpu');
  if (!original) return;
  const addN = original.kernelFunc as unknown as KernelFunc;
  const chunkedAddN: KernelFunc = (args) => {
    // tf.addN passes its tensors as an array (tfjs's AddN kernels map over it)
    const tensors = args.inputs as unknown as tf.TensorInfo[];
    const limit = args.backend.device.limits['maxStorageBuffersPerShaderStage'] ?? 8;
    const perDispatch = Math.max(2, limit - 1);
    let level = tensors;
    let owned = false;
    while (level.length > perDispatch) {
      const next: tf.TensorInfo[] = [];
      for (let i = 0; i < level.length; i += perDispatch) {
        const chunk = level.slice(i, i + perDispatch);
        next.push(
          chunk.length === 1
            ? (chunk[0] as tf.TensorInfo)
            : addN({ ...args, inputs: chunk as never }),
        );
      }
      if (owned) for (const t of level) if (!next.includes(t)) args.backend.disposeData(t.dataId);
      level = next;
      owned = true;
    }
    const out = addN({ ...args, inputs: level as never });
    if (owned) for (const t of level) args.backend.disposeData(t.dataId);
    return out;
  };
  tf.unregisterKernel('AddN', 'webgpu');
  tf.registerKernel({ ...original, kernelFunc: chunkedAddN as unknown as tf.KernelFunc });
  registered = true;
}
