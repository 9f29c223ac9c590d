/// <reference lib="dom" />
import type { CurvePoint } from './session.js';

/** The world window of every 2-D panel: the paper's evaluation box [−40, 40] × [−25, 25]. */
const X0 = -40;
const X1 = 40;
const Y0 = -25;
const Y1 = 25;

/** Class colours (upper moon, lower moon) and the two classifiers' colours. */
export const colours = {
  classes: ['#1f77b4', '#d62728'],
  oracle: '#222222',
  crossEntropy: '#ff7f0e',
  total: '#2ca02c',
} as const;

function context(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error(`canvas #${canvas.id}: no 2-D context`);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  return ctx;
}

/** World → pixel transform of a panel. */
function view(canvas: HTMLCanvasElement) {
  const sx = canvas.width / (X1 - X0);
  const sy = canvas.height / (Y1 - Y0);
  return {
    x: (x: number) => (x - X0) * sx,
    y: (y: number) => canvas.height - (y - Y0) * sy,
    scale: Math.min(sx, sy),
  };
}

function title(ctx: CanvasRenderingContext2D, text: string): void {
  ctx.fillStyle = '#000000';
  ctx.font = '12px sans-serif';
  ctx.fillText(text, 6, 14);
}

/** Draws points [n, 2], coloured by class when labels are given, else in `colour`. */
function points(
  ctx: CanvasRenderingContext2D,
  v: ReturnType<typeof view>,
  xy: Float32Array,
  labels: Int32Array | null,
  colour: string,
  opacity: number,
  stride = 1,
): void {
  ctx.globalAlpha = opacity;
  for (let i = 0; i < xy.length / 2; i += stride) {
    ctx.fillStyle = labels ? colours.classes[labels[i]!]! : colour;
    ctx.fillRect(v.x(xy[2 * i]!) - 1, v.y(xy[2 * i + 1]!) - 1, 2.5, 2.5);
  }
  ctx.globalAlpha = 1;
}

/** The two-moons training points, coloured by class. */
export function drawData(canvas: HTMLCanvasElement, xy: Float32Array, labels: Int32Array): void {
  const ctx = context(canvas);
  const v = view(canvas);
  points(ctx, v, xy, labels, '', 0.6, Math.max(1, Math.floor(xy.length / 2 / 4000)));
  title(ctx, `data: ${xy.length / 2} points (upper = class 0, lower = class 1)`);
}

/**
 * A likelihood field as arrows over the faint data: every arrow is scaled by the same
 * `unit` (world length per unit of score), so panels drawn with one unit compare in length.
 */
export function drawField(
  canvas: HTMLCanvasElement,
  label: string,
  grid: Float32Array,
  field: Float32Array | null,
  unit: number,
  colour: string,
  data: { xy: Float32Array; labels: Int32Array },
): void {
  const ctx = context(canvas);
  const v = view(canvas);
  points(ctx, v, data.xy, data.labels, '', 0.12, Math.max(1, Math.floor(data.xy.length / 4000)));
  if (field) {
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.lineWidth = 1.2;
    for (let i = 0; i < grid.length / 2; i++) {
      const x0 = v.x(grid[2 * i]!);
      const y0 = v.y(grid[2 * i + 1]!);
      const dx = field[2 * i]! * unit * v.scale;
      const dy = -field[2 * i + 1]! * unit * v.scale;
      const len = Math.hypot(dx, dy);
      ctx.beginPath();
      ctx.moveTo(x0, y0);
      ctx.lineTo(x0 + dx, y0 + dy);
      ctx.stroke();
      if (len > 3) {
        const a = Math.atan2(dy, dx);
        ctx.beginPath();
        ctx.moveTo(x0 + dx, y0 + dy);
        ctx.lineTo(x0 + dx - 4 * Math.cos(a - 0.5), y0 + dy - 4 * Math.sin(a - 0.5));
        ctx.lineTo(x0 + dx - 4 * Math.cos(a + 0.5), y0 + dy - 4 * Math.sin(a + 0.5));
        ctx.fill();
      } else {
        ctx.fillRect(x0 - 1, y0 - 1, 2, 2);
      }
    }
  }
  title(ctx, field ? label : `${label}: waiting for training`);
}

/** Guided samples of one class over that class's faint points. */
export function drawSamples(
  canvas: HTMLCanvasElement,
  label: string,
  samples: Float32Array | null,
  colour: string,
  data: { xy: Float32Array; labels: Int32Array },
): void {
  const ctx = context(canvas);
  const v = view(canvas);
  points(ctx, v, data.xy, data.labels, '', 0.12, Math.max(1, Math.floor(data.xy.length / 4000)));
  if (samples) points(ctx, v, samples, null, colour, 0.9);
  title(ctx, samples ? label : `${label}: after training`);
}

/** D_L over classifier steps for both classifiers (Chao et al. 2022, Fig. 5). */
export function drawCurves(
  canvas: HTMLCanvasElement,
  curves: Record<'crossEntropy' | 'total', readonly CurvePoint[]>,
  totalSteps: number,
  sigma: number,
): void {
  const ctx = context(canvas);
  const left = 46;
  const bottom = canvas.height - 24;
  const top = 22;
  const right = canvas.width - 10;
  const all = [...curves.crossEntropy, ...curves.total];
  const yMax = Math.max(1e-6, ...all.map((p) => p.dL)) * 1.05;
  const px = (s: number) => left + ((right - left) * s) / Math.max(1, totalSteps);
  const py = (d: number) => bottom - ((bottom - top) * d) / yMax;
  ctx.strokeStyle = '#888888';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(left, top);
  ctx.lineTo(left, bottom);
  ctx.lineTo(right, bottom);
  ctx.stroke();
  ctx.fillStyle = '#444444';
  ctx.font = '11px sans-serif';
  for (let k = 0; k <= 4; k++) {
    const d = (yMax * k) / 4;
    ctx.fillText(d.toPrecision(2), 4, py(d) + 4);
  }
  ctx.fillText('0', left - 3, bottom + 14);
  ctx.fillText(`${totalSteps} classifier steps`, right - 110, bottom + 14);
  for (const [name, colour] of [
    ['crossEntropy', colours.crossEntropy],
    ['total', colours.total],
  ] as const) {
    const c = curves[name];
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    c.forEach((p, i) =>
      i === 0 ? ctx.moveTo(px(p.step), py(p.dL)) : ctx.lineTo(px(p.step), py(p.dL)),
    );
    ctx.stroke();
  }
  ctx.font = '12px sans-serif';
  ctx.fillStyle = '#000000';
  ctx.fillText(`D_L at σ = ${sigma} (α = 1):`, left + 6, 14);
  ctx.fillStyle = colours.crossEntropy;
  ctx.fillText('CE', left + 150, 14);
  ctx.fillStyle = colours.total;
  ctx.fillText('DLSM + λ·CE', left + 180, 14);
}
