/**
 * Graph queries the passes share: who produces and who reads each value, fresh value names,
 * constant lookups and the BatchNormalization affine form. (Node order checks and type
 * inference live in shape_inference.ts.)
 *
 * @module
 */

import { floatAttr } from "../ops/attributes.ts";
import type { Graph, Node, Tensor } from "./types.ts";

/** One read of a value: the reading node's index in graph order and its input slot. */
export interface Use {
  /** Index of the reading node in `graph.nodes`. */
  node: number;
  /** Input slot of that node. */
  input: number;
}

/** Every read of each value by the graph's nodes, in graph order (absent inputs skipped). */
export function consumersOf(graph: Graph): Map<string, Use[]> {
  const uses = new Map<string, Use[]>();
  graph.nodes.forEach((node, index) => {
    node.inputs.forEach((name, input) => {
      if (name === "") return;
      const list = uses.get(name);
      if (list) list.push({ node: index, input });
      else uses.set(name, [{ node: index, input }]);
    });
  });
  return uses;
}

/** The index in `graph.nodes` of the node producing each value. */
export function producersOf(graph: Graph): Map<string, number> {
  const producers = new Map<string, number>();
  graph.nodes.forEach((node, index) => {
    for (const name of node.outputs) if (name !== "") producers.set(name, index);
  });
  return producers;
}

/** Names of the graph's outputs: values that must stay produced whatever a pass does. */
export function graphOutputNames(graph: Graph): Set<string> {
  return new Set(graph.outputs.map((info) => info.name));
}

/** Every value name the graph defines or reads (inputs, initializers, node inputs/outputs). */
export function valueNames(graph: Graph): Set<string> {
  const names = new Set<string>([...graph.initializers.keys()]);
  for (const info of [...graph.inputs, ...graph.outputs]) names.add(info.name);
  for (const node of graph.nodes) {
    for (const name of [...node.inputs, ...node.outputs]) if (name !== "") names.add(name);
  }
  return names;
}

/** Returns `base`, or `base_2`, `base_3`, ...: the first name not in `taken`, which it joins. */
export function freshName(base: string, taken: Set<string>): string {
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

/**
 * The f32 constant named `name` in `initializers`, or undefined when the value is absent,
 * not f32, or a graph input (a graph input may override an initializer at run time).
 */
export function constantF32(
  graph: Graph,
  initializers: ReadonlyMap<string, Tensor>,
  name: string | undefined,
): Tensor | undefined {
  if (name === undefined || name === "") return undefined;
  if (graph.inputs.some((info) => info.name === name)) return undefined;
  const tensor = initializers.get(name);
  return tensor?.dtype === "f32" ? tensor : undefined;
}

/** An inference-mode BatchNormalization's constants, and its scale in float64. */
export interface BatchNormAffine {
  /** gamma / sqrt(var + epsilon) per channel, computed in float64. */
  scale: Float64Array;
  /** beta per channel. */
  beta: Float32Array;
  /** Running mean per channel. */
  mean: Float32Array;
}

/**
 * The affine form y = (x - mean) * scale + beta of BatchNormalization node `bn`, or
 * undefined when its parameters are not all f32 constants or it has training outputs.
 * Throws, naming the node, when the parameters disagree in length.
 */
export function batchNormAffine(graph: Graph, bn: Node): BatchNormAffine | undefined {
  if (bn.outputs.slice(1).some((name) => name !== "")) return undefined;
  const params = bn.inputs.slice(1, 5).map((name) => constantF32(graph, graph.initializers, name));
  if (params.length !== 4 || params.some((p) => p === undefined)) return undefined;
  const [gamma, beta, mean, variance] = params.map((p) => p!.data as Float32Array);
  const channels = gamma.length;
  if ([beta, mean, variance].some((p) => p.length !== channels)) {
    throw new Error(
      `BatchNormalization "${bn.name}" has parameters of lengths ` +
        `${[gamma, beta, mean, variance].map((p) => p.length).join(", ")}; all must be equal`,
    );
  }
  const epsilon = floatAttr(bn, "epsilon", 1e-5);
  const scale = new Float64Array(channels);
  for (let c = 0; c < channels; c++) scale[c] = gamma[c] / Math.sqrt(variance[c] + epsilon);
  return { scale, beta, mean };
}
