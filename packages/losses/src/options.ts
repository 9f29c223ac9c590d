import { ScorekitException } from '@scorekit/core';

/**
 * Throws a `ConfigError` unless `value` is a function: the code-only parts of a loss's
 * options (score, logits, SDE) cannot be checked by the JSON schema.
 *
 * @example
 * ```ts
 * requireFunction(options.score, 'dsm', 'score', 'a ParametricFn (params, x, t) → score');
 * ```
 */
export function requireFunction(value: unknown, what: string, field: string, expected: string) {
  if (typeof value !== 'function')
    throw new ScorekitException({
      _tag: 'ConfigError',
      message: `${what}: ${field} must be ${expected} (was ${value === undefined ? 'missing' : typeof value})`,
      path: field,
    });
}

/**
 * Throws a `ConfigError` unless `sde` looks like a core `Sde` (build one with `veSde`,
 * `vpSde`, `subVpSde` or `makeSde`), optionally of one kind.
 *
 * @example
 * ```ts
 * requireSde(options.sde, 'smld', 've');
 * ```
 */
export function requireSde(sde: unknown, what: string, kind?: string): void {
  const s = sde as { kind?: unknown; marginal?: unknown } | undefined;
  if (typeof s !== 'object' || s === null || typeof s.marginal !== 'function')
    throw new ScorekitException({
      _tag: 'ConfigError',
      message: `${what}: sde must be an SDE built by veSde / vpSde / subVpSde / makeSde (was ${s === undefined ? 'missing' : typeof s})`,
      path: 'sde',
    });
  if (kind !== undefined && s.kind !== kind)
    throw new ScorekitException({
      _tag: 'ConfigError',
      message: `${what}: sde must be a '${kind}' SDE (was '${String(s.kind)}')`,
      path: 'sde',
    });
}
