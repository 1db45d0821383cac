/**
 * Conversion-time lowering of the int8 ops (QOperator form, as imported or as made by
 * qdqToQOperator) into the forms the GPU runs, with every constant precomputed on the host:
 *
 * - QLinearConv -> QLinearConvNhwc on NHWC4 activations (packed weights, folded zero points,
 *   f32 multipliers; qlinear_conv_pack.ts). Activations stay NHWC4 between convolutions:
 *   MaxPool on 8-bit data becomes MaxPoolNhwc, QLinearGlobalAveragePool reads NHWC4
 *   (`channels_last`), and a same-shape QLinearAdd or a QLinearLookup of NHWC4 values stays
 *   NHWC4 (padding channels reuse the last channel's table). PackNhwc and
 *   UnpackNhwc are inserted where the layout changes (once per value); the NCHW form keeps
 *   the original value name, so every other consumer and the graph outputs are unchanged.
 * - QLinearAdd -> QLinearAddLut with its 65536-entry table (qlinear_add_lut.ts), and then a
 *   QLinearAddLut whose operand is a QLinearConvNhwc output read by nothing else is fused into
 *   that conv's epilogue (the conv takes the add's place in the order).
 * - QLinearMatMul (2-D) and QGemm (no transA, per-column C) -> QGemmPacked (qgemm_pack.ts).
 * - QuantizeLinear, DequantizeLinear and QLinearGlobalAveragePool with per-tensor constant
 *   parameters -> their constant form (parameters as attributes); a QLinearAveragePool whose
 *   window is the whole image -> QLinearGlobalAveragePool (onnxruntime computes it so).
 * Nodes whose parameters are not constant stay as they are (the CPU runs them).
 *
 * Exact: every lowered op computes bit for bit what the original computes (each op's tests
 * check its lowering), and the layout changes only move bytes.
 *
 * @module
 */

import { consumersOf, freshName, graphOutputNames, valueNames } from "../graph_utils.ts";
import {
  type Attributes,
  type Graph,
  makeTensor,
  type Node,
  type Tensor,
  type TensorType,
} from "../types.ts";
import { qlinearAddTable } from "../../ops/qlinear_add_lut.ts";
import { averagePoolGeometry, isGlobal } from "../../ops/qlinear_average_pool.ts";
import { padChannels } from "../../ops/nhwc4.ts";
import { packQLinearConv } from "../../ops/qlinear_conv_pack.ts";
import { packQGemm, packQLinearMatMul } from "../../ops/qgemm_pack.ts";
import { probeTypes } from "./_probe_types.ts";
import { removeUnused } from "./remove_unused.ts";

/** An NHWC4 twin of an NCHW value: its name and what unpacking it needs. */
interface Packed {
  name: string;
  channels: number;
}

/**
 * Lowers the int8 ops of `graph` for the GPU (see the module doc); other nodes are kept.
 *
 * @example
 * ```ts
 * const runnable = lowerInt8(conversionPasses(importOnnx(bytes).graph));
 * ```
 */
export function lowerInt8(graph: Graph): Graph {
  return removeUnused(fuseResiduals(new Lowering(graph).run()));
}

/** The state of one lowering: emitted nodes, new initializers, and the NHWC4 twins. */
class Lowering {
  #graph: Graph;
  #types: Map<string, TensorType>[];
  #taken: Set<string>;
  #nodes: Node[] = [];
  #initializers: Map<string, Tensor>;
  /** NHWC4 twin of a value, once it exists. */
  #packed = new Map<string, Packed>();
  /** Values whose NCHW form is defined (inputs, initializers, produced or unpacked). */
  #nchw = new Set<string>();

  constructor(graph: Graph) {
    this.#graph = graph;
    this.#types = probeTypes(graph);
    this.#taken = valueNames(graph);
    for (const node of graph.nodes) this.#taken.add(node.name);
    this.#initializers = new Map(graph.initializers);
    for (const name of [...graph.initializers.keys(), ...graph.inputs.map((i) => i.name)]) {
      this.#nchw.add(name);
    }
  }

  run(): Graph {
    for (const node of this.#graph.nodes) this.#lower(node);
    for (const { name } of this.#graph.outputs) this.#ensureNchw(name);
    return { ...this.#graph, nodes: this.#nodes, initializers: this.#initializers };
  }

  /** The type of `name` (at batch 1). */
  #type(name: string): TensorType {
    return this.#types[0].get(name)!;
  }

  /** True when `a` and `b` have the same shape for every probed batch. */
  #sameShape(a: string, b: string): boolean {
    return this.#types.every((t) => t.get(a)!.shape.join() === t.get(b)!.shape.join());
  }

  /** The constant tensor `name` (an initializer that is not a graph input), or undefined. */
  #constant(name: string): Tensor | undefined {
    if (name === "" || this.#graph.inputs.some((i) => i.name === name)) return undefined;
    return this.#graph.initializers.get(name);
  }

  /** The node's operands as constants (undefined entries for absent or runtime inputs). */
  #operands(node: Node): (Tensor | undefined)[] {
    return node.inputs.map((name) => this.#constant(name));
  }

  #fresh(base: string): string {
    return freshName(base, this.#taken);
  }

  #addInitializer(base: string, tensor: Tensor): string {
    const name = this.#fresh(base);
    this.#initializers.set(name, tensor);
    return name;
  }

  #emit(node: Node): void {
    this.#nodes.push(node);
    for (const name of node.outputs) if (name !== "") this.#nchw.add(name);
  }

  /** Emits `node`, whose output 0 is the NHWC4 twin of `value` (NCHW form not yet made). */
  #emitPacked(node: Node, value: string, channels: number): void {
    this.#nodes.push(node);
    this.#packed.set(value, { name: node.outputs[0], channels });
  }

  /** Makes the NCHW form of `name` exist (unpacking its NHWC4 twin when needed). */
  #ensureNchw(name: string): void {
    if (name === "" || this.#nchw.has(name)) return;
    const packed = this.#packed.get(name);
    if (!packed) return;
    this.#emit({
      name: this.#fresh(`${name}_unpack`),
      op: "UnpackNhwc",
      inputs: [packed.name],
      outputs: [name],
      attrs: { channels: packed.channels },
    });
  }

  /** The NHWC4 twin of `name`, packing its NCHW form (padding channels `pad`) when needed. */
  #ensurePacked(name: string, pad: number): string {
    const existing = this.#packed.get(name);
    if (existing) return existing.name;
    this.#ensureNchw(name);
    const out = this.#fresh(`${name}_nhwc`);
    this.#emitPacked(
      {
        name: this.#fresh(`${name}_pack`),
        op: "PackNhwc",
        inputs: [name],
        outputs: [out],
        attrs: { pad_value: pad },
      },
      name,
      this.#type(name).shape[1],
    );
    return out;
  }

  #lower(node: Node): void {
    const lowered = this.#lowerConv(node) || this.#lowerAdd(node) || this.#lowerPool(node) ||
      this.#lowerLookup(node) || this.#lowerGemm(node) || this.#lowerConstantForm(node);
    if (lowered) return;
    for (const name of node.inputs) this.#ensureNchw(name);
    this.#emit(node);
  }

  #lowerConv(node: Node): boolean {
    if (node.op !== "QLinearConv") return false;
    const operands = this.#operands(node);
    const constant = [1, 2, 3, 4, 5, 6, 7].every((i) => operands[i]) &&
      (!node.inputs[8] || operands[8]);
    if (!constant || this.#type(node.inputs[0]).shape.length !== 4) return false;
    operands[0] = { ...this.#type(node.inputs[0]), data: new Uint8Array(0) };
    const packed = packQLinearConv(node, operands);
    const x = this.#ensurePacked(node.inputs[0], operands[2]!.data[0]);
    const inputs = [
      x,
      this.#addInitializer(`${node.name}_weights`, packed.weights),
      this.#addInitializer(`${node.name}_bias`, packed.bias),
      this.#addInitializer(`${node.name}_multiplier`, packed.scale),
      packed.zeroPoints ? this.#addInitializer(`${node.name}_weight_zero`, packed.zeroPoints) : "",
    ];
    this.#emitPacked(
      {
        name: node.name,
        op: "QLinearConvNhwc",
        inputs,
        outputs: [this.#fresh(`${node.outputs[0]}_nhwc`)],
        attrs: packed.attrs,
      },
      node.outputs[0],
      packed.channels,
    );
    return true;
  }

  #lowerAdd(node: Node): boolean {
    if (node.op !== "QLinearAdd") return false;
    const operands = this.#operands(node);
    if (
      ![1, 4, 6].every((i) => operands[i]) || [2, 5, 7].some((i) => node.inputs[i] && !operands[i])
    ) {
      return false;
    }
    const [a, b] = [node.inputs[0], node.inputs[3]];
    operands[0] = { ...this.#type(a), data: new Uint8Array(0) };
    operands[3] = { ...this.#type(b), data: new Uint8Array(0) };
    const table = this.#addInitializer(
      `${node.name}_table`,
      qlinearAddTable(operands, { a: this.#type(a).shape, b: this.#type(b).shape }),
    );
    const packed = (this.#packed.has(a) || this.#packed.has(b)) && this.#sameShape(a, b) &&
      this.#type(a).shape.length === 4;
    if (packed) {
      const inputs = [
        this.#ensurePacked(a, operands[2]?.data[0] ?? 0),
        this.#ensurePacked(b, operands[5]?.data[0] ?? 0),
        table,
      ];
      this.#emitPacked(
        {
          name: node.name,
          op: "QLinearAddLut",
          inputs,
          outputs: [this.#fresh(`${node.outputs[0]}_nhwc`)],
          attrs: {},
        },
        node.outputs[0],
        this.#type(a).shape[1],
      );
    } else {
      this.#ensureNchw(a);
      this.#ensureNchw(b);
      this.#emit({
        name: node.name,
        op: "QLinearAddLut",
        inputs: [a, b, table],
        outputs: node.outputs,
        attrs: {},
      });
    }
    return true;
  }

  /**
   * MaxPool of 8-bit NHWC4 data, and global average pools (QLinearGlobalAveragePool, and
   * QLinearAveragePool over the whole image, which onnxruntime computes the same way) as the
   * constant-form QLinearGlobalAveragePool, on NHWC4 data where it is.
   */
  #lowerPool(node: Node): boolean {
    const x = node.inputs[0];
    const twin = this.#packed.get(x);
    if (node.op === "MaxPool" && twin && node.outputs.length === 1) {
      this.#emitPacked(
        {
          ...node,
          op: "MaxPoolNhwc",
          inputs: [twin.name],
          outputs: [this.#fresh(`${node.outputs[0]}_nhwc`)],
        },
        node.outputs[0],
        twin.channels,
      );
      return true;
    }
    if (!this.#isGlobalPool(node)) return false;
    const attrs = this.#scalarAttrs(node, ["x_scale", "x_zero_point", "y_scale", "y_zero_point"]);
    if (!attrs) return false;
    const gap = { name: node.name, op: "QLinearGlobalAveragePool" };
    if (twin) {
      this.#emitPacked(
        {
          ...gap,
          inputs: [twin.name],
          outputs: [this.#fresh(`${node.outputs[0]}_nhwc`)],
          attrs: { ...attrs, channels_last: 1 },
        },
        node.outputs[0],
        twin.channels,
      );
    } else {
      this.#ensureNchw(x);
      this.#emit({
        ...gap,
        inputs: [x],
        outputs: node.outputs,
        attrs: { ...attrs, channels_last: 0 },
      });
    }
    return true;
  }

  /** True for an NCHW QLinearGlobalAveragePool, or a QLinearAveragePool over whole images. */
  #isGlobalPool(node: Node): boolean {
    if ((node.attrs.channels_last ?? 0) !== 0) return false;
    if (node.op === "QLinearGlobalAveragePool") {
      return this.#type(node.inputs[0]).shape.length === 4;
    }
    if (node.op !== "QLinearAveragePool") return false;
    const types = node.inputs.map((name) => (name === "" ? undefined : this.#type(name)));
    return isGlobal(averagePoolGeometry(node, types));
  }

  /** A per-channel QLinearLookup of NHWC4 data stays NHWC4 (table padded to Cp rows, axis 3). */
  #lowerLookup(node: Node): boolean {
    const twin = this.#packed.get(node.inputs[0]);
    const table = this.#constant(node.inputs[1]);
    if (
      node.op !== "QLinearLookup" || !twin || !table ||
      this.#type(node.inputs[0]).shape.length !== 4
    ) {
      return false;
    }
    if (table.shape[0] > 1 && node.attrs.axis !== 1 && node.attrs.axis !== -3) return false;
    const rows = padChannels(twin.channels);
    const padded = makeTensor("u8", [rows, 256]);
    for (let c = 0; c < rows; c++) {
      const row = table.shape[0] === 1 ? 0 : Math.min(c, twin.channels - 1);
      padded.data.set(table.data.subarray(row * 256, row * 256 + 256), c * 256);
    }
    this.#emitPacked(
      {
        ...node,
        inputs: [twin.name, this.#addInitializer(`${node.name}_nhwc_table`, padded)],
        outputs: [this.#fresh(`${node.outputs[0]}_nhwc`)],
        attrs: { ...node.attrs, axis: 3 },
      },
      node.outputs[0],
      twin.channels,
    );
    return true;
  }

  #lowerGemm(node: Node): boolean {
    if (node.op !== "QLinearMatMul" && node.op !== "QGemm") return false;
    const operands = this.#operands(node);
    const a = node.inputs[0];
    const constant = node.inputs.every((name, i) => i === 0 || name === "" || operands[i]);
    if (!constant || this.#type(a).shape.length !== 2 || node.attrs.transA) return false;
    operands[0] = { ...this.#type(a), data: new Uint8Array(0) };
    if (node.op === "QLinearMatMul" && operands[3]!.shape.length !== 2) return false;
    const c = operands[6];
    if (node.op === "QGemm" && c && c.shape.length === 2 && c.shape[0] !== 1) return false;
    const packed = node.op === "QGemm"
      ? packQGemm(node, operands)
      : packQLinearMatMul(node, operands);
    this.#ensureNchw(a);
    this.#emit({
      name: node.name,
      op: "QGemmPacked",
      inputs: [
        a,
        this.#addInitializer(`${node.name}_weights`, packed.weights),
        this.#addInitializer(`${node.name}_bias`, packed.bias),
        this.#addInitializer(`${node.name}_multiplier`, packed.scale),
        packed.zeroPoints
          ? this.#addInitializer(`${node.name}_weight_zero`, packed.zeroPoints)
          : "",
      ],
      outputs: node.outputs,
      attrs: packed.attrs,
    });
    return true;
  }

  /** QuantizeLinear and DequantizeLinear with per-tensor constant parameters to constant form. */
  #lowerConstantForm(node: Node): boolean {
    if (node.op !== "QuantizeLinear" && node.op !== "DequantizeLinear") return false;
    const attrs = this.#scalarAttrs(node, ["scale", "zero_point"], 1);
    if (!attrs) return false;
    if (node.op === "QuantizeLinear") {
      attrs.to = this.#constant(node.inputs[2] ?? "")?.dtype ?? "u8";
    }
    this.#ensureNchw(node.inputs[0]);
    this.#emit({ ...node, inputs: [node.inputs[0]], attrs });
    return true;
  }

  /**
   * Operands `first..` of `node` as scalar attributes named `names` (absent zero points are 0),
   * or undefined when one is not a one-element constant.
   */
  #scalarAttrs(node: Node, names: string[], first = 1): Attributes | undefined {
    const attrs: Attributes = {};
    for (const [k, name] of names.entries()) {
      const input = node.inputs[first + k] ?? "";
      const t = this.#constant(input);
      if (input !== "" && (!t || t.data.length !== 1)) return undefined;
      if (input === "" && !name.endsWith("zero_point")) return undefined;
      attrs[name] = t ? t.data[0] : 0;
    }
    return attrs;
  }
}

/**
 * Fuses each QLinearAddLut of two NHWC4 values into the QLinearConvNhwc producing one of them,
 * when that conv output has no other reader and is not a graph output. The fused conv takes
 * the add's place; `residual` says which byte of the table index the other operand is.
 */
function fuseResiduals(graph: Graph): Graph {
  const consumers = consumersOf(graph);
  const outputs = graphOutputNames(graph);
  const producer = new Map<string, number>();
  graph.nodes.forEach((n, i) => n.outputs.forEach((o) => producer.set(o, i)));
  const nodes: (Node | null)[] = [...graph.nodes];
  graph.nodes.forEach((add, addIndex) => {
    if (add.op !== "QLinearAddLut") return;
    for (const slot of [0, 1]) {
      const convIndex = producer.get(add.inputs[slot]);
      const conv = convIndex === undefined ? undefined : nodes[convIndex];
      if (
        !conv || conv.op !== "QLinearConvNhwc" || conv.inputs[5] || outputs.has(conv.outputs[0]) ||
        consumers.get(conv.outputs[0])?.length !== 1
      ) continue;
      const other = add.inputs[1 - slot];
      const inputs = [...conv.inputs];
      while (inputs.length < 5) inputs.push("");
      inputs.push(other, add.inputs[2]);
      nodes[convIndex!] = null;
      nodes[addIndex] = {
        ...conv,
        inputs,
        outputs: add.outputs,
        attrs: { ...conv.attrs, residual: slot === 0 ? "second" : "first" },
      };
      return;
    }
  });
  return { ...graph, nodes: nodes.filter((n) => n !== null) };
}
