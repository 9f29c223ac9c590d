import { decodeConfig, errorMessage, type ScorekitError, ScorekitException } from '@scorekit/core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import * as tf from '@tensorflow/tfjs-core';
import { model as layersModel, loadLayersModel } from '@tensorflow/tfjs-layers';
import { type } from 'arktype';
import { pipe } from 'fp-ts/lib/function.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import type { FeatureExtractor } from './extractor.js';
import { fileSystemLoader } from './fsIo.js';

/**
 * Config of a loaded feature network. `name` is recorded on every result: declare
 * `'inceptionV3Pool3'` only for the reference FID Inception (then the metrics read "FID",
 * "IS"). `featureNode` / `logitsNode` are graph node names (graph models, e.g. 'pool_3' and
 * 'logits') or layer names (layers models). Images in [0, 1] are mapped linearly to
 * `inputRange` (default [−1, 1]) and, when `inputSize` [H, W] is given (or the model declares
 * a fixed input size), resized bilinearly with half-pixel centres (PyTorch's
 * `align_corners=False`, as pytorch-fid); one-channel images are repeated to three when the
 * model takes three.
 */
export const modelExtractorConfig = type({
  name: 'string > 0',
  featureNode: 'string > 0',
  'logitsNode?': 'string > 0',
  'inputNode?': 'string > 0',
  inputRange: type(['number', 'number']).default(() => [-1, 1]),
  'inputSize?': type(['number.integer > 0', 'number.integer > 0']),
});

/** The resolved {@link modelExtractorConfig}. */
export type ModelExtractorConfig = typeof modelExtractorConfig.infer;
/** {@link modelExtractorConfig} as a user writes it, e.g. `{ name: 'inceptionV3Pool3', featureNode: 'pool_3' }`. */
export type ModelExtractorOptions = typeof modelExtractorConfig.inferIn;

/** The static input shape [H, W, C] a model declares (undefined entries are free). */
type InputShape = readonly (number | null | undefined)[];

const size = (n: number | null | undefined) => (n !== undefined && n !== null && n > 0 ? n : null);

/** Maps images in [0, 1] to what the network expects: range, size and channel count. */
function preprocess(
  images: tf.Tensor,
  config: ModelExtractorConfig,
  declared: InputShape,
): tf.Tensor4D {
  return tf.tidy(() => {
    if (images.rank !== 4) {
      throw new ScorekitException({
        _tag: 'ShapeError',
        message: `extractor '${config.name}': expected images [B, H, W, C], got [${images.shape}]`,
      });
    }
    let x = images as tf.Tensor4D;
    const channels = size(declared[3]);
    if (channels === 3 && x.shape[3] === 1) x = tf.tile(x, [1, 1, 1, 3]);
    const [lo, hi] = config.inputRange;
    x = tf.add(tf.mul(x, hi - lo), lo);
    const height = config.inputSize?.[0] ?? size(declared[1]);
    const width = config.inputSize?.[1] ?? size(declared[2]);
    if (height !== null && width !== null && (x.shape[1] !== height || x.shape[2] !== width)) {
      x = tf.image.resizeBilinear(x, [height, width], false, true);
    }
    return x;
  });
}

const flatten = (t: tf.Tensor): tf.Tensor2D =>
  tf.tidy(() => tf.reshape(t, [t.shape[0] ?? 1, -1]) as tf.Tensor2D);

/** Runs the network once on zeros to check the node names, when the input size is known. */
function probe(extractor: FeatureExtractor, declared: InputShape, config: ModelExtractorConfig) {
  const h = config.inputSize?.[0] ?? size(declared[1]);
  const w = config.inputSize?.[1] ?? size(declared[2]);
  const c = size(declared[3]);
  if (h === null || w === null || c === null) return;
  const x = tf.zeros([1, h, w, c]);
  try {
    const out = extractor.featuresAndLogits
      ? extractor.featuresAndLogits(x)
      : { features: extractor.features(x) };
    tf.dispose(Object.values(out));
  } finally {
    x.dispose();
  }
}

const asError =
  (file: string, field?: string) =>
  (cause: unknown): ScorekitError => {
    if (cause instanceof ScorekitException) return cause.error;
    return {
      _tag: 'FormatError',
      file,
      ...(field ? { field } : {}),
      message: `${file}${field ? ` (${field})` : ''}: ${errorMessage(cause)}`,
    };
  };

function decode(
  options: ModelExtractorOptions,
  path: string,
): TE.TaskEither<ScorekitError, ModelExtractorConfig> {
  return TE.fromEither(decodeConfig(modelExtractorConfig, options, `feature extractor (${path})`));
}

/**
 * Loads a tfjs graph model (e.g. the FID Inception-v3 converted with `tensorflowjs_converter`)
 * from `model.json` on the local file system and exposes the nodes `featureNode` (and
 * `logitsNode`) as a {@link FeatureExtractor}; Heusel et al. 2017 use pool-3 (2048-d) features
 * and Salimans et al. 2016 the logits. Node names are checked by a probe run when the input
 * size is known.
 *
 * @example
 * ```ts
 * const extractor = await loadGraphModelExtractor('/models/inception/model.json', {
 *   name: 'inceptionV3Pool3', featureNode: 'pool_3', logitsNode: 'logits',
 *   inputSize: [299, 299], inputRange: [-1, 1],
 * })(); // Either<ScorekitError, FeatureExtractor>
 * ```
 */
export function loadGraphModelExtractor(
  modelJsonPath: string,
  options: ModelExtractorOptions,
): TE.TaskEither<ScorekitError, FeatureExtractor> {
  return pipe(
    decode(options, modelJsonPath),
    TE.chain((config) =>
      pipe(
        TE.tryCatch(() => loadGraphModel(fileSystemLoader(modelJsonPath)), asError(modelJsonPath)),
        TE.chain((graph) =>
          TE.tryCatch(async () => {
            const declared = (graph.inputs[0]?.shape ?? []) as InputShape;
            const inputNode = config.inputNode ?? graph.inputNodes[0];
            if (inputNode === undefined) throw new Error('the graph has no input node');
            const run = (images: tf.Tensor, nodes: string[]): tf.Tensor2D[] =>
              tf.tidy(() => {
                const x = preprocess(images, config, declared);
                const out = graph.execute({ [inputNode]: x }, nodes);
                return (Array.isArray(out) ? out : [out]).map(flatten);
              });
            const extractor = makeExtractor(config, run, () => graph.dispose());
            try {
              probe(extractor, declared, config);
            } catch (cause) {
              graph.dispose();
              throw cause;
            }
            return extractor;
          }, asError(modelJsonPath)),
        ),
      ),
    ),
  );
}

/**
 * Loads a tfjs layers model from `model.json` on the local file system and exposes the
 * outputs of the layers named `featureNode` (and `logitsNode`) as a {@link FeatureExtractor}
 * (inference mode). For a locally trained or converted Keras feature network.
 *
 * @example
 * ```ts
 * const extractor = await loadLayersModelExtractor('/models/net/model.json', {
 *   name: 'myNet', featureNode: 'penultimate', logitsNode: 'logits', inputRange: [0, 1],
 * })();
 * ```
 */
export function loadLayersModelExtractor(
  modelJsonPath: string,
  options: ModelExtractorOptions,
): TE.TaskEither<ScorekitError, FeatureExtractor> {
  return pipe(
    decode(options, modelJsonPath),
    TE.chain((config) =>
      pipe(
        TE.tryCatch(() => loadLayersModel(fileSystemLoader(modelJsonPath)), asError(modelJsonPath)),
        TE.chain((full) =>
          TE.tryCatch(
            async () => {
              const layerOutput = (name: string, field: string) => {
                try {
                  const out = full.getLayer(name).output;
                  return Array.isArray(out) ? out[0]! : out;
                } catch (cause) {
                  full.dispose();
                  throw new ScorekitException({
                    _tag: 'FormatError',
                    file: modelJsonPath,
                    field,
                    message: `${modelJsonPath}: ${field} '${name}' is not a layer of the model (${errorMessage(cause)})`,
                  });
                }
              };
              const outputs = [layerOutput(config.featureNode, 'featureNode')];
              if (config.logitsNode) outputs.push(layerOutput(config.logitsNode, 'logitsNode'));
              const sub = layersModel({ inputs: full.inputs, outputs });
              const declared = (full.inputs[0]?.shape ?? []) as InputShape;
              const run = (images: tf.Tensor, nodes: string[]): tf.Tensor2D[] =>
                tf.tidy(() => {
                  const x = preprocess(images, config, declared);
                  const out = sub.predict(x, { batchSize: x.shape[0] });
                  const all = Array.isArray(out) ? out : [out];
                  // outputs are [features, logits?]; pick the requested ones
                  return nodes.map((n) => flatten(all[n === config.featureNode ? 0 : 1]!));
                });
              // The sub-model shares the loaded layers (tfjs-layers counts references per
              // layer, not per container): disposing the full model frees every weight.
              return makeExtractor(config, run, () => full.dispose());
            },
            asError(modelJsonPath, 'featureNode'),
          ),
        ),
      ),
    ),
  );
}

function makeExtractor(
  config: ModelExtractorConfig,
  run: (images: tf.Tensor, nodes: string[]) => tf.Tensor2D[],
  dispose: () => void,
): FeatureExtractor {
  const { featureNode, logitsNode } = config;
  const extractor: FeatureExtractor = {
    name: config.name,
    features: (images) => run(images, [featureNode])[0]!,
    dispose,
  };
  if (logitsNode === undefined) return extractor;
  return {
    ...extractor,
    logits: (images) => run(images, [logitsNode])[0]!,
    featuresAndLogits: (images) => {
      const [features, logits] = run(images, [featureNode, logitsNode]);
      return { features: features!, logits: logits! };
    },
  };
}
