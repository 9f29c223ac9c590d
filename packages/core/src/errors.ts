/**
 * Errors that scorekit returns from effectful edges (file readers, checkpoints, configs).
 *
 * A closed, tagged union: callers `switch` on `_tag` exhaustively. Each carries a readable
 * `message` that names the offending file, field or tensor, what was expected and what was
 * found. Numeric code throws {@link ScorekitException} (wrapping one of these) only on
 * programmer error such as a shape mismatch.
 */
export type ScorekitError =
  | { readonly _tag: 'ConfigError'; readonly message: string; readonly path: string }
  | { readonly _tag: 'IoError'; readonly message: string; readonly file: string }
  | {
      readonly _tag: 'FormatError';
      readonly message: string;
      readonly file: string;
      readonly field?: string;
    }
  | {
      readonly _tag: 'CheckpointError';
      readonly message: string;
      readonly file: string;
      readonly tensor?: string;
    }
  | { readonly _tag: 'ShapeError'; readonly message: string }
  | { readonly _tag: 'NumericError'; readonly message: string; readonly step?: number };

/** The tag of a {@link ScorekitError}. */
export type ScorekitErrorTag = ScorekitError['_tag'];

/**
 * An `Error` carrying a {@link ScorekitError}, for synchronous code that must throw.
 *
 * @example
 * ```ts
 * throw new ScorekitException({ _tag: 'ShapeError', message: 'labels: expected 8, got 4' });
 * ```
 */
export class ScorekitException extends Error {
  readonly error: ScorekitError;
  constructor(error: ScorekitError) {
    super(error.message);
    this.name = `Scorekit${error._tag}`;
    this.error = error;
  }
}

/**
 * Throws a `ShapeError` naming `what` with the expected and actual values.
 *
 * @example
 * ```ts
 * shapeError('labels', 'a batch of 8', 'a batch of 4'); // throws
 * ```
 */
export function shapeError(what: string, expected: string, actual: string): never {
  throw new ScorekitException({
    _tag: 'ShapeError',
    message: `${what}: expected ${expected}, got ${actual}`,
  });
}

/** Turns any thrown value into a readable message (for `TaskEither.tryCatch`). */
export function errorMessage(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
