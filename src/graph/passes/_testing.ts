/**
 * Test helpers for the graph passes: compact builders for hand-made graphs, random
 * BatchNorm and Conv parameters, and the before/after comparison every pass test makes.
 *
 * @module
 */

import { runReference } from "../../executor/reference.ts";
import { randomTensor } from "../../testing/random.ts";
import { relativeL2 } from "../../testing/tolerance.ts";
import type { Attributes, Dim, Graph, Node, Tensor } from "../types.ts";

/** Builds a node. */
export function node(
  op: string,
  name: string,
  inputs: string[],
  outputs: string[],
  attrs: Attributes = {},
): Node {
  return { name, op, inputs, outputs, attrs };
}

/** Builds a graph of f32 values; inputs and outputs are `[name, shape]` pairs. */
export function graphOf(
  nodes: Node[],
  inputs: [string, Dim[]][],
  outputs: [string, Dim[]][],
  initializers: Record<string, Tensor>,
): Graph {
  const info = ([name, shape]: [string, Dim[]]) => ({ name, dtype: "f32" as const, shape });
  return {
    name: "test",
    nodes,
    inputs: inputs.map(info),
    outputs: outputs.map(info),
    initializers: new Map(Object.entries(initializers)),
  };
}

/**
 * Random inference BatchNorm parameters `${prefix}_gamma|beta|mean|var` for `channels`
 * channels: gamma of either sign and away from 0, variance in [0.1, 2].
 */
export function batchNormParams(
  rand: () => number,
  prefix: string,
  channels: number,
): Record<string, Tensor> {
  const gamma = randomTensor(rand, "f32", [channels], 0.5, 1.5);
  gamma.data.forEach((v, i) => (gamma.data[i] = rand() < 0.3 ? -v : v));
  return {
    [`${prefix}_gamma`]: gamma,
    [`${prefix}_beta`]: randomTensor(rand, "f32", [channels]),
    [`${prefix}_mean`]: randomTensor(rand, "f32", [channels]),
    [`${prefix}_var`]: randomTensor(rand, "f32", [channels], 0.1, 2),
  };
}

/** A BatchNormalization node reading the parameters `batchNormParams(_, prefix, _)` made. */
export function batchNorm(prefix: string, x: string, y: string): Node {
  const params = ["gamma", "beta", "mean", "var"].map((p) => `${prefix}_${p}`);
  return node("BatchNormalization", prefix, [x, ...params], [y], { epsilon: 1e-5 });
}

/** Random conv weights `${prefix}_w` of shape `[m, c, k, k]` and bias `${prefix}_b`. */
export function convParams(
  rand: () => number,
  prefix: string,
  m: number,
  c: number,
  k: number,
): Record<string, Tensor> {
  return {
    [`${prefix}_w`]: randomTensor(rand, "f32", [m, c, k, k], -0.5, 0.5),
    [`${prefix}_b`]: randomTensor(rand, "f32", [m]),
  };
}

/** Number of nodes of each op type. */
export function opCounts(graph: Graph): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of graph.nodes) counts[n.op] = (counts[n.op] ?? 0) + 1;
  return counts;
}

/**
 * Runs `before` and `after` on the same inputs with the reference interpreter and returns
 * the largest relative L2 error of `after`'s outputs against `before`'s.
 */
export function outputError(before: Graph, after: Graph, inputs: Record<string, Tensor>): number {
  const expected = runReference(before, inputs);
  const actual = runReference(after, inputs);
  let worst = 0;
  for (const [name, tensor] of Object.entries(expected)) {
    worst = Math.max(worst, relativeL2(actual[name].data, tensor.data));
  }
  return worst;
}

/** A deep snapshot of a graph (initializer data included) to show a pass left it unchanged. */
export function snapshot(graph: Graph): string {
  return JSON.stringify({
    ...graph,
    initializers: [...graph.initializers].map(([name, t]) => [name, t.shape, [...t.data]]),
  });
}

/**
 * Largest relative L2 error a pass may introduce. The passes change f32 rounding only
 * (folded constants rounded once, one rounding fewer in a fused epilogue), a few ulps of
 * each value, so a correct pass stays orders of magnitude below this; a wrong fusion (a
 * dropped shift, a misplaced channel) is far above it.
 */
export const PASS_REL_L2 = 1e-5;
