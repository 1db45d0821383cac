/**
 * What the importer knows while it walks an ONNX graph: the resin nodes emitted so far,
 * constant tensors, integer values folded at import time, symbolic shapes, aliases left by
 * removed nodes (Identity, Dropout), and the names in use.
 *
 * @module
 */

import type { Node, Tensor } from "../graph/types.ts";
import { OnnxImportError } from "./errors.ts";
import type { IntValue } from "./fold.ts";
import { DATA_TYPE, type OnnxDim, type OnnxGraph, type OnnxTensor } from "./onnx_proto.ts";
import { inferShapes, type SymDim, type SymShape } from "./shapes.ts";
import { numbersFromProto } from "./tensor.ts";

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/** Import-time state of one graph. */
export class ImportState {
  /** Resin nodes emitted so far, in order. */
  readonly nodes: Node[] = [];
  /** Constant tensors by name: initializers and Constant node outputs. */
  readonly tensors = new Map<string, OnnxTensor>();
  /** Folded integer values that a node reads as data, stored as i32 tensors. */
  readonly materialized = new Map<string, Tensor>();
  private readonly folded = new Map<string, IntValue>();
  private readonly shapes = new Map<string, SymShape>();
  private readonly hints = new Map<string, SymShape>();
  private readonly aliases = new Map<string, string>();
  private readonly available = new Set<string>();
  private readonly consumed = new Set<string>();
  private readonly valueNames = new Set<string>();
  private readonly nodeNames = new Set<string>();
  private readonly assignedNodeNames = new Set<string>();
  private unknownCount = 0;

  /** Records every name `graph` uses, its consumers, and its `value_info` shapes. */
  constructor(graph: OnnxGraph) {
    for (const node of graph.nodes) {
      if (node.name) this.nodeNames.add(node.name);
      for (const name of [...node.inputs, ...node.outputs]) this.valueNames.add(name);
      for (const name of node.inputs) this.consumed.add(name);
    }
    for (const info of [...graph.inputs, ...graph.outputs]) this.valueNames.add(info.name);
    for (const info of graph.outputs) this.consumed.add(info.name);
    for (const t of graph.initializers) this.valueNames.add(t.name);
    for (const info of graph.valueInfo) {
      if (info.shape) this.hints.set(info.name, this.symShape(info.shape));
    }
  }

  /** A fresh symbol for a dim nothing determines. */
  unknown(): string {
    return `?${++this.unknownCount}`;
  }

  /** The symbolic shape of an ONNX shape: `dim_param` symbols, fresh symbols where unset. */
  symShape(dims: readonly OnnxDim[]): SymShape {
    return dims.map((d) => d.param || (d.value ?? this.unknown()));
  }

  /** A new value name: `base`, or `base_1`, `base_2`, ... when that is in use. */
  freshValue(base: string): string {
    return takeName(this.valueNames, base);
  }

  /** A new node name: `base`, or `base_1`, `base_2`, ... when that is in use. */
  freshNode(base: string): string {
    return takeName(this.nodeNames, base);
  }

  /** The unique resin name of an ONNX node: its own, or one derived from its first output. */
  nodeName(onnxName: string, firstOutput: string, op: string): string {
    if (onnxName && !this.assignedNodeNames.has(onnxName)) {
      this.assignedNodeNames.add(onnxName);
      return onnxName;
    }
    return this.freshNode(onnxName || firstOutput || op);
  }

  /** True when some ONNX node or a graph output reads `name`. */
  isConsumed(name: string): boolean {
    return this.consumed.has(name);
  }

  /** The value `name` stands for once removed nodes are bypassed. */
  resolve(name: string): string {
    let current = name;
    for (let next = this.aliases.get(current); next; next = this.aliases.get(current)) {
      current = next;
    }
    return current;
  }

  /** Makes `name` stand for `target` (the output of a removed Identity or Dropout). */
  alias(name: string, target: string): void {
    this.aliases.set(name, target);
  }

  /** Declares a graph input. */
  addInput(name: string, shape: SymShape): void {
    this.available.add(name);
    this.shapes.set(name, shape);
  }

  /** Declares a constant tensor (an initializer or a Constant node's output). */
  addTensor(tensor: OnnxTensor): void {
    this.tensors.set(tensor.name, tensor);
    this.available.add(tensor.name);
    this.shapes.set(tensor.name, [...tensor.dims]);
  }

  /** Records a value computed at import time. */
  addFolded(name: string, value: IntValue): void {
    this.folded.set(name, value);
    this.shapes.set(name, [...value.dims]);
  }

  /** The integer value of `name` when known at import time (folded, or an int tensor). */
  intValue(name: string): IntValue | undefined {
    const folded = this.folded.get(name);
    if (folded) return folded;
    const t = this.tensors.get(name);
    if (!t || (t.dataType !== DATA_TYPE.INT64 && t.dataType !== DATA_TYPE.INT32)) return undefined;
    const value = { dims: [...t.dims], values: numbersFromProto(t, `Tensor "${name}"`) };
    this.folded.set(name, value);
    return value;
  }

  /** The elements of constant `name` as numbers, when it is a constant with no symbols. */
  numbers(name: string): number[] | undefined {
    const t = this.tensors.get(name);
    if (t) return numbersFromProto(t, `Tensor "${name}"`);
    const folded = this.folded.get(name);
    if (folded?.values.every((v) => typeof v === "number")) return folded.values as number[];
    return undefined;
  }

  /** The symbolic shape of `name`, when known. */
  shapeOf(name: string): SymShape | undefined {
    return this.shapes.get(name) ?? this.hints.get(name);
  }

  /** Appends a resin node: checks its inputs exist and propagates shapes to its outputs. */
  emit(node: Node): void {
    for (const input of node.inputs) {
      if (input !== "") this.requireData(input, `Node "${node.name}" (${node.op})`);
    }
    const shapes = inferShapes(node, node.inputs.map((i) => this.shapeOf(i)), () => this.unknown());
    node.outputs.forEach((output, i) => {
      this.available.add(output);
      const shape = shapes[i];
      if (shape) this.shapes.set(output, shape);
    });
    this.nodes.push(node);
  }

  /** Renames value `from` to `to` in every emitted node. */
  rename(from: string, to: string): void {
    for (const node of this.nodes) {
      node.inputs = node.inputs.map((n) => (n === from ? to : n));
      node.outputs = node.outputs.map((n) => (n === from ? to : n));
    }
    this.available.add(to);
  }

  /**
   * Makes `name` readable as tensor data (a folded value becomes an i32 initializer) or
   * fails; `reader` names the node or graph output that reads it.
   */
  requireData(name: string, reader: string): void {
    if (this.available.has(name)) return;
    const value = this.folded.get(name);
    if (!value) {
      throw new OnnxImportError(
        `${reader} reads "${name}", which no graph input, initializer or earlier node provides`,
      );
    }
    const symbol = value.values.find((v): v is string => typeof v === "string");
    if (symbol !== undefined) {
      throw new OnnxImportError(
        `${reader} reads "${name}" as data, but its value depends on the symbolic dim ` +
          `"${symbol}"; resin folds shape arithmetic into attributes only`,
      );
    }
    this.materialized.set(name, {
      dtype: "i32",
      shape: [...value.dims],
      data: Int32Array.from(value.values as number[], (v) => int32(v, `Value "${name}"`)),
    });
    this.available.add(name);
  }
}

function takeName(taken: Set<string>, base: string): string {
  let name = base;
  for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

/** `v` when it is an int32; otherwise an error naming `what`. */
export function int32(v: SymDim, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) {
    throw new OnnxImportError(`${what} holds ${v}, which is not an int32`);
  }
  return v;
}

/** `v` clamped to the int32 range (for Slice bounds such as INT64_MAX, "to the end"). */
export function clampInt32(v: number): number {
  return Math.min(Math.max(v, INT32_MIN), INT32_MAX);
}
