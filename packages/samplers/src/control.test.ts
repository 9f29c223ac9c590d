import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { AbortError, countCalls, throwIfAborted, yieldToEventLoop } from './control.js';

describe('sampler control', () => {
  it('countCalls counts every evaluation and passes results through', () => {
    const counted = countCalls((x) => tf.mul(x, 2));
    const x = tf.tensor1d([1, 2]);
    const t = tf.tensor1d([0.5, 0.5]);
    const a = counted.score(x, t);
    const b = counted.score(a, t);
    expect(Array.from(b.dataSync())).toEqual([4, 8]);
    expect(counted.count()).toBe(2);
    tf.dispose([x, t, a, b]);
  });

  it('throwIfAborted throws an AbortError carrying the step and the reason', () => {
    const ac = new AbortController();
    expect(() => throwIfAborted(ac.signal, 'demo', 3, 10)).not.toThrow();
    expect(() => throwIfAborted(undefined, 'demo', 3, 10)).not.toThrow();
    ac.abort('user');
    let caught: unknown;
    try {
      throwIfAborted(ac.signal, 'demo', 3, 10);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(AbortError);
    expect(caught).toMatchObject({ name: 'AbortError', step: 3, cause: 'user' });
    expect((caught as Error).message).toBe('demo: aborted after 3 of 10 steps');
  });

  it('yieldToEventLoop lets a pending timer run', async () => {
    let fired = false;
    setTimeout(() => {
      fired = true;
    }, 0);
    for (let i = 0; i < 1000 && !fired; i++) await yieldToEventLoop();
    expect(fired).toBe(true);
  });
});
