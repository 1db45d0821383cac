/**
 * ONNX bytes to an encoded resin model: import, conversion-time graph passes (constant
 * folding, BatchNorm folding, dead-code removal), provenance, encoding. Pure: no file system,
 * so the convert tool, the model cache and edge code share it.
 *
 * @module
 */

import { conversionPasses } from "../graph/passes/pipelines.ts";
import { encodeModel } from "../weights/encode.ts";
import type { Manifest } from "../weights/manifest.ts";
import type { ImagePreprocess } from "../weights/preprocess.ts";
import { sha256Hex } from "../weights/sha256.ts";
import { importOnnx } from "./import.ts";

/** The converter name and version recorded in every manifest's provenance. */
export const CONVERTER = "resin 0.1.0";

/** What the converted model is called and carries besides its graph. */
export interface ConvertOptions {
  /** Model name stored in the manifest. */
  name: string;
  /** File name of the source model, recorded in the provenance. */
  source: string;
  /** Image preprocessing recipe from the model card. */
  preprocess?: ImagePreprocess;
  /** Class labels, index order. */
  labels?: string[];
}

/** Converts ONNX model bytes into a manifest and its weights binary. */
export async function convertOnnx(
  bytes: Uint8Array,
  options: ConvertOptions,
): Promise<{ manifest: Manifest; weights: Uint8Array }> {
  const { graph, opset, producer } = importOnnx(bytes, { name: options.name });
  return await encodeModel(conversionPasses(graph), {
    name: options.name,
    preprocess: options.preprocess,
    labels: options.labels,
    provenance: {
      source: options.source,
      sha256: await sha256Hex(bytes),
      sourceFormat: "onnx",
      ...(opset > 0 && { opset }),
      ...(producer !== "" && { producer }),
      converter: CONVERTER,
    },
  });
}
