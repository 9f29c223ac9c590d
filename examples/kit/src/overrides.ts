/**
 * `--set path=value` overrides of a config draft (before arktype validation), shared by the
 * example CLIs. Values are parsed as JSON when they can be (numbers, booleans, arrays), else
 * kept as strings.
 */

/** Keys that would reach an object's prototype instead of a config field. */
const unsafeKeys = new Set(['__proto__', 'constructor', 'prototype']);

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
  const forbidden = keys.find((k) => unsafeKeys.has(k));
  if (forbidden !== undefined)
    throw new Error(`--set ${path}: '${forbidden}' is not a config field`);
  let node: Record<string, unknown> = target;
  for (const k of keys.slice(0, -1)) {
    const next = Object.hasOwn(node, k) ? node[k] : undefined;
    if (typeof next !== 'object' || next === null)
      throw new Error(`--set ${path}: no config section '${k}'`);
    node = next as Record<string, unknown>;
  }
  const last = keys[keys.length - 1]!;
  if (!Object.hasOwn(node, last)) throw new Error(`--set ${path}: unknown field '${last}'`);
  node[last] = value;
}

/**
 * Throws if `value` (a parsed JSON value) holds a number that is not finite (`1e999` parses to
 * Infinity) or a key that reaches a prototype (`__proto__`, `constructor`, `prototype`), naming
 * where (`what`). Returns `value`.
 *
 * @example
 * ```ts
 * checkJsonValue(JSON.parse('{"lr": 1e999}'), 'config.json'); // throws: config.json.lr: …
 * ```
 */
export function checkJsonValue<A>(value: A, what: string): A {
  const walk = (v: unknown, at: string): void => {
    if (typeof v === 'number' && !Number.isFinite(v))
      throw new Error(`${at}: expected a finite number, got ${v}`);
    if (typeof v !== 'object' || v === null) return;
    for (const [k, child] of Object.entries(v)) {
      if (unsafeKeys.has(k)) throw new Error(`${at}: the key '${k}' is not allowed`);
      walk(child, Array.isArray(v) ? `${at}[${k}]` : `${at}.${k}`);
    }
  };
  walk(value, what);
  return value;
}

/**
 * Parses a command-line value: JSON when possible (`3`, `true`, `[1,2]`), else the string.
 * Numbers that are not finite (`1e999`) are refused, not passed on as Infinity.
 *
 * @example
 * ```ts
 * parseValue('[1,2]'); // [1, 2]
 * ```
 */
export function parseValue(raw: string, what = 'value'): unknown {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return raw;
  }
  return checkJsonValue(v, `${what} ${raw}`);
}

/** Applies one `path=value` override string; the error names the malformed argument. */
export function applyOverride(target: Record<string, unknown>, assignment: string): string {
  const eq = assignment.indexOf('=');
  if (eq < 0) throw new Error(`--set: expected path=value, got ${assignment}`);
  const path = assignment.slice(0, eq);
  setPath(target, path, parseValue(assignment.slice(eq + 1), `--set ${path}:`));
  return path;
}
