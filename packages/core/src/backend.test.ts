import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { describeBackend, setupBackend } from './backend.js';

describe('setupBackend', () => {
  it('picks the best backend present and says why better ones were skipped', async () => {
    const report = await setupBackend();
    expect(['tensorflow', 'wasm', 'cpu']).toContain(report.name);
    expect(tf.getBackend()).toBe(report.name);
    if (report.name !== 'tensorflow') {
      const names = report.skipped.map((s) => s.name);
      expect(names).toEqual(
        expect.arrayContaining(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']),
      );
      expect(describeBackend(report)).toMatch(/skipped @tensorflow\/tfjs-node-gpu: /);
    }
  });

  it('fails clearly when a named backend is unavailable, and honours a named one', async () => {
    const before = tf.getBackend();
    if (before !== 'tensorflow') {
      await expect(setupBackend({ backend: 'tensorflow' })).rejects.toThrow(
        /backend 'tensorflow' unavailable: @tensorflow\/tfjs-node-gpu: not installed/,
      );
    }
    const cpu = await setupBackend({ backend: 'cpu' });
    expect(cpu.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    await tf.setBackend(before);
  });
});
