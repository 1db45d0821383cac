/**
 * Whether a classifier's output already holds probabilities: decided from the graph by the
 * op that produces it, looking through ops that only move or re-encode values.
 *
 * @module
 */

import type { Graph } from "../graph/types.ts";
import type { ScoreKind } from "./scores.ts";

/**
 * Ops that keep each value's meaning: reshapes, copies and (de)quantization. A Softmax behind
 * them still makes the output a probability distribution.
 */
const PASS_THROUGH = new Set([
  "Reshape",
  "Flatten",
  "Squeeze",
  "Unsqueeze",
  "Identity",
  "Cast",
  "QuantizeLinear",
  "DequantizeLinear",
]);

/**
 * `"probabilities"` when the value `output` comes from a Softmax (through pass-through ops
 * only), else `"logits"`. LogSoftmax counts as logits: softmax of log-probabilities gives the
 * probabilities back.
 *
 * @example
 * ```ts
 * scoreKindOf(graph, graph.outputs[0].name); // "logits" for the ONNX zoo ResNets
 * ```
 */
export function scoreKindOf(graph: Graph, output: string): ScoreKind {
  const producers = new Map(graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  let node = producers.get(output);
  while (node && PASS_THROUGH.has(node.op)) node = producers.get(node.inputs[0]);
  return node?.op === "Softmax" ? "probabilities" : "logits";
}
