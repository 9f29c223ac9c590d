import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * The functions of the compiled oneDNN addon (`build/scorekit_native.node`, from
 * `src/addon.cc`). Each works in place on the wasm heap: `heap` is the wasm backend's memory
 * buffer, the other numbers are byte offsets of float32 tensors in it and their shapes.
 */
export interface NativeAddon {
  /** y = conv(x, w): NHWC x, filter [kh, kw, ci, co], NHWC y. */
  conv2dForward(heap: ArrayBuffer, x: number, w: number, y: number, ...shape: ConvShapeArgs): void;
  /** dx = ∂L/∂x from dy and the filter (the transposed convolution). */
  conv2dBackwardData(
    heap: ArrayBuffer,
    dy: number,
    w: number,
    dx: number,
    ...shape: ConvShapeArgs
  ): void;
  /** dw = ∂L/∂w from x and dy, written in the tfjs filter layout [kh, kw, ci, co]. */
  conv2dBackwardFilter(
    heap: ArrayBuffer,
    x: number,
    dy: number,
    dw: number,
    ...shape: ConvShapeArgs
  ): void;
  /** c = op(a) · op(b) over a (broadcast) batch; see addon.cc. */
  matMul(
    heap: ArrayBuffer,
    a: number,
    b: number,
    c: number,
    batchA: number,
    batchB: number,
    m: number,
    k: number,
    n: number,
    transposeA: number,
    transposeB: number,
  ): void;
  /**
   * c = a op b (op 0 add, 1 sub, 2 mul, 3 div) over a broadcast collapsed to four dimensions
   * `d0..d3` (c contiguous), reading a and b with element strides `sa*`/`sb*` (0 where
   * broadcast).
   */
  binary(
    heap: ArrayBuffer,
    op: number,
    a: number,
    b: number,
    c: number,
    ...plan: BroadcastPlan
  ): void;
  /**
   * out = Σ of x (contiguous, dims d0..d3) over the dimensions whose keep flag k* is 0, kept
   * where it is 1; divided by the count when `mean` is 1.
   */
  reduce(heap: ArrayBuffer, x: number, out: number, ...plan: [...ReductionPlan, number]): void;
  /**
   * One Adam step of one float32 tensor of `len` elements into fresh pOut/mOut/vOut, with the
   * scalars β1, 1−β1, β2, 1−β2, √(1−β2ᵗ), eps, stepSize, weightDecay, the clip coefficient
   * and 1/0 for whether to apply it (see addon.cc).
   */
  adamUpdate(
    heap: ArrayBuffer,
    p: number,
    g: number,
    m: number,
    v: number,
    pOut: number,
    mOut: number,
    vOut: number,
    len: number,
    ...scalars: Numbers<10>
  ): void;
  /** out = s − c·(s − p) over `len` float32 elements (one EMA step with c = 1 − decay). */
  emaUpdate(heap: ArrayBuffer, s: number, p: number, out: number, len: number, c: number): void;
  /** Sets oneDNN's (OpenMP) thread count. */
  setThreads(n: number): void;
  getThreads(): number;
  /** oneDNN's version, e.g. "2.6.3". */
  version(): string;
}

/** A tuple of `N` numbers (the addon's positional integer and float arguments). */
export type Numbers<N extends number, T extends number[] = []> = T['length'] extends N
  ? T
  : Numbers<N, [...T, number]>;

/** d0..d3, then a's strides sa0..sa3, then b's strides sb0..sb3 (elements; 0 = broadcast). */
export type BroadcastPlan = Numbers<12>;

/** d0..d3, then keep flags k0..k3 (1 = kept, 0 = reduced). */
export type ReductionPlan = Numbers<8>;

/**
 * n, h, w, ci, ho, wo, co, kh, kw, strideH, strideW, dilationH, dilationW, padTop, padLeft,
 * padBottom, padRight.
 */
export type ConvShapeArgs = Numbers<17>;

/** Where the install script writes the addon. */
export const addonPath = fileURLToPath(new URL('../build/scorekit_native.node', import.meta.url));

/** The addon, or why it is unavailable (not built: no libdnnl-dev at install time; or it fails to load). */
export type AddonStatus =
  | { readonly available: true; readonly addon: NativeAddon }
  | { readonly available: false; readonly reason: string };

let cached: AddonStatus | undefined;

/**
 * Loads the compiled addon once. Never throws: a missing or broken addon is reported as
 * `{ available: false, reason }` naming the file and how to build it.
 *
 * @example
 * ```ts
 * const s = loadAddon();
 * if (s.available) console.log(s.addon.version());
 * ```
 */
export function loadAddon(): AddonStatus {
  if (cached) return cached;
  if (process.env.SCOREKIT_NATIVE === '0')
    cached = { available: false, reason: 'disabled by SCOREKIT_NATIVE=0' };
  else if (!existsSync(addonPath))
    cached = {
      available: false,
      reason: `${addonPath} not built (apt-get install -y libdnnl-dev g++, then npm run build:addon -w @scorekit/native)`,
    };
  else
    try {
      // oneDNN runs on OpenMP; libgomp's default is to spin after each parallel region, which on
      // a shared machine steals the core the JS thread (and everyone else) needs. Read by libgomp
      // when the addon loads it, so set before the require.
      process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
      const addon = createRequire(import.meta.url)(addonPath) as NativeAddon;
      cached = { available: true, addon };
    } catch (e) {
      cached = {
        available: false,
        reason: `${addonPath} failed to load: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`,
      };
    }
  return cached;
}
