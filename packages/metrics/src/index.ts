/**
 * @scorekit/metrics — sample-quality and score-accuracy metrics for conditional score-based
 * models (Chao et al. 2022, §5): FID / Fréchet distances on pluggable feature extractors
 * (Heusel et al. 2017), Inception score (Salimans et al. 2016), precision, recall, density
 * and coverage (Kynkäänniemi et al. 2019; Naeem et al. 2020), class-wise variants, CAS
 * (Ravuri & Vinyals 2019) and the toy experiment's score-error distances D_P and D_L.
 * Statistics stream batch by batch in float64 on the host. Browser-safe: loading feature
 * networks from files (`fileSystemLoader`, `loadGraphModelExtractor`, …) is in
 * `@scorekit/metrics/node`.
 */
export * from './cas.js';
export * from './classwise.js';
export * from './eigen.js';
export * from './extract.js';
export * from './extractor.js';
export * from './featureSet.js';
export * from './frechet.js';
export * from './inceptionScore.js';
export * from './moments.js';
export * from './prdc.js';
export * from './scoreError.js';
export * from './stream.js';
