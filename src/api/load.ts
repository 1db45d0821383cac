/**
 * `loadModel`: a converted resin model (manifest + weights) from a URL, from bytes or from an
 * already decoded model, ready to classify. No file system and no Deno-only APIs: a folder on
 * disk is a `file:` URL (Deno's fetch reads it with `--allow-read`).
 *
 * @module
 */

import { type BackendChoice, createSession } from "../executor/session.ts";
import type { ImageLimits } from "../image/image.ts";
import { decodeModel, type LoadedModel } from "../weights/decode.ts";
import { loadModelFromBytes, loadModelFromUrl } from "../weights/load.ts";
import { type Manifest, MANIFEST_FILE, validateManifest } from "../weights/manifest.ts";
import type { ImagePreprocess } from "../weights/preprocess.ts";
import type { StoragePrecision } from "../ops/op.ts";
import { classCount, type Classifier, createClassifier } from "./classifier.ts";
import { scoreKindOf } from "./output_kind.ts";
import type { ScoreKind } from "./scores.ts";

/** A model's two parts in memory: the manifest (object, JSON text or UTF-8 bytes) and weights. */
export interface ModelBytes {
  /** The manifest: a parsed object, JSON text, or JSON as UTF-8 bytes. */
  manifest: Manifest | string | Uint8Array;
  /** The weights file's bytes. */
  weights: Uint8Array;
}

/**
 * Where {@link loadModel} finds a model:
 * - a URL (string or `URL`, absolute) of a `manifest.json`, or of a model folder when it ends
 *   with `/`; the weights file is fetched beside the manifest;
 * - `[manifestBytes, weightsBytes]`, or `{ manifest, weights }` ({@link ModelBytes});
 * - a model already decoded (`{ manifest, graph }`, e.g. from `loadModelFromDir`).
 */
export type ModelSource =
  | string
  | URL
  | readonly [manifest: Uint8Array | string, weights: Uint8Array]
  | ModelBytes
  | LoadedModel;

/** Options of {@link loadModel}. */
export interface LoadModelOptions {
  /** `"auto"` (default: the GPU when it works and pays off, else the CPU), `"gpu"` or `"cpu"`. */
  backend?: BackendChoice;
  /** Images per model run; default 1. Fixed-batch models take only their batch. */
  batch?: number;
  /** `"f16"`: opt-in reduced precision on the GPU, f16 operand copies (`SessionOptions`). */
  gpuStorage?: StoragePrecision;
  /** Preprocessing recipe to use instead of the manifest's (checked against the model input). */
  preprocess?: ImagePreprocess;
  /** Class names to use instead of the manifest's, one per output class. */
  labels?: readonly string[];
  /**
   * What the first output holds; default: `"probabilities"` when it comes from a Softmax, else
   * `"logits"` (softmax is applied to logits).
   */
  scores?: ScoreKind;
  /** Limits for decoding encoded images (default `DEFAULT_IMAGE_LIMITS`). */
  imageLimits?: Partial<ImageLimits>;
  /** The fetch used for URL sources (default: the global `fetch`). */
  fetch?: typeof fetch;
  /** Largest weights file accepted from a URL, in bytes (default: the format's 4 GiB limit). */
  maxWeightBytes?: number;
}

/**
 * Loads a converted model and prepares it on the chosen backend. Throws a one-line error for
 * an unreachable or malformed model (`ManifestError` for format problems), an unsupported op,
 * a recipe that does not fit the input, or labels that do not fit the output.
 *
 * @example
 * ```ts
 * import { loadModel } from "@resin/resin";
 *
 * const model = await loadModel(new URL("./models/resnet50-v1-12/", import.meta.url), {
 *   backend: "cpu",
 * });
 * const [dog, cat] = await model.classify([dogJpeg, catPng], { top: 3 });
 * console.log(dog.top[0]); // { index: 258, label: "Samoyed", probability: 0.93 }
 * model.dispose();
 * ```
 */
export async function loadModel(
  source: ModelSource,
  options: LoadModelOptions = {},
): Promise<Classifier> {
  const loaded = await decodeSource(source, options);
  const { manifest, graph } = loaded;
  const preprocess = options.preprocess
    ? validateManifest({ ...manifest, preprocess: options.preprocess }).preprocess
    : manifest.preprocess;
  const batch = options.batch ?? 1;
  const labels = options.labels ? [...options.labels] : manifest.labels;
  const output = graph.outputs[0];
  const classes = output && classCount(output);
  if (labels && classes !== undefined && labels.length !== classes) {
    throw new Error(
      `Model "${manifest.name}" has ${classes} classes (output "${output.name}" ` +
        `[${output.shape}]) but ${labels.length} labels`,
    );
  }
  const session = await createSession(loaded, {
    backend: options.backend,
    batch,
    gpuStorage: options.gpuStorage,
  });
  return createClassifier({
    session,
    graph,
    name: manifest.name,
    batch,
    scoreKind: options.scores ?? (output ? scoreKindOf(graph, output.name) : "logits"),
    preprocess,
    labels,
    imageLimits: options.imageLimits,
  });
}

/** The decoded model behind any {@link ModelSource}. */
async function decodeSource(source: ModelSource, options: LoadModelOptions): Promise<LoadedModel> {
  if (typeof source === "string" || source instanceof URL) {
    return await loadModelFromUrl(manifestUrl(source), options);
  }
  if (Array.isArray(source)) return await loadModelFromBytes(source[0], source[1]);
  if ("graph" in source) return source;
  const { manifest, weights } = source as ModelBytes;
  return typeof manifest === "string" || manifest instanceof Uint8Array
    ? await loadModelFromBytes(manifest, weights)
    : await decodeModel(manifest, weights);
}

/** The manifest URL for a manifest or folder URL; a folder URL ends with `/`. */
function manifestUrl(source: string | URL): URL {
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    throw new TypeError(
      `Model URL "${source}" is not an absolute URL; for a folder on disk pass a file: URL, ` +
        `e.g. new URL("./model/", import.meta.url)`,
    );
  }
  return url.pathname.endsWith("/") ? new URL(MANIFEST_FILE, url) : url;
}
