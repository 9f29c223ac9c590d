/**
 * `--set path=value` overrides of a config draft (before arktype validation), shared by the
 * example CLIs. Values are parsed as JSON when they can be (numbers, booleans, arrays), else
 * kept as strings.
 */

/**
 * Sets `target[path]` for a dotted path of existing fields; an unknown section or field is an
 * error naming it.
 *
 * @example
 * ```ts
 * setPath(draft, 'score.steps', 500);
 * ```
 */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node: Record<string, unknown> = target;
  for (const k of keys.slice(0, -1)) {
    const next = node[k];
    if (typeof next !== 'object' || next === null)
      throw new Error(`--set ${path}: no config section '${k}'`);
    node = next as Record<string, unknown>;
  }
  const last = keys[keys.length - 1]!;
  if (!(last in node)) throw new Error(`--set ${path}: unknown field '${last}'`);
  node[last] = value;
}

/** Parses a command-line value: JSON when possible (`3`, `true`, `[1,2]`), else the string. */
export function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Applies one `path=value` override string; the error names the malformed argument. */
export function applyOverride(target: Record<string, unknown>, assignment: string): string {
  const eq = assignment.indexOf('=');
  if (eq < 0) throw new Error(`--set: expected path=value, got ${assignment}`);
  const path = assignment.slice(0, eq);
  setPath(target, path, parseValue(assignment.slice(eq + 1)));
  return path;
}
