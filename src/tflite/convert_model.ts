/**
 * TFLite bytes to an encoded resin model: import, the conversion-time graph passes (constant
 * folding, dead-code removal), provenance, encoding. Pure: no file system, so the convert
 * tool and edge code share it.
 *
 * @module
 */

import { conversionPasses } from "../graph/passes/pipelines.ts";
import { CONVERTER, type ConvertOptions } from "../onnx/convert_model.ts";
import { encodeModel } from "../weights/encode.ts";
import type { Manifest } from "../weights/manifest.ts";
import { sha256Hex } from "../weights/sha256.ts";
import { importTflite, type TfliteImportOptions } from "./import.ts";

/** What `convertTflite` needs: the ONNX converter's options plus the int8 arithmetic. */
export interface TfliteConvertOptions extends ConvertOptions {
  /** Requantization of int8 CONV_2D / FULLY_CONNECTED (import.ts); default `"xnnpack"`. */
  requantization?: TfliteImportOptions["requantization"];
}

/**
 * Converts TFLite model bytes into a manifest and its weights binary.
 *
 * @example
 * ```ts
 * const { manifest, weights } = await convertTflite(bytes, { name: "resnet8", source: "m.tflite" });
 * ```
 */
export async function convertTflite(
  bytes: Uint8Array,
  options: TfliteConvertOptions,
): Promise<{ manifest: Manifest; weights: Uint8Array }> {
  const { graph, description } = importTflite(bytes, {
    name: options.name,
    ...(options.requantization && { requantization: options.requantization }),
  });
  return await encodeModel(conversionPasses(graph), {
    name: options.name,
    preprocess: options.preprocess,
    labels: options.labels,
    provenance: {
      source: options.source,
      sha256: await sha256Hex(bytes),
      sourceFormat: "tflite",
      ...(description !== "" && { producer: description }),
      converter: CONVERTER,
    },
  });
}

/** True when `bytes` carry the TFLite file identifier `TFL3` at offset 4. */
export function isTflite(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && String.fromCharCode(...bytes.subarray(4, 8)) === "TFL3";
}
