import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { decodeConfig, parseConfig } from './config.js';
import { ScorekitException } from './errors.js';
import { sdeConfig, veSdeConfig } from './sde/config.js';

describe('config decoding', () => {
  it('returns the resolved config with defaults', () => {
    const out = decodeConfig(sdeConfig, { kind: 'vp' }, 'sde');
    expect(out).toEqual(E.right({ kind: 'vp', beta0: 0.1, beta1: 20, N: 1000 }));
  });

  it('returns a ConfigError naming the field, expected and actual', () => {
    const out = decodeConfig(veSdeConfig, { kind: 've', sigmaMin: 100, sigmaMax: 50 }, 'train.sde');
    expect(E.isLeft(out)).toBe(true);
    if (E.isLeft(out)) {
      expect(out.left).toEqual({
        _tag: 'ConfigError',
        path: 'sigmaMin',
        message: 'train.sde: sigmaMin must be less than sigmaMax (50) (was 100)',
      });
    }
  });

  it('parseConfig throws a ScorekitException carrying the error', () => {
    try {
      parseConfig(sdeConfig, { kind: 'vp', beta1: 'twenty' }, 'sde');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ScorekitException);
      expect((e as ScorekitException).error._tag).toBe('ConfigError');
      expect((e as Error).message).toMatch(/^sde: beta1 must be a number/);
    }
  });
});
