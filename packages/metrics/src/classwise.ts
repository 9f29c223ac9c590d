import { shapeError } from '@scorekit/core';
import { metricLabel } from './extractor.js';
import type { FeatureSet } from './featureSet.js';
import { frechetDistance } from './frechet.js';
import type { GaussianStats } from './moments.js';
import { type PrdcOptions, type PrdcResult, prdc } from './prdc.js';

/** A metric's value for one class. */
export interface ClassValue<R> {
  readonly label: number;
  readonly value: R;
}

/** A class-wise metric: the mean over classes and the per-class table. */
export interface ClasswiseResult<R> {
  readonly mean: R;
  readonly perClass: ReadonlyArray<ClassValue<R>>;
}

/** A metric value: a number, or a record (object) whose numeric fields are averaged. */
export type MetricValue = number | object;

/**
 * A class-wise ("CW") metric (Chao et al. 2022, §5.2 and Table 2): `metric` is computed per
 * class c between that class's real data and the samples generated for c, then averaged over
 * classes. For record results every numeric field is averaged and every other field (names,
 * extractor) must agree across classes and is copied. Both maps must hold the same classes.
 *
 * @example
 * ```ts
 * const cw = classwise((r, f) => prdc(r, f, { k: 3 }), realByClass, fakeByClass);
 * cw.mean.precision; // the CW-precision; cw.perClass[c].value for class c
 * ```
 */
export function classwise<A, B, R extends MetricValue>(
  metric: (real: A, fake: B, label: number) => R,
  real: ReadonlyMap<number, A>,
  fake: ReadonlyMap<number, B>,
): ClasswiseResult<R> {
  const labels = [...real.keys()].sort((p, q) => p - q);
  const fakeLabels = [...fake.keys()].sort((p, q) => p - q);
  if (labels.length === 0) shapeError('classwise: classes', 'at least one class', 'none');
  if (labels.join() !== fakeLabels.join()) {
    shapeError('classwise: classes', `the real classes [${labels}]`, `[${fakeLabels}]`);
  }
  const perClass = labels.map((label) => ({
    label,
    value: metric(real.get(label)!, fake.get(label)!, label),
  }));
  return { mean: meanOf(perClass.map((c) => c.value)), perClass };
}

function meanOf<R extends MetricValue>(values: readonly R[]): R {
  const first = values[0]!;
  if (typeof first === 'number') {
    return ((values as readonly number[]).reduce((a, b) => a + b, 0) / values.length) as R;
  }
  const out: Record<string, unknown> = {};
  for (const [key, v0] of Object.entries(first as object)) {
    const column = values.map((v) => (v as Record<string, unknown>)[key]);
    if (typeof v0 === 'number') {
      out[key] = (column as number[]).reduce((a, b) => a + b, 0) / values.length;
    } else {
      const differs = column.find((v) => v !== v0);
      if (differs !== undefined) {
        shapeError(`classwise: field '${key}'`, `the same in every class (${v0})`, `${differs}`);
      }
      out[key] = v0;
    }
  }
  return out as R;
}

/** The class-wise Fréchet distance with its label ("CW-FID" or "CW-FD_<extractor>"). */
export interface ClasswiseFrechetResult {
  readonly name: string;
  readonly extractor: string;
  readonly value: number;
  readonly perClass: ReadonlyArray<ClassValue<number>>;
}

/**
 * CW-FID (Chao et al. 2022, Table 2): the Fréchet distance between each class's real and
 * generated feature Gaussians (Heusel et al. 2017), averaged over classes.
 *
 * @example
 * ```ts
 * classwiseFid(realStatsByClass, fakeStatsByClass); // { name: 'CW-FID', value, perClass }
 * ```
 */
export function classwiseFid(
  real: ReadonlyMap<number, GaussianStats>,
  fake: ReadonlyMap<number, GaussianStats>,
): ClasswiseFrechetResult {
  const extractor = [...real.values()][0]?.extractor ?? '';
  const cw = classwise(
    (r, f, label) => {
      if (r.extractor !== extractor || f.extractor !== extractor) {
        shapeError(`classwiseFid: class ${label} extractor`, `'${extractor}'`, f.extractor);
      }
      return frechetDistance(r, f);
    },
    real,
    fake,
  );
  return {
    name: `CW-${metricLabel('FID', extractor)}`,
    extractor,
    value: cw.mean,
    perClass: cw.perClass,
  };
}

/**
 * CW precision, recall, density and coverage (Chao et al. 2022, Table 2; Naeem et al. 2020)
 * of each class's samples against that class's real features, averaged over classes.
 *
 * @example
 * ```ts
 * classwisePrdc(realByClass, fakeByClass, { k: 3 }).mean.coverage;
 * ```
 */
export function classwisePrdc(
  real: ReadonlyMap<number, FeatureSet>,
  fake: ReadonlyMap<number, FeatureSet>,
  options: PrdcOptions = {},
): ClasswiseResult<PrdcResult> {
  return classwise((r, f) => prdc(r, f, options), real, fake);
}
