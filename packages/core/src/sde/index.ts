import { parseConfig } from '../config.js';
import { type SdeConfigInput, sdeConfig } from './config.js';
import type { Sde } from './types.js';
import { veSde } from './ve.js';
import { subVpSde, vpSde } from './vp.js';

export * from './config.js';
export * from './reverse.js';
export * from './types.js';
export * from './ve.js';
export * from './vp.js';

/**
 * Builds any SDE from plain JSON config data, validated (Song et al. 2021, §3.4).
 *
 * @example
 * ```ts
 * const sde = makeSde({ kind: 'vp', beta1: 20 });
 * ```
 */
export function makeSde(input: SdeConfigInput): Sde {
  const config = parseConfig(sdeConfig, input, 'sde');
  switch (config.kind) {
    case 've':
      return veSde(config);
    case 'vp':
      return vpSde(config);
    case 'subvp':
      return subVpSde(config);
    default: {
      const never: never = config;
      throw new Error(`unknown SDE kind ${JSON.stringify(never)}`);
    }
  }
}
