import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { type ScorekitError, ScorekitException } from './errors.js';

/**
 * Runs a `TaskEither<ScorekitError, A>` (the result of every scorekit effect: readers,
 * checkpoints, `fit`) and returns its value, throwing a {@link ScorekitException} on `Left`.
 * For applications and tests that prefer `await` and exceptions to fp-ts pipelines.
 *
 * @example
 * ```ts
 * const source = await unwrap(cifar10('data/cifar-10-batches-bin', { split: 'test' }));
 * ```
 */
export async function unwrap<A>(task: TE.TaskEither<ScorekitError, A>): Promise<A> {
  const result = await task();
  if (E.isLeft(result)) throw new ScorekitException(result.left);
  return result.right;
}
