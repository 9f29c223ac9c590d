import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errorMessage, type ScorekitError, ScorekitException } from '@scorekit/core';
import * as tf from '@tensorflow/tfjs-core';

const fail = (error: ScorekitError): never => {
  throw new ScorekitException(error);
};

async function readOrFail(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (cause) {
    return fail({ _tag: 'IoError', file, message: `cannot read ${file}: ${errorMessage(cause)}` });
  }
}

/**
 * A tfjs load handler that reads a model saved in the tfjs format from the local file
 * system: `model.json` plus the weight shards its `weightsManifest` names (paths relative to
 * the JSON file), as written by `tensorflowjs_converter` or by {@link fileSystemSaver}.
 * tfjs-core alone has no Node file loader and nothing here may be downloaded. Failures throw
 * a `ScorekitException` carrying an `IoError` / `FormatError` that names the file.
 *
 * @example
 * ```ts
 * const model = await loadGraphModel(fileSystemLoader('/models/inception/model.json'));
 * ```
 */
export function fileSystemLoader(modelJsonPath: string): tf.io.IOHandler {
  return {
    load: async () => {
      const text = (await readOrFail(modelJsonPath)).toString('utf8');
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(text) as tf.io.ModelJSON;
      } catch (cause) {
        return fail({
          _tag: 'FormatError',
          file: modelJsonPath,
          message: `${modelJsonPath} is not valid JSON: ${errorMessage(cause)}`,
        });
      }
      if (typeof json !== 'object' || json === null || json.modelTopology === undefined) {
        return fail({
          _tag: 'FormatError',
          file: modelJsonPath,
          field: 'modelTopology',
          message: `${modelJsonPath}: expected a tfjs model.json with a modelTopology, got none`,
        });
      }
      const dir = dirname(modelJsonPath);
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          for (const path of group.paths) {
            const bytes = await readOrFail(join(dir, path));
            buffers.push(new Uint8Array(bytes).buffer); // a copy that owns its ArrayBuffer
          }
          specs.push(...group.weights);
        }
        return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
      });
    },
  };
}

/**
 * A tfjs save handler that writes `model.json` and one weight file (`weights.bin`) into
 * `dir` (created if missing): the counterpart of {@link fileSystemLoader}, for saving a
 * locally built feature network.
 *
 * @example
 * ```ts
 * await layersModel.save(fileSystemSaver('/tmp/extractor'));
 * ```
 */
export function fileSystemSaver(dir: string, weightsFile = 'weights.bin'): tf.io.IOHandler {
  return {
    save: async (artifacts) => {
      await mkdir(dir, { recursive: true });
      const weights = artifacts.weightData
        ? tf.io.CompositeArrayBuffer.join(artifacts.weightData)
        : new ArrayBuffer(0);
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology ?? {},
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.signature ? { signature: artifacts.signature } : {}),
        ...(artifacts.userDefinedMetadata
          ? { userDefinedMetadata: artifacts.userDefinedMetadata }
          : {}),
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
      };
      await writeFile(join(dir, weightsFile), new Uint8Array(weights));
      await writeFile(join(dir, 'model.json'), JSON.stringify(modelJson));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: JSON.stringify(modelJson.modelTopology).length,
          weightSpecsBytes: JSON.stringify(modelJson.weightsManifest).length,
          weightDataBytes: weights.byteLength,
        },
      };
    },
  };
}
