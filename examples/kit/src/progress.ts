/**
 * Terminal progress bars with rate and time left, for the examples' long stages. On a TTY the
 * bar redraws in place; otherwise (CI logs) it prints a line every ~10 % of the work.
 */
export interface Progress {
  /** Advance to `done` of `total`; `info` is appended (e.g. the current loss). */
  update(done: number, info?: string): void;
  /** Finish the bar and print the stage's wall time. */
  finish(info?: string): void;
}

const formatSeconds = (s: number): string => {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
};

/**
 * Starts a progress bar for a stage of `total` units (`unit`: "step", "sample", …) writing to
 * `stream` (stderr by default). `quiet` turns it off.
 *
 * @example
 * ```ts
 * const bar = progressBar('score model', 2000, 'step');
 * bar.update(100, 'loss 0.52'); … bar.finish();
 * ```
 */
export function progressBar(
  label: string,
  total: number,
  unit = 'step',
  options: { quiet?: boolean; stream?: NodeJS.WriteStream } = {},
): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = Boolean(stream.isTTY);
  const start = performance.now();
  let lastPrinted = -1;
  const line = (done: number, info?: string) => {
    const elapsed = (performance.now() - start) / 1000;
    const rate = done / Math.max(elapsed, 1e-9);
    const left = (total - done) / Math.max(rate, 1e-9);
    const width = 24;
    const filled = Math.round((width * done) / Math.max(total, 1));
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    return `${label.padEnd(22)} ${bar} ${done}/${total} ${unit}s  ${rate.toFixed(1)} ${unit}/s  ${formatSeconds(elapsed)} elapsed, ${formatSeconds(left)} left${info ? `  ${info}` : ''}`;
  };
  return {
    update(done, info) {
      if (options.quiet) return;
      if (tty) {
        stream.write(`\r${line(done, info)}\x1b[K`);
      } else {
        const decile = Math.floor((10 * done) / Math.max(total, 1));
        if (decile > lastPrinted) {
          lastPrinted = decile;
          stream.write(`${line(done, info)}\n`);
        }
      }
    },
    finish(info) {
      if (options.quiet) return;
      const text = line(total, info);
      stream.write(tty ? `\r${text}\x1b[K\n` : `${text}\n`);
    },
  };
}
