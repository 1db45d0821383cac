/**
 * resin: ResNet inference for Deno with hand-written WGSL on WebGPU and a CPU path.
 *
 * Load a converted model (manifest + weights) from a URL or from bytes with {@link loadModel},
 * then {@link Classifier.classify} JPEG/PNG bytes or decoded pixels, or {@link Classifier.run}
 * raw tensors. Nothing here uses the file system or Deno-only APIs: it runs in edge functions,
 * where the CPU path stands in for the missing GPU. A model folder on disk is a `file:` URL.
 *
 * @example
 * ```ts
 * import { loadModel } from "@resin/resin";
 *
 * const model = await loadModel(new URL("./models/resnet50-v1-12/", import.meta.url));
 * const { top } = await model.classify(await Deno.readFile("dog.jpg"), { top: 3 });
 * for (const { label, probability } of top) console.log(label, probability.toFixed(3));
 * console.log(`ran on the ${model.backend}`);
 * model.dispose();
 * ```
 *
 * @module
 */

export type {
  Attributes,
  AttrValue,
  Dim,
  DType,
  Graph,
  Layout,
  Node,
  QuantParams,
  Tensor,
  TensorData,
  TensorType,
  ValueInfo,
} from "./src/graph/types.ts";
export { GpuUnavailableError } from "./src/executor/gpu_device.ts";
export type { BackendChoice } from "./src/executor/session.ts";
export type { StoragePrecision } from "./src/ops/op.ts";
export {
  loadModel,
  type LoadModelOptions,
  type ModelBytes,
  type ModelSource,
} from "./src/api/load.ts";
export type {
  Classification,
  Classifier,
  ClassifyOptions,
  ImageInput,
} from "./src/api/classifier.ts";
export type { ClassScore, ScoreKind } from "./src/api/scores.ts";
export {
  decodeImage,
  DEFAULT_IMAGE_LIMITS,
  ImageError,
  type ImageLimits,
  imagesToTensor,
  preprocessImage,
  type RgbImage,
} from "./src/image/mod.ts";
export type { LoadedModel } from "./src/weights/decode.ts";
export { cpuThreads, MAX_CPU_THREADS, setCpuThreads } from "./src/wasm/cpu_threads.ts";
export {
  type Manifest,
  ManifestError,
  type Provenance,
  type TensorEntry,
  type WeightsFile,
} from "./src/weights/manifest.ts";
export {
  type ImagePreprocess,
  type ImageResize,
  PREPROCESS_PRESETS,
  type PreprocessPreset,
} from "./src/weights/preprocess.ts";
