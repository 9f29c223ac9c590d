import { type } from 'arktype';
import * as E from 'fp-ts/lib/Either.js';
import { type ScorekitError, ScorekitException } from './errors.js';

/** Any arktype schema: callable on unknown input, with an inferred output type. */
export interface ConfigSchema {
  (input: unknown): unknown;
  readonly infer: unknown;
}

/**
 * Validates plain JSON `input` against an arktype schema (applying its defaults) and returns
 * the resolved config or a `ConfigError` whose message names `what`, the field, the expected
 * and the actual value.
 *
 * @example
 * ```ts
 * decodeConfig(veSdeConfig, { kind: 've', sigmaMin: 60 }, 'sde');
 * // Left: "sde: sigmaMin must be less than sigmaMax (50) (was 60)"
 * ```
 */
export function decodeConfig<S extends ConfigSchema>(
  schema: S,
  input: unknown,
  what: string,
): E.Either<ScorekitError, S['infer']> {
  const out = schema(input);
  if (out instanceof type.errors) {
    const first = out[0];
    return E.left({
      _tag: 'ConfigError',
      message: `${what}: ${out.summary}`,
      path: first ? first.path.join('.') : '',
    });
  }
  return E.right(out as S['infer']);
}

/**
 * Like {@link decodeConfig} but throws a {@link ScorekitException} on invalid input; for
 * constructors such as `veSde(config)` whose configs are usually literals in code.
 */
export function parseConfig<S extends ConfigSchema>(
  schema: S,
  input: unknown,
  what: string,
): S['infer'] {
  const decoded = decodeConfig(schema, input, what);
  if (E.isLeft(decoded)) throw new ScorekitException(decoded.left);
  return decoded.right;
}
