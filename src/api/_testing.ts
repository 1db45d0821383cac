/**
 * Test fixtures for the library API: a tiny image classifier (global average pool, then a
 * 3 -> 4 Gemm, optionally a Softmax) encoded in the weight format, with a recipe and labels,
 * and its expected probabilities computed in float64 without the executor.
 *
 * @module
 */

import type { Graph, Node, Tensor } from "../graph/types.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { encodeModel } from "../weights/encode.ts";
import type { Manifest } from "../weights/manifest.ts";
import type { ImagePreprocess } from "../weights/preprocess.ts";
import { softmax } from "./scores.ts";

/** Classes of the tiny classifier. */
export const CLASSES = 4;

/** Its labels. */
export const LABELS: readonly string[] = ["cat", "dog", "fox", "owl"];

/** Its recipe: shorter side 7, centre crop 5x5, ImageNet normalisation, NCHW f32. */
export const RECIPE: ImagePreprocess = {
  resize: { mode: "shorter_side", size: 7, filter: "bilinear" },
  crop: { width: 5, height: 5 },
  scale: 1 / 255,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  layout: "NCHW",
  dtype: "f32",
};

/**
 * x [N,3,5,5] -> GlobalAveragePool -> Flatten -> Gemm (W [4,3], B [4], transB) = logits
 * [N,4]; with `softmax`, a final Softmax makes the output `probs`.
 */
export function tinyClassifier(softmaxHead = false): Graph {
  const rand = seededRandom(11);
  const nodes: Node[] = [
    { name: "gap", op: "GlobalAveragePool", inputs: ["x"], outputs: ["g"], attrs: {} },
    { name: "flat", op: "Flatten", inputs: ["g"], outputs: ["f"], attrs: { axis: 1 } },
    {
      name: "fc",
      op: "Gemm",
      inputs: ["f", "W", "B"],
      outputs: ["logits"],
      attrs: { transB: 1 },
    },
  ];
  if (softmaxHead) {
    nodes.push({ name: "sm", op: "Softmax", inputs: ["logits"], outputs: ["probs"], attrs: {} });
  }
  return {
    name: softmaxHead ? "tiny-softmax" : "tiny",
    nodes,
    inputs: [{ name: "x", dtype: "f32", shape: ["N", 3, 5, 5], layout: "NCHW" }],
    outputs: [{ name: softmaxHead ? "probs" : "logits", dtype: "f32", shape: ["N", CLASSES] }],
    initializers: new Map([
      ["W", randomTensor(rand, "f32", [CLASSES, 3], -3, 3)],
      ["B", randomTensor(rand, "f32", [CLASSES], -0.5, 0.5)],
    ]),
  };
}

/** The tiny classifier encoded: manifest (with recipe and labels, unless left out) and weights. */
export async function encodedTinyClassifier(
  options: { softmaxHead?: boolean; recipe?: boolean; labels?: boolean } = {},
): Promise<{ manifest: Manifest; weights: Uint8Array }> {
  const graph = tinyClassifier(options.softmaxHead);
  return await encodeModel(graph, {
    name: graph.name,
    preprocess: options.recipe === false ? undefined : RECIPE,
    labels: options.labels === false ? undefined : [...LABELS],
    provenance: { source: "test", sha256: "0".repeat(64), sourceFormat: "onnx", converter: "t" },
  });
}

/**
 * Class probabilities of each batch row of `x` ([N,3,5,5]) by the tiny classifier, in float64:
 * channel means, W f + B, softmax.
 */
export function expectedProbabilities(x: Tensor): Float64Array[] {
  const { initializers } = tinyClassifier();
  const w = initializers.get("W")!.data;
  const b = initializers.get("B")!.data;
  const plane = 25;
  return Array.from({ length: x.shape[0] }, (_, n) => {
    const means = [0, 1, 2].map((c) => {
      let sum = 0;
      for (let p = 0; p < plane; p++) sum += x.data[(n * 3 + c) * plane + p];
      return sum / plane;
    });
    const logits = Array.from(
      { length: CLASSES },
      (_, k) => b[k] + means.reduce((s, m, c) => s + w[k * 3 + c] * m, 0),
    );
    return softmax(logits);
  });
}
