import { describe, expect, it } from 'vitest';
import { defaults, formatState, parseState } from './urlState.js';

describe('playground URL state', () => {
  it('reads defaults from an empty query and writes an empty query for them', () => {
    expect(parseState('')).toEqual(defaults);
    expect(formatState(defaults)).toBe('');
  });

  it('round-trips a shared view', () => {
    const state = {
      ...defaults,
      seed: 3,
      sigma: 2.5,
      alpha: 4,
      label: 1,
      lambda: 0.5,
      classifierSteps: 120,
      backend: 'wasm' as const,
      run: false,
    };
    const query = formatState(state);
    expect(query).toBe(
      '?seed=3&clfSteps=120&lambda=0.5&sigma=2.5&alpha=4&class=1&backend=wasm&run=0',
    );
    expect(parseState(query)).toEqual(state);
  });

  it('names the parameter, the expected range and the value of a bad link', () => {
    expect(() => parseState('?sigma=0')).toThrow(
      "URL parameter 'sigma': expected a number in [0.01, 10], got '0'",
    );
    expect(() => parseState('?clfSteps=2.5')).toThrow(
      "URL parameter 'clfSteps': expected an integer in [1, 100000], got '2.5'",
    );
    expect(() => parseState('?backend=tpu')).toThrow(
      "URL parameter 'backend': expected one of auto, webgpu, webgl, wasm, cpu, got 'tpu'",
    );
    expect(() => parseState('?run=yes')).toThrow("URL parameter 'run': expected 0 or 1, got 'yes'");
  });
});
