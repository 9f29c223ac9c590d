/**
 * Minimal SVG figures (viewable in any browser, no extra software): scatter plots, vector
 * fields (quiver) and line plots, laid out as a grid of panels.
 */

/** A rectangle of data coordinates. */
export interface Extent {
  readonly xMin: number;
  readonly xMax: number;
  readonly yMin: number;
  readonly yMax: number;
}

/** Points of one series. */
export interface Series {
  readonly label: string;
  readonly color: string;
  readonly xs: ArrayLike<number>;
  readonly ys: ArrayLike<number>;
}

/** A vector field: arrows (u, v) at (x, y). */
export interface Field {
  readonly label: string;
  readonly color: string;
  readonly x: ArrayLike<number>;
  readonly y: ArrayLike<number>;
  readonly u: ArrayLike<number>;
  readonly v: ArrayLike<number>;
}

/** One panel of a figure. */
export type Panel =
  | {
      readonly kind: 'scatter';
      readonly title: string;
      readonly extent: Extent;
      readonly series: readonly Series[];
    }
  | {
      readonly kind: 'quiver';
      readonly title: string;
      readonly extent: Extent;
      readonly fields: readonly Field[];
      /** Arrow length for the largest vector, as a fraction of the panel's width. */
      readonly arrowScale?: number;
    }
  | {
      readonly kind: 'lines';
      readonly title: string;
      readonly xLabel: string;
      readonly yLabel: string;
      readonly series: readonly Series[];
      readonly logY?: boolean;
    };

const W = 320;
const H = 240;
const M = { l: 46, r: 10, t: 24, b: 30 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number) =>
  Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0)
    ? v.toExponential(1)
    : String(Number(v.toPrecision(3)));

function axes(extent: Extent, xLabel = '', yLabel = '') {
  const sx = (x: number) =>
    M.l + ((x - extent.xMin) / (extent.xMax - extent.xMin)) * (W - M.l - M.r);
  const sy = (y: number) =>
    H - M.b - ((y - extent.yMin) / (extent.yMax - extent.yMin)) * (H - M.t - M.b);
  const parts: string[] = [
    `<rect x="${M.l}" y="${M.t}" width="${W - M.l - M.r}" height="${H - M.t - M.b}" fill="white" stroke="#999"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const x = extent.xMin + ((extent.xMax - extent.xMin) * i) / 4;
    const y = extent.yMin + ((extent.yMax - extent.yMin) * i) / 4;
    parts.push(
      `<text x="${sx(x).toFixed(1)}" y="${H - M.b + 12}" font-size="9" text-anchor="middle">${fmt(x)}</text>`,
    );
    parts.push(
      `<text x="${M.l - 3}" y="${(sy(y) + 3).toFixed(1)}" font-size="9" text-anchor="end">${fmt(y)}</text>`,
    );
  }
  if (xLabel)
    parts.push(
      `<text x="${(W + M.l) / 2}" y="${H - 4}" font-size="10" text-anchor="middle">${esc(xLabel)}</text>`,
    );
  if (yLabel)
    parts.push(
      `<text x="10" y="${H / 2}" font-size="10" text-anchor="middle" transform="rotate(-90 10 ${H / 2})">${esc(yLabel)}</text>`,
    );
  return { sx, sy, parts };
}

function legend(series: readonly { label: string; color: string }[]): string[] {
  return series.map(
    (s, i) =>
      `<rect x="${M.l + 6}" y="${M.t + 6 + i * 12}" width="8" height="8" fill="${s.color}"/><text x="${M.l + 18}" y="${M.t + 13 + i * 12}" font-size="9">${esc(s.label)}</text>`,
  );
}

function panelSvg(p: Panel): string {
  const title = `<text x="${W / 2}" y="15" font-size="11" font-weight="bold" text-anchor="middle">${esc(p.title)}</text>`;
  switch (p.kind) {
    case 'scatter': {
      const { sx, sy, parts } = axes(p.extent);
      for (const s of p.series) {
        for (let i = 0; i < s.xs.length; i++) {
          const x = s.xs[i]!;
          const y = s.ys[i]!;
          if (x < p.extent.xMin || x > p.extent.xMax || y < p.extent.yMin || y > p.extent.yMax)
            continue;
          parts.push(
            `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="1.2" fill="${s.color}" fill-opacity="0.5"/>`,
          );
        }
      }
      return [title, ...parts, ...legend(p.series)].join('');
    }
    case 'quiver': {
      const { sx, sy, parts } = axes(p.extent);
      let maxNorm = 1e-12;
      for (const f of p.fields)
        for (let i = 0; i < f.u.length; i++)
          maxNorm = Math.max(maxNorm, Math.hypot(f.u[i]!, f.v[i]!));
      const pxPerUnit = ((p.arrowScale ?? 0.06) * (W - M.l - M.r)) / maxNorm;
      for (const f of p.fields) {
        for (let i = 0; i < f.x.length; i++) {
          const x0 = sx(f.x[i]!);
          const y0 = sy(f.y[i]!);
          const x1 = x0 + f.u[i]! * pxPerUnit;
          const y1 = y0 - f.v[i]! * pxPerUnit;
          parts.push(
            `<line x1="${x0.toFixed(1)}" y1="${y0.toFixed(1)}" x2="${x1.toFixed(1)}" y2="${y1.toFixed(1)}" stroke="${f.color}" stroke-width="0.8"/>`,
          );
          parts.push(
            `<circle cx="${x1.toFixed(1)}" cy="${y1.toFixed(1)}" r="0.9" fill="${f.color}"/>`,
          );
        }
      }
      return [title, ...parts, ...legend(p.fields)].join('');
    }
    case 'lines': {
      const tr = (v: number) => (p.logY ? Math.log10(Math.max(v, 1e-12)) : v);
      let xMin = Infinity;
      let xMax = -Infinity;
      let yMin = Infinity;
      let yMax = -Infinity;
      for (const s of p.series) {
        for (let i = 0; i < s.xs.length; i++) {
          xMin = Math.min(xMin, s.xs[i]!);
          xMax = Math.max(xMax, s.xs[i]!);
          yMin = Math.min(yMin, tr(s.ys[i]!));
          yMax = Math.max(yMax, tr(s.ys[i]!));
        }
      }
      if (!(xMax > xMin)) xMax = xMin + 1;
      if (!(yMax > yMin)) yMax = yMin + 1;
      const extent = { xMin, xMax, yMin, yMax };
      const { sx, sy, parts } = axes(extent, p.xLabel, p.logY ? `log10 ${p.yLabel}` : p.yLabel);
      for (const s of p.series) {
        const pts = Array.from(
          { length: s.xs.length },
          (_, i) => `${sx(s.xs[i]!).toFixed(1)},${sy(tr(s.ys[i]!)).toFixed(1)}`,
        );
        parts.push(
          `<polyline points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="1.5"/>`,
        );
      }
      return [title, ...parts, ...legend(p.series)].join('');
    }
    default: {
      const never: never = p;
      throw new Error(`unknown panel ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Lays panels out in a grid of `columns` and returns a standalone SVG document.
 *
 * @example
 * ```ts
 * writeFileSync('fig.svg', figure([{ kind: 'scatter', title: 'samples', extent, series }]));
 * ```
 */
export function figure(panels: readonly Panel[], columns = 3, caption = ''): string {
  const rows = Math.ceil(panels.length / columns);
  const capH = caption ? 18 : 0;
  const width = W * Math.min(columns, panels.length);
  const height = H * rows + capH;
  const body = panels
    .map(
      (p, i) =>
        `<g transform="translate(${(i % columns) * W},${Math.floor(i / columns) * H + capH})">${panelSvg(p)}</g>`,
    )
    .join('\n');
  const cap = caption ? `<text x="6" y="13" font-size="11">${esc(caption)}</text>` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="#f8f8f8"/>${cap}\n${body}\n</svg>\n`;
}
