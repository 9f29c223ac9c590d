import * as tf from '@tensorflow/tfjs-core';

/**
 * An explicit, splittable random key: two unsigned 32-bit words. Keys are values; the same
 * key always yields the same numbers, on every backend. Derive new keys with {@link split}
 * or {@link fold}; never reuse one key for two purposes.
 */
export type Key = readonly [number, number] & { readonly __brand: 'scorekit.Key' };

const asKey = (k0: number, k1: number): Key => [k0 >>> 0, k1 >>> 0] as unknown as Key;

const rotl = (x: number, r: number): number => ((x << r) | (x >>> (32 - r))) >>> 0;

/**
 * Threefry-2x32 with 20 rounds (Salmon et al. 2011, "Parallel random numbers: as easy as
 * 1, 2, 3"), the counter-based hash behind JAX's keys: a bijection of the 64-bit counter
 * (x0, x1) keyed by (k0, k1).
 *
 * @example
 * ```ts
 * threefry2x32(0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3); // [0xc4923a9c, 0x483df7a0]
 * ```
 */
export function threefry2x32(k0: number, k1: number, x0: number, x1: number): [number, number] {
  const out = new Uint32Array(2);
  threefryInto(k0, k1, x0, x1, out);
  return [out[0]!, out[1]!];
}

/** Threefry-2x32 into `out` (two words), without allocating: the bulk generators' inner loop. */
function threefryInto(k0: number, k1: number, x0: number, x1: number, out: Uint32Array): void {
  // Unrolled, with no arrays made: this runs for every random number of a step.
  const ks0 = k0 >>> 0;
  const ks1 = k1 >>> 0;
  const ks2 = (k0 ^ k1 ^ 0x1bd11bda) >>> 0;
  let a = (x0 + ks0) >>> 0;
  let b = (x1 + ks1) >>> 0;
  // group 0: rotations 13, 15, 26, 6; then ks[1] and ks[2] + 1
  a = (a + b) >>> 0;
  b = rotl(b, 13) ^ a;
  a = (a + b) >>> 0;
  b = rotl(b, 15) ^ a;
  a = (a + b) >>> 0;
  b = rotl(b, 26) ^ a;
  a = (a + b) >>> 0;
  b = rotl(b, 6) ^ a;
  a = (a + ks1) >>> 0;
  b = (b + ks2 + 1) >>> 0;
  // group 1: rotations 17, 29, 16, 24; then ks[2] and ks[0] + 2
  a = (a + b) >>> 0;
  b = rotl(b, 17) ^ a;
  a = (a + b) >>> 0;
  b = rotl(b, 29) ^ a;
  a = (a + b) >>> 0;
  b = rotl(b, 16) ^ a;
  a = (a + b) >>> 0;
  b = rotl(b, 24) ^ a;
  a = (a + ks2) >>> 0;
  b = (b + ks0 + 2) >>> 0;
  // group 2: rotations 13, 15, 26, 6; then ks[0] and ks[1] + 3
  a = (a + b) >>> 0;
  b = rotl(b, 13) ^ a;
  a = (a + b) >>> 0;
  b = rotl(b, 15) ^ a;
  a = (a + b) >>> 0;
  b = rotl(b, 26) ^ a;
  a = (a + b) >>> 0;
  b = rotl(b, 6) ^ a;
  a = (a + ks0) >>> 0;
  b = (b + ks1 + 3) >>> 0;
  // group 3: rotations 17, 29, 16, 24; then ks[1] and ks[2] + 4
  a = (a + b) >>> 0;
  b = rotl(b, 17) ^ a;
  a = (a + b) >>> 0;
  b = rotl(b, 29) ^ a;
  a = (a + b) >>> 0;
  b = rotl(b, 16) ^ a;
  a = (a + b) >>> 0;
  b = rotl(b, 24) ^ a;
  a = (a + ks1) >>> 0;
  b = (b + ks2 + 4) >>> 0;
  // group 4: rotations 13, 15, 26, 6; then ks[2] and ks[0] + 5
  a = (a + b) >>> 0;
  b = rotl(b, 13) ^ a;
  a = (a + b) >>> 0;
  b = rotl(b, 15) ^ a;
  a = (a + b) >>> 0;
  b = rotl(b, 26) ^ a;
  a = (a + b) >>> 0;
  b = rotl(b, 6) ^ a;
  a = (a + ks2) >>> 0;
  b = (b + ks0 + 5) >>> 0;
  out[0] = a;
  out[1] = b;
}

/**
 * A key from an integer seed (any safe integer; negative and large seeds are fine).
 *
 * @example
 * ```ts
 * const k = key(0);
 * ```
 */
export function key(seed: number): Key {
  if (!Number.isSafeInteger(seed))
    throw new RangeError(`key: seed must be a safe integer, got ${seed}`);
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 2 ** 32) >>> 0;
  const [a, b] = threefry2x32(0, 0, lo, hi);
  return asKey(a, b);
}

// Counter domains keep split, fold and bit streams disjoint.
const SPLIT = 0x5eed0000;
const FOLD = 0x5eed0001;
const BITS = 0x5eed0002;

/**
 * Splits a key into `n` independent keys (default 2).
 *
 * @example
 * ```ts
 * const [kNoise, kTime] = split(k);
 * ```
 */
export function split(k: Key, n = 2): Key[] {
  const out: Key[] = [];
  for (let i = 0; i < n; i++) {
    const [a, b] = threefry2x32(k[0], k[1], i, SPLIT);
    out.push(asKey(a, b));
  }
  return out;
}

/**
 * Folds an integer (a step, a sample index) into a key: `fold(k, i)` is the key of item i.
 * Deterministic in (k, i) and independent of how many items there are, which makes per-sample
 * noise invariant to batch size.
 */
export function fold(k: Key, data: number): Key {
  const lo = data >>> 0;
  const hi = Math.floor(data / 2 ** 32) >>> 0;
  const [a0, b0] = threefry2x32(k[0], k[1], lo, FOLD);
  const [a, b] = threefry2x32(a0, b0, hi, FOLD);
  return asKey(a, b);
}

/** `n` random 32-bit words from a key (counter mode). */
export function randomBits(k: Key, n: number): Uint32Array {
  const out = new Uint32Array(n);
  const w = new Uint32Array(2);
  for (let c = 0; 2 * c < n; c++) {
    threefryInto(k[0], k[1], c, BITS, w);
    out[2 * c] = w[0]!;
    if (2 * c + 1 < n) out[2 * c + 1] = w[1]!;
  }
  return out;
}

/**
 * A seed for tfjs's seeded random ops (`tf.randomNormal(shape, 0, 1, 'float32', seed)`),
 * for code that must call them; scorekit's own noise uses {@link normal} instead.
 */
export function toSeed(k: Key): number {
  return threefry2x32(k[0], k[1], 0, 0x5eed0003)[0];
}

const TWO_POW_M24 = 2 ** -24;
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Uniform floats in [0, 1) (24-bit resolution) as a host array. */
export function uniformArray(k: Key, n: number): Float32Array {
  const out = new Float32Array(n);
  fillUniform(k, out, 0, n);
  return out;
}

/** Standard normal floats (Box–Muller over the key's bit stream) as a host array. */
export function normalArray(k: Key, n: number): Float32Array {
  const out = new Float32Array(n);
  fillNormal(k, out, 0, n);
  return out;
}

/** u ← minval + (maxval − minval)·u in place: uniforms on [0, 1) moved to [minval, maxval). */
function rescale(u: Float32Array, minval: number, maxval: number): void {
  if (minval === 0 && maxval === 1) return;
  for (let i = 0; i < u.length; i++) u[i] = minval + (maxval - minval) * u[i]!;
}

/**
 * out[offset .. offset+n) ← {@link uniformArray}(k, n), without allocating: word i is half
 * (i mod 2) of threefry2x32(k, ⌊i/2⌋, BITS), as in {@link randomBits}.
 */
function fillUniform(k: Key, out: Float32Array, offset: number, n: number): void {
  const w = new Uint32Array(2);
  for (let c = 0; 2 * c < n; c++) {
    threefryInto(k[0], k[1], c, BITS, w);
    out[offset + 2 * c] = (w[0]! >>> 8) * TWO_POW_M24;
    if (2 * c + 1 < n) out[offset + 2 * c + 1] = (w[1]! >>> 8) * TWO_POW_M24;
  }
}

/**
 * out[offset .. offset+n) ← {@link normalArray}(k, n), without allocating: Box–Muller on the
 * two words of threefry2x32(k, c, BITS) for pair c.
 */
function fillNormal(k: Key, out: Float32Array, offset: number, n: number): void {
  const w = new Uint32Array(2);
  for (let c = 0; 2 * c < n; c++) {
    threefryInto(k[0], k[1], c, BITS, w);
    const u1 = ((w[0]! >>> 8) + 1) * TWO_POW_M24; // (0, 1]
    const u2 = (w[1]! >>> 8) * TWO_POW_M24;
    const r = Math.sqrt(-2 * Math.log(u1));
    out[offset + 2 * c] = r * Math.cos(2 * Math.PI * u2);
    if (2 * c + 1 < n) out[offset + 2 * c + 1] = r * Math.sin(2 * Math.PI * u2);
  }
}

/**
 * A tensor of standard normal noise of `shape` drawn from `k`.
 *
 * @example
 * ```ts
 * const z = normal(k, [4, 2]); // same k ⇒ bit-identical z on every backend
 * ```
 */
export function normal(k: Key, shape: readonly number[]): tf.Tensor {
  return tf.tensor(normalArray(k, size(shape)), [...shape], 'float32');
}

/** A tensor of uniform noise in [minval, maxval) of `shape` drawn from `k`. */
export function uniform(k: Key, shape: readonly number[], minval = 0, maxval = 1): tf.Tensor {
  const u = uniformArray(k, size(shape));
  rescale(u, minval, maxval);
  return tf.tensor(u, [...shape], 'float32');
}

/**
 * Batch-first standard normal noise with one key per sample: sample i is drawn from
 * `fold(k, i)`, so the first B′ samples of a batch of B equal a batch of B′ (results do not
 * depend on batch size).
 */
export function normalPerSample(k: Key, shape: readonly number[]): tf.Tensor {
  const [batch, ...rest] = shape;
  if (batch === undefined) throw new RangeError('normalPerSample: shape must be batch-first');
  const per = size(rest);
  const out = new Float32Array(batch * per);
  for (let i = 0; i < batch; i++) fillNormal(fold(k, i), out, i * per, per);
  return tf.tensor(out, [...shape], 'float32');
}

/** Batch-first uniform noise in [minval, maxval) with one key per sample (see {@link normalPerSample}). */
export function uniformPerSample(
  k: Key,
  shape: readonly number[],
  minval = 0,
  maxval = 1,
): tf.Tensor {
  const [batch, ...rest] = shape;
  if (batch === undefined) throw new RangeError('uniformPerSample: shape must be batch-first');
  const per = size(rest);
  const out = new Float32Array(batch * per);
  for (let i = 0; i < batch; i++) fillUniform(fold(k, i), out, i * per, per);
  rescale(out, minval, maxval);
  return tf.tensor(out, [...shape], 'float32');
}

/** A random permutation of 0..n−1 (Fisher–Yates driven by `k`). */
export function permutation(k: Key, n: number): Int32Array {
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const bits = randomBits(k, n);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(((bits[i]! >>> 0) / 2 ** 32) * (i + 1));
    const tmp = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = tmp;
  }
  return perm;
}
