import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { backendFromEnv, describeBackend, setupBackend } from './backend.js';

describe('setupBackend', () => {
  it('picks the best backend present and says why better ones were skipped', async () => {
    const before = tf.getBackend();
    const report = await setupBackend({ env: {} });
    expect(report.source).toBe('auto');
    expect(['tensorflow', 'wasm', 'cpu']).toContain(report.name);
    expect(tf.getBackend()).toBe(report.name);
    if (report.name !== 'tensorflow') {
      const names = report.skipped.map((s) => s.name);
      expect(names).toEqual(
        expect.arrayContaining(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']),
      );
      expect(describeBackend(report)).toMatch(/skipped @tensorflow\/tfjs-node-gpu: /);
    }
    await tf.setBackend(before);
  });

  it('fails clearly when a named backend is unavailable, and honours a named one', async () => {
    const before = tf.getBackend();
    if (before !== 'tensorflow') {
      await expect(setupBackend({ backend: 'tensorflow', env: {} })).rejects.toThrow(
        /backend 'tensorflow' unavailable: @tensorflow\/tfjs-node-gpu: not installed/,
      );
    }
    const cpu = await setupBackend({ backend: 'cpu', env: {} });
    expect(cpu).toMatchObject({ name: 'cpu', source: 'option' });
    expect(tf.getBackend()).toBe('cpu');
    await tf.setBackend(before);
  });

  it('honours SCOREKIT_BACKEND when the choice is auto, and a named option over it', async () => {
    const before = tf.getBackend();
    const fromEnv = await setupBackend({ backend: 'auto', env: { SCOREKIT_BACKEND: 'cpu' } });
    expect(fromEnv).toMatchObject({ name: 'cpu', source: 'SCOREKIT_BACKEND', skipped: [] });
    expect(tf.getBackend()).toBe('cpu');
    expect(describeBackend(fromEnv)).toBe('cpu (from SCOREKIT_BACKEND)');
    const defaulted = await setupBackend({ env: { SCOREKIT_BACKEND: ' CPU ' } });
    expect(defaulted.name).toBe('cpu');
    if (before !== 'cpu') {
      const named = await setupBackend({
        backend: before as 'wasm' | 'tensorflow',
        env: { SCOREKIT_BACKEND: 'cpu' },
      });
      expect(named).toMatchObject({ name: before, source: 'option' });
    }
    await tf.setBackend(before);
  });

  it('rejects an unknown SCOREKIT_BACKEND naming the variable, expected and got', async () => {
    expect(backendFromEnv({})).toBeUndefined();
    expect(backendFromEnv({ SCOREKIT_BACKEND: '' })).toBeUndefined();
    expect(backendFromEnv({ SCOREKIT_BACKEND: 'wasm' })).toBe('wasm');
    expect(() => backendFromEnv({ SCOREKIT_BACKEND: 'webgl' })).toThrow(
      'SCOREKIT_BACKEND: expected one of auto | tensorflow | webgpu | wasm | cpu, got "webgl"',
    );
    await expect(setupBackend({ env: { SCOREKIT_BACKEND: 'gpu' } })).rejects.toThrow(
      /SCOREKIT_BACKEND: expected one of .*, got "gpu"/,
    );
  });
});
