/**
 * One ONNX node as an op rule sees it: typed attribute access (every attribute must be read
 * or explicitly ignored), constant operands, shapes, and the ways to emit resin nodes, fold
 * values or bypass the node. Every failure is a one-line `OnnxImportError` naming the node.
 *
 * @module
 */

import type { Attributes, AttrValue } from "../graph/types.ts";
import { OnnxImportError } from "./errors.ts";
import type { IntValue } from "./fold.ts";
import type { ImportState } from "./import_state.ts";
import { ATTR_TYPE, type OnnxAttribute, type OnnxNode, type OnnxTensor } from "./onnx_proto.ts";
import type { SymShape } from "./shapes.ts";

const utf8 = new TextDecoder();

function attrTypeName(code: number): string {
  const entry = Object.entries(ATTR_TYPE).find(([, value]) => value === code);
  return entry ? entry[0] : `type ${code}`;
}

/** The node an op rule is normalising. */
export class NodeScope {
  /** The ONNX node, its inputs already resolved through removed Identity/Dropout nodes. */
  readonly node: OnnxNode;
  /** The node's unique resin name. */
  readonly name: string;
  /** The opset version of the node's domain that the model imports. */
  readonly opset: number;
  private readonly state: ImportState;
  private readonly unread: Map<string, OnnxAttribute>;

  /** Wraps `node` (inputs resolved) named `name` under `opset`. */
  constructor(state: ImportState, node: OnnxNode, name: string, opset: number) {
    this.state = state;
    this.node = node;
    this.name = name;
    this.opset = opset;
    this.unread = new Map(node.attributes.map((a) => [a.name, a]));
  }

  /** Throws an `OnnxImportError` naming this node. */
  fail(message: string): never {
    throw new OnnxImportError(`Node "${this.name}" (${this.node.opType}): ${message}`);
  }

  /** Input `i`'s value name, `""` when absent. */
  input(i: number): string {
    return this.node.inputs[i] ?? "";
  }

  /** Output `i`'s value name, `""` when absent. */
  output(i: number): string {
    return this.node.outputs[i] ?? "";
  }

  /** Checks the input count is within `[min, max]`. */
  inputCount(min: number, max = min): void {
    const n = this.node.inputs.length;
    if (n < min || n > max) {
      this.fail(`has ${n} inputs, expected ${min === max ? min : `${min} to ${max}`}`);
    }
    for (let i = 0; i < min; i++) if (this.input(i) === "") this.fail(`input ${i} is missing`);
  }

  /** Fails when output `i` exists and anything reads it (resin drops it). */
  dropOutput(i: number, what: string): void {
    const name = this.output(i);
    if (name !== "" && this.state.isConsumed(name)) {
      this.fail(`its ${what} output "${name}" is used; resin computes only the main output`);
    }
  }

  /** The shape of input `i`, when known at import time. */
  knownShape(i: number): SymShape | undefined {
    return this.state.shapeOf(this.input(i));
  }

  /** The shape of input `i`, or a failure saying `why` it is needed. */
  shape(i: number, why: string): SymShape {
    const shape = this.knownShape(i);
    if (!shape) this.fail(`the shape of "${this.input(i)}" is unknown at import time (${why})`);
    return shape;
  }

  /** The import-time integer value of input `i`, or `undefined`. */
  intValue(i: number): IntValue | undefined {
    return this.input(i) === "" ? undefined : this.state.intValue(this.input(i));
  }

  /** The elements of constant input `i`; fails when it is not a constant. */
  constNumbers(i: number, what: string): number[] {
    const values = this.state.numbers(this.input(i));
    if (!values) this.fail(`the ${what} input "${this.input(i)}" must be a constant`);
    return values;
  }

  /** The one element of constant scalar input `i`. */
  constScalar(i: number, what: string): number {
    const values = this.constNumbers(i, what);
    if (values.length !== 1) {
      this.fail(`the ${what} input must hold one value, not ${values.length}`);
    }
    return values[0];
  }

  /** Reads an INT attribute. */
  attrInt(name: string): number | undefined {
    const a = this.take(name, ATTR_TYPE.INT);
    return a && this.safe(a.i ?? 0n, name);
  }

  /** Reads an INTS attribute. */
  attrInts(name: string): number[] | undefined {
    const a = this.take(name, ATTR_TYPE.INTS);
    return a && Array.from(a.ints ?? [], (v) => this.safe(v, name));
  }

  /** Reads a FLOAT attribute. */
  attrFloat(name: string): number | undefined {
    const a = this.take(name, ATTR_TYPE.FLOAT);
    return a && (a.f ?? 0);
  }

  /** Reads a FLOATS attribute. */
  attrFloats(name: string): number[] | undefined {
    const a = this.take(name, ATTR_TYPE.FLOATS);
    return a && Array.from(a.floats ?? []);
  }

  /** Reads a STRING attribute. */
  attrString(name: string): string | undefined {
    const a = this.take(name, ATTR_TYPE.STRING);
    return a && utf8.decode(a.s ?? new Uint8Array());
  }

  /** Reads a TENSOR attribute. */
  attrTensor(name: string): OnnxTensor | undefined {
    const a = this.take(name, ATTR_TYPE.TENSOR);
    if (a && !a.t) this.fail(`attribute "${name}" holds no tensor`);
    return a?.t;
  }

  /** Reads the listed attributes that are present, in the resin form of their type. */
  copyAttrs(names: readonly string[]): Attributes {
    const out: Attributes = {};
    for (const name of names) {
      const value = this.attrValue(name);
      if (value !== undefined) out[name] = value;
    }
    return out;
  }

  /** Marks attributes resin deliberately ignores (such as BatchNormalization `momentum`). */
  ignoreAttrs(...names: string[]): void {
    for (const name of names) this.unread.delete(name);
  }

  /** Names of attributes no rule read or ignored. */
  unreadAttrs(): string[] {
    return [...this.unread.keys()];
  }

  /** Emits a resin node; `suffix` names extra nodes of a rewrite (`""` for the main one). */
  emit(op: string, inputs: string[], outputs: string[], attrs: Attributes = {}, suffix = ""): void {
    const name = suffix === "" ? this.name : this.state.freshNode(`${this.name}_${suffix}`);
    this.state.emit({ name, op, inputs, outputs, attrs });
  }

  /** A new value name for an intermediate result of a rewrite. */
  freshValue(suffix: string): string {
    return this.state.freshValue(`${this.output(0)}_${suffix}`);
  }

  /** Removes the node: output `i` becomes another name for `target`. */
  bypass(i: number, target: string): void {
    this.state.alias(this.output(i), target);
  }

  /** Removes the node: output `i` is a value computed at import time. */
  fold(i: number, value: IntValue): void {
    this.state.addFolded(this.output(i), value);
  }

  /** Removes the node: output 0 is a constant tensor. */
  constant(tensor: OnnxTensor): void {
    this.state.addTensor({ ...tensor, name: this.output(0) });
  }

  private attrValue(name: string): AttrValue | undefined {
    const a = this.unread.get(name);
    if (!a) return undefined;
    switch (a.type) {
      case ATTR_TYPE.INT:
        return this.attrInt(name);
      case ATTR_TYPE.INTS:
        return this.attrInts(name);
      case ATTR_TYPE.FLOAT:
        return this.attrFloat(name);
      case ATTR_TYPE.FLOATS:
        return this.attrFloats(name);
      case ATTR_TYPE.STRING:
        return this.attrString(name);
      default:
        return this.fail(`attribute "${name}" is ${attrTypeName(a.type)}, which resin cannot keep`);
    }
  }

  private take(name: string, type: number): OnnxAttribute | undefined {
    const a = this.unread.get(name) ?? this.node.attributes.find((x) => x.name === name);
    if (!a) return undefined;
    if (a.type !== type) {
      this.fail(`attribute "${name}" is ${attrTypeName(a.type)}, expected ${attrTypeName(type)}`);
    }
    this.unread.delete(name);
    return a;
  }

  private safe(v: bigint, name: string): number {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) this.fail(`attribute "${name}" holds ${v}, beyond 2^53`);
    return n;
  }
}
