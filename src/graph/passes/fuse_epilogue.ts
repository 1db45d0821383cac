/**
 * Load-time fusion of a Conv's epilogue: residual Add, then Relu or Clip.
 *
 * @module
 */

import { consumersOf, graphOutputNames } from "../graph_utils.ts";
import { inferGraphTypes } from "../shape_inference.ts";
import type { Attributes, Graph, Node, TensorType } from "../types.ts";

/** Conv input slot of the residual operand Z (docs/ARCHITECTURE.md, "Fused ops"). */
const RESIDUAL = 3;

/**
 * Values bound to the graph's symbolic input dims when comparing shapes: the k-th symbol
 * gets `probe + k` for every probe, so two shape expressions that agree under all of them
 * agree for any batch. A binding the graph cannot take (caffe2 ResNet-50 reshapes to a fixed
 * `[1, 2048]`) is skipped: the graph cannot run with it, so it constrains nothing.
 */
const PROBES = [1, 2, 3];

/**
 * Fuses into each Conv without an activation, while the current output has exactly one
 * reader and is not a graph output: first a following Add whose other operand has the same
 * shape as the conv output, in either operand order (it becomes the residual input Z,
 * unless the Conv has one already; the fused node takes the Add's place in the order, where
 * Z is defined), then a Relu or Clip (attribute `activation` "relu" or "clip", with
 * `clip_min`/`clip_max` copied from the Clip's `min`/`max` where present). Plain Conv -> Relu
 * fuses too. The bias stays the Conv's input 2.
 *
 * Exact in real arithmetic. Rounding: the fused Conv rounds conv(x) + B + Z to f32 once
 * where the unfused graph rounds after the Conv and again after the Add; Relu and Clip are
 * monotone and commute with rounding, so they add no difference.
 *
 * @example
 * ```ts
 * const fused = fuseEpilogue(graph);
 * ```
 */
export function fuseEpilogue(graph: Graph): Graph {
  const consumers = consumersOf(graph);
  const outputs = graphOutputNames(graph);
  const probes = probeTypes(graph);
  const nodes: (Node | null)[] = [...graph.nodes];
  const absorbed = new Set<number>();

  /** The node reading `name` when it is the only reader and fusing past `name` is allowed. */
  const soleReader = (name: string) => {
    const uses = consumers.get(name);
    if (outputs.has(name) || uses?.length !== 1 || absorbed.has(uses[0].node)) return undefined;
    return { ...uses[0], reader: graph.nodes[uses[0].node] };
  };

  graph.nodes.forEach((conv, convIndex) => {
    if (conv.op !== "Conv" || conv.attrs.activation !== undefined) return;
    const y = conv.outputs[0];
    let fused = conv;
    let at = convIndex;
    let next = soleReader(y);
    if (next?.reader.op === "Add" && next.reader.inputs.length === 2 && !conv.inputs[RESIDUAL]) {
      const z = next.reader.inputs[1 - next.input];
      const sum = next.reader.outputs[0];
      if (sameShape(probes, y, z)) {
        const inputs = [...conv.inputs];
        while (inputs.length <= RESIDUAL) inputs.push("");
        inputs[RESIDUAL] = z;
        fused = { ...fused, inputs, outputs: [sum] };
        nodes[at] = null;
        absorbed.add(next.node);
        at = next.node;
        next = soleReader(sum);
      }
    }
    const activation = next && activationAttrs(next.reader);
    if (next && activation) {
      fused = { ...fused, attrs: { ...fused.attrs, ...activation }, outputs: next.reader.outputs };
      nodes[next.node] = null;
      absorbed.add(next.node);
    }
    nodes[at] = fused;
  });
  return { ...graph, nodes: nodes.filter((node) => node !== null) };
}

/** The Conv attributes that express `node` as a fused activation, if it is one. */
function activationAttrs(node: Node): Attributes | undefined {
  if (node.op === "Relu") return { activation: "relu" };
  if (node.op !== "Clip") return undefined;
  const attrs: Attributes = { activation: "clip" };
  if (node.attrs.min !== undefined) attrs.clip_min = node.attrs.min;
  if (node.attrs.max !== undefined) attrs.clip_max = node.attrs.max;
  return attrs;
}

/** Value types under each probe binding the graph can take (see `PROBES`). */
function probeTypes(graph: Graph): Map<string, TensorType>[] {
  const symbols = [
    ...new Set(graph.inputs.flatMap((info) => info.shape.filter((d) => typeof d === "string"))),
  ];
  const results: Map<string, TensorType>[] = [];
  const errors: unknown[] = [];
  for (const probe of symbols.length > 0 ? PROBES : PROBES.slice(0, 1)) {
    const shapes = Object.fromEntries(graph.inputs.map((info) => [
      info.name,
      info.shape.map((d) => typeof d === "number" ? d : probe + symbols.indexOf(d)),
    ]));
    try {
      results.push(inferGraphTypes(graph, { shapes }));
    } catch (err) {
      errors.push(err);
    }
  }
  if (results.length === 0) throw errors[0];
  return results;
}

/** True when values `a` and `b` have the same shape under every probe. */
function sameShape(probes: Map<string, TensorType>[], a: string, b: string): boolean {
  return probes.every((types) => {
    const sa = types.get(a)!.shape;
    const sb = types.get(b)!.shape;
    return sa.length === sb.length && sa.every((d, i) => d === sb[i]);
  });
}
