/**
 * Rewrites QDQ patterns into onnxruntime's integer ops exactly where onnxruntime's own QDQ
 * transformer does (onnxruntime/core/optimizer/qdq_transformer/selectors_actions:
 * qdq_selector_action_transformer.cc registers the rules, qdq_selectors.cc checks them), so
 * the integer arithmetic, and hence every output bit, is the one onnxruntime computes:
 *
 * | pattern                                                  | becomes                   |
 * | -------------------------------------------------------- | ------------------------- |
 * | DQ(x), DQ(w), DQ(b int32)? -> Conv -> (Relu) -> Q        | QLinearConv               |
 * | DQ(a), DQ(b) -> MatMul -> (Relu) -> Q                    | QLinearMatMul             |
 * | DQ(a), DQ(b), DQ(c int32)? -> Gemm (beta 1) -> (Relu) -> Q? | QGemm (f32 out without Q) |
 * | DQ(a), DQ(b) -> Add -> (Relu) -> Q                       | QLinearAdd                |
 * | DQ(x) -> GlobalAveragePool / AveragePool -> (Relu) -> Q  | QLinear... (pool)         |
 * | DQ(x) -> MaxPool / Reshape / Flatten / (Un)Squeeze -> Q   | the op on 8-bit data      |
 * | DQ(x) -> BatchNormalization -> (Relu) -> Q               | QLinearLookup (resin)     |
 *
 * Conditions, as onnxruntime checks them: every input of the target comes from a
 * DequantizeLinear (a DQ read by several nodes counts for each, as onnxruntime first gives
 * each node its own copy), the target's output is read by exactly one node, a
 * QuantizeLinear, and is not a graph output; the input and output 8-bit types agree (for
 * Conv and MatMul an i8 input needs i8 weights); a bias is int32. A Relu between the target
 * and the Q is dropped when the Q's zero point is the type's minimum (the Q clamps it
 * anyway); Clip is left alone. The bias DQ's own scale is ignored, as onnxruntime does (the
 * int32 bias is used as the accumulator's offset).
 *
 * The data-movement row needs the DQ and Q parameters equal (and no Relu between), as
 * onnxruntime's drop rule does. The BatchNormalization row goes beyond onnxruntime, which runs
 * that island in f32: resin tabulates onnxruntime's f32 arithmetic per channel and input byte
 * (`batchNormTables`), so the bytes are still onnxruntime's. Everything else stays in float between its DQ and Q nodes. Around the
 * data-movement ops resin moves in f32 only (Transpose, Split, Concat, Slice, ...) that is
 * bit-identical to onnxruntime dropping the pair or using QLinearConcat: Q(DQ(x)) = x for
 * every 8-bit x, and those ops only move or select values.
 *
 * @module
 */

import {
  consumersOf,
  freshName,
  graphOutputNames,
  producersOf,
  valueNames,
} from "../graph_utils.ts";
import { batchNormTable } from "../../ops/batch_norm_table.ts";
import type { Graph, Node, Tensor } from "../types.ts";
import { probeTypes } from "./_probe_types.ts";
import { removeUnused } from "./remove_unused.ts";

/** A matched DequantizeLinear: its quantized input, scale and zero point value names. */
interface Dq {
  x: string;
  scale: string;
  zero: string;
}

/**
 * Replaces the QDQ node groups onnxruntime fuses with QLinearConv, QLinearMatMul, QGemm,
 * QLinearAdd, QLinearGlobalAveragePool and QLinearAveragePool; see the module doc.
 *
 * @example
 * ```ts
 * const qoperator = qdqToQOperator(importOnnx(bytes).graph);
 * ```
 */
export function qdqToQOperator(original: Graph): Graph {
  const graph = batchNormTables(transposeInFloat(original));
  const producers = producersOf(graph);
  const consumers = consumersOf(graph);
  const outputs = graphOutputNames(graph);
  const nodes: (Node | null)[] = [...graph.nodes];

  const [types] = probeTypes(graph);
  const dtypeOf = (name: string): string | undefined => types.get(name)?.dtype;

  /** The DQ producing `name`, if `name` is a DequantizeLinear output. */
  const dqOf = (name: string): Dq | undefined => {
    const index = producers.get(name);
    const node = index === undefined ? undefined : graph.nodes[index];
    if (node?.op !== "DequantizeLinear" || outputs.has(name)) return undefined;
    return { x: node.inputs[0], scale: node.inputs[1], zero: node.inputs[2] ?? "" };
  };

  /** The single reader of `name` when it is not a graph output. */
  const soleReader = (name: string): { node: Node; index: number } | undefined => {
    const uses = consumers.get(name);
    if (outputs.has(name) || uses?.length !== 1) return undefined;
    return { node: graph.nodes[uses[0].node], index: uses[0].node };
  };

  /**
   * The Q quantizing `target`'s output, skipping a Relu the Q makes redundant; with the
   * indices of the nodes the group absorbs.
   */
  const qAfter = (target: Node) => {
    let next = soleReader(target.outputs[0]);
    const absorbed: number[] = [];
    if (next?.node.op === "Relu") {
      const relu = next;
      next = soleReader(relu.node.outputs[0]);
      if (next?.node.op !== "QuantizeLinear" || !clampsAtZero(graph, next.node)) return undefined;
      absorbed.push(relu.index);
    }
    if (next?.node.op !== "QuantizeLinear") return undefined;
    absorbed.push(next.index);
    return { q: next.node, absorbed };
  };

  graph.nodes.forEach((target, index) => {
    const rule = RULES[target.op];
    if (!rule || target.outputs.length !== 1) return;
    const present = target.inputs.filter((name) => name !== "");
    const dqs = present.map(dqOf);
    if (dqs.some((dq) => dq === undefined)) return;
    const after = qAfter(target);
    if (!after && !rule.optionalQ) return;
    const types = dqs.map((dq) => dtypeOf(dq!.x));
    const outType = after ? dtypeOf(after.q.outputs[0])! : "f32";
    const q = after?.q;
    const pair = dqs.length === 1 && q !== undefined && after!.absorbed.length === 1 &&
      sameParams(graph, dqs[0]!, q);
    if (!rule.accepts(target, types, outType, pair)) return;
    const replacement = rule.build(target, dqs as Dq[], q, q ? q.outputs[0] : target.outputs[0]);
    for (const i of after?.absorbed ?? []) nodes[i] = null;
    nodes[index] = replacement;
  });
  return removeUnused({ ...graph, nodes: nodes.filter((n) => n !== null) });
}

/**
 * Replaces each DQ -> BatchNormalization (-> Relu) -> Q island (per-tensor constant DQ and Q,
 * constant BatchNormalization parameters) with a QLinearLookup whose table holds, for every
 * channel and input byte, the byte onnxruntime computes: its f32 BatchNormalization
 * (batch_norm_table.ts), Relu, and QuantizeLinear. onnxruntime runs the island in float; the table gives
 * the same bytes without float arithmetic (resin's float BatchNormalization rounds
 * differently, which a QuantizeLinear exposes at rounding boundaries).
 */
function batchNormTables(graph: Graph): Graph {
  const producers = producersOf(graph);
  const consumers = consumersOf(graph);
  const outputs = graphOutputNames(graph);
  const taken = valueNames(graph);
  const initializers = new Map(graph.initializers);
  const nodes: (Node | null)[] = [...graph.nodes];
  const constant = (name: string | undefined) =>
    name && !graph.inputs.some((i) => i.name === name) ? graph.initializers.get(name) : undefined;
  const sole = (name: string) => {
    const uses = consumers.get(name);
    return outputs.has(name) || uses?.length !== 1 ? undefined : uses[0].node;
  };
  graph.nodes.forEach((bn, index) => {
    if (bn.op !== "BatchNormalization" || bn.outputs.length !== 1) return;
    const dqIndex = producers.get(bn.inputs[0]);
    const dq = dqIndex === undefined ? undefined : graph.nodes[dqIndex];
    const params = bn.inputs.slice(1, 5).map(constant);
    if (
      dq?.op !== "DequantizeLinear" || outputs.has(bn.inputs[0]) ||
      params.some((t) => t?.dtype !== "f32")
    ) return;
    let next = sole(bn.outputs[0]);
    const relu = next !== undefined && graph.nodes[next].op === "Relu" ? next : undefined;
    if (relu !== undefined) next = sole(graph.nodes[relu].outputs[0]);
    const q = next === undefined ? undefined : graph.nodes[next];
    if (q?.op !== "QuantizeLinear") return;
    const [xs, xz, qs, qz] = [dq.inputs[1], dq.inputs[2], q.inputs[1], q.inputs[2]].map(constant);
    const scalar = (t: Tensor | undefined, optional: boolean) => t ? t.data.length === 1 : optional;
    const x = dataDtype(graph, dq.inputs[0], producers);
    const inType = xz?.dtype ?? x;
    const outType = qz?.dtype ?? "u8";
    if (
      !scalar(xs, false) || !scalar(qs, false) || (dq.inputs[2] && !scalar(xz, false)) ||
      (q.inputs[2] && !scalar(qz, false)) || (inType !== "u8" && inType !== "i8") ||
      (outType !== "u8" && outType !== "i8")
    ) {
      return;
    }
    const table = batchNormTable(
      params as Tensor[],
      Math.fround(Number(bn.attrs.epsilon ?? 1e-5)),
      { scale: xs!.data[0], zero: xz?.data[0] ?? 0, dtype: inType },
      { scale: qs!.data[0], zero: qz?.data[0] ?? 0, dtype: outType },
      relu !== undefined,
    );
    const name = freshName(`${bn.name}_table`, taken);
    initializers.set(name, table);
    nodes[index] = {
      name: bn.name,
      op: "QLinearLookup",
      inputs: [dq.inputs[0], name],
      outputs: q.outputs,
      attrs: { axis: 1, to: outType },
    };
    nodes[next!] = null;
    if (relu !== undefined) nodes[relu] = null;
  });
  return removeUnused({ ...graph, nodes: nodes.filter((n) => n !== null), initializers });
}

/** The dtype of a DQ's data when its zero point does not say: a graph input's or u8. */
function dataDtype(graph: Graph, name: string, producers: Map<string, number>): string {
  const info = graph.inputs.find((i) => i.name === name);
  if (info) return info.dtype;
  const t = graph.initializers.get(name);
  if (t) return t.dtype;
  return producerOp(graph, producers, name) === "QuantizeLinear" ? "u8" : "unknown";
}

/**
 * Moves each Transpose of an 8-bit value that is read by a per-tensor DequantizeLinear into
 * f32: `T(x) -> DQ` becomes `DQ(x) -> T -> Q -> DQ` with the DQ's parameters, which is exact
 * (Q(DQ(v)) = v for every 8-bit v) and leaves the DQ in place for the rules, as onnxruntime's
 * QDQ propagation does. resin's Transpose moves f32 and i32 only.
 */
function transposeInFloat(graph: Graph): Graph {
  const producers = producersOf(graph);
  const taken = valueNames(graph);
  for (const node of graph.nodes) taken.add(node.name);
  const nodes: Node[] = [];
  for (const node of graph.nodes) {
    const index = node.op === "DequantizeLinear" ? producers.get(node.inputs[0]) : undefined;
    const transpose = index === undefined ? undefined : graph.nodes[index];
    const scale = graph.initializers.get(node.inputs[1]);
    const source = transpose?.inputs[0] ?? "";
    const info = graph.inputs.find((i) => i.name === source);
    const eightBit = info?.dtype === "u8" || info?.dtype === "i8" ||
      producerOp(graph, producers, source) === "QuantizeLinear";
    if (transpose?.op !== "Transpose" || !eightBit || scale?.data.length !== 1) {
      nodes.push(node);
      continue;
    }
    const [dq, moved, q] = ["dequantized", "transposed", "quantized"].map((s) =>
      freshName(`${node.outputs[0]}_${s}`, taken)
    );
    const params = node.inputs.slice(1);
    nodes.push(
      { name: dq, op: "DequantizeLinear", inputs: [source, ...params], outputs: [dq], attrs: {} },
      { ...transpose, name: moved, inputs: [dq], outputs: [moved] },
      { name: q, op: "QuantizeLinear", inputs: [moved, ...params], outputs: [q], attrs: {} },
      { ...node, inputs: [q, ...params] },
    );
  }
  return removeUnused({ ...graph, nodes });
}

function producerOp(
  graph: Graph,
  producers: Map<string, number>,
  name: string,
): string | undefined {
  const index = producers.get(name);
  return index === undefined ? undefined : graph.nodes[index].op;
}

/** True when `dq` and QuantizeLinear `q` have equal constant scalar parameters, scale > 0. */
function sameParams(graph: Graph, dq: Dq, q: Node): boolean {
  const value = (name: string | undefined, zero: boolean) => {
    if (!name) return zero ? 0 : undefined;
    const t = graph.initializers.get(name);
    return t && t.data.length === 1 ? t.data[0] : undefined;
  };
  const scale = value(dq.scale, false);
  return scale !== undefined && scale > 0 && scale === value(q.inputs[1], false) &&
    value(dq.zero, true) === value(q.inputs[2], true);
}

/** True when QuantizeLinear `q`'s zero point is its type's minimum (it clamps at 0). */
function clampsAtZero(graph: Graph, q: Node): boolean {
  const zero: Tensor | undefined = q.inputs[2] ? graph.initializers.get(q.inputs[2]) : undefined;
  if (!q.inputs[2]) return true;
  if (!zero || zero.data.length !== 1) return false;
  return zero.data[0] === (zero.dtype === "i8" ? -128 : 0);
}

/** How one op type is matched and rewritten. */
interface Rule {
  /** Whether the group may lack the output Q (the op then produces f32). */
  optionalQ?: boolean;
  /**
   * Type and attribute checks, given the DQ input dtypes, the output dtype, and whether the
   * group is one DQ and a Q (no Relu between) with equal positive constant parameters.
   */
  accepts(
    target: Node,
    inputTypes: (string | undefined)[],
    outType: string,
    pair: boolean,
  ): boolean;
  /** The integer node, producing `output`. */
  build(target: Node, dqs: Dq[], q: Node | undefined, output: string): Node;
}

const is8Bit = (t: string | undefined) => t === "u8" || t === "i8";

/** Activation and weights 8-bit, activation type = output type, i8 activations need i8 weights. */
function weightTypesOk(types: (string | undefined)[], out: string): boolean {
  const [x, w, b] = types;
  return is8Bit(x) && is8Bit(w) && x === out && (x !== "i8" || w === "i8") &&
    (b === undefined || b === "i32");
}

function qNode(
  target: Node,
  op: string,
  inputs: string[],
  output: string,
  attrs = target.attrs,
): Node {
  return { name: target.name, op, inputs, outputs: [output], attrs: { ...attrs } };
}

/**
 * onnxruntime's "drop" rule for ops that only move or select values: DQ -> op -> Q with equal
 * parameters runs the op on the 8-bit data (for the ops resin runs on 8-bit tensors).
 */
const DROP: Rule = {
  accepts: (_target, [x], out, pair) => pair && is8Bit(x) && x === out,
  build: (target, [x], _q, output) => ({ ...target, inputs: [x.x], outputs: [output] }),
};

const RULES: Readonly<Record<string, Rule>> = {
  MaxPool: DROP,
  Flatten: DROP,
  Reshape: DROP,
  Squeeze: DROP,
  Unsqueeze: DROP,
  Conv: {
    accepts: (_target, types, out) => types.length >= 2 && weightTypesOk(types, out),
    build: (target, [x, w, b], q, output) =>
      qNode(target, "QLinearConv", [
        x.x,
        x.scale,
        x.zero,
        w.x,
        w.scale,
        w.zero,
        q!.inputs[1],
        q!.inputs[2] ?? "",
        ...(b ? [b.x] : []),
      ], output),
  },
  MatMul: {
    accepts: (_target, types, out) => types.length === 2 && weightTypesOk(types, out),
    build: (target, [a, b], q, output) =>
      qNode(target, "QLinearMatMul", [
        a.x,
        a.scale,
        a.zero,
        b.x,
        b.scale,
        b.zero,
        q!.inputs[1],
        q!.inputs[2] ?? "",
      ], output),
  },
  Gemm: {
    optionalQ: true,
    accepts: (target, types, out) => {
      const [a, b, c] = types;
      const beta = target.attrs.beta ?? 1;
      return is8Bit(a) && is8Bit(b) && (a !== "i8" || b === "i8") && (out === "f32" || out === a) &&
        (c === undefined || (c === "i32" && beta === 1));
    },
    build: (target, [a, b, c], q, output) => {
      const inputs = [a.x, a.scale, a.zero, b.x, b.scale, b.zero, c ? c.x : ""];
      if (q) inputs.push(q.inputs[1], q.inputs[2] ?? "");
      const attrs: Node["attrs"] = {};
      for (const key of ["alpha", "transA", "transB"]) {
        if (target.attrs[key] !== undefined) attrs[key] = target.attrs[key];
      }
      return qNode(target, "QGemm", inputs, output, attrs);
    },
  },
  Add: {
    accepts: (_target, [a, b], out) => is8Bit(a) && a === b && a === out,
    build: (target, [a, b], q, output) =>
      qNode(
        target,
        "QLinearAdd",
        [a.x, a.scale, a.zero, b.x, b.scale, b.zero, q!.inputs[1], q!.inputs[2] ?? ""],
        output,
        {},
      ),
  },
  GlobalAveragePool: {
    accepts: (_target, [x], out) => is8Bit(x) && x === out,
    build: (target, [x], q, output) =>
      qNode(
        target,
        "QLinearGlobalAveragePool",
        [x.x, x.scale, x.zero, q!.inputs[1], q!.inputs[2] ?? ""],
        output,
        {},
      ),
  },
  AveragePool: {
    accepts: (_target, [x], out) => is8Bit(x) && x === out,
    build: (target, [x], q, output) =>
      qNode(
        target,
        "QLinearAveragePool",
        [x.x, x.scale, x.zero, q!.inputs[1], q!.inputs[2] ?? ""],
        output,
      ),
  },
};
