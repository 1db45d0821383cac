/**
 * One TFLite operator as an import rule sees it: its tensors, its builtin options (checked to
 * be the table its op expects), its fused activation, and the ways to emit resin nodes. Every
 * failure is a one-line `TfliteImportError` naming the operator by its index and op.
 *
 * @module
 */

import type { Attributes, DType, Tensor } from "../graph/types.ts";
import type { TflActivation } from "../ops/tfl_math.ts";
import { TfliteImportError } from "./errors.ts";
import type { ImportState, ValueLayout } from "./import_state.ts";
import type { Table } from "./flatbuffer.ts";
import { ACTIVATION, type TfliteOperator } from "./schema.ts";

const ACTIVATION_NAMES = Object.fromEntries(
  Object.entries(ACTIVATION).map(([name, code]) => [code, name]),
);

/** Import options every rule receives. */
export interface RuleOptions {
  /**
   * Requantization of int8 CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED: `"xnnpack"`
   * (XNNPACK's f32 scale, what LiteRT's CPU path runs) or `"reference"` (TFLite's reference
   * kernels' fixed-point multiplier and shift).
   */
  requantization: "xnnpack" | "reference";
}

/** Converts one TFLite operator into resin nodes. */
export type TfliteRule = (s: OpScope, options: RuleOptions) => void;

/** The operator an import rule is converting. */
export class OpScope {
  /** The state of the whole import. */
  readonly state: ImportState;
  /** The operator. */
  readonly op: TfliteOperator;
  /** Its index in subgraph 0. */
  readonly index: number;
  /** Its builtin op name, e.g. `"CONV_2D"`. */
  readonly opName: string;
  /** Base name of the resin nodes it emits, e.g. `"op3_conv_2d"`. */
  readonly nodeBase: string;

  /** Wraps operator `index` of subgraph 0, a `opName` builtin. */
  constructor(state: ImportState, op: TfliteOperator, index: number, opName: string) {
    this.state = state;
    this.op = op;
    this.index = index;
    this.opName = opName;
    this.nodeBase = `op${index}_${opName.toLowerCase()}`;
  }

  /** How errors name this operator: `Operator #3 (CONV_2D)`. */
  get label(): string {
    return `Operator #${this.index} (${this.opName})`;
  }

  /** Throws a `TfliteImportError` naming this operator. */
  fail(message: string): never {
    throw new TfliteImportError(`${this.label}: ${message}`);
  }

  /** Checks the input count is within `[min, max]` and there is one output. */
  arity(min: number, max = min): void {
    const n = this.op.inputs.length;
    if (n < min || n > max) {
      this.fail(`has ${n} inputs, expected ${min === max ? min : `${min} to ${max}`}`);
    }
    if (this.op.outputs.length !== 1) {
      this.fail(`has ${this.op.outputs.length} outputs, expected 1`);
    }
  }

  /** Tensor index of input `i`; -1 when the optional input is absent. */
  input(i: number): number {
    const t = this.op.inputs[i] ?? -1;
    if (t >= 0) this.state.tensor(t, this.label);
    return t;
  }

  /** Tensor index of the (only) output. */
  output(): number {
    const t = this.op.outputs[0];
    this.state.tensor(t, this.label);
    return t;
  }

  /** The resin dtype of input `i`. */
  dtype(i: number): DType {
    return this.state.dtype(this.input(i), this.label);
  }

  /** Shape of input `i` (static, batch included). */
  shape(i: number): number[] {
    return this.state.tensor(this.input(i), this.label).shape;
  }

  /** Shape of the output. */
  outputShape(): number[] {
    return this.state.tensor(this.output(), this.label).shape;
  }

  /** The resin value of input `i` in `layout`. */
  value(i: number, layout: ValueLayout): string {
    return this.state.value(this.input(i), layout, this.label);
  }

  /** The builtin options table, checked to be of union type `type` (absent: defaults). */
  options(type: number, tableName: string): Table | undefined {
    const { optionsType, options } = this.op;
    if (optionsType !== 0 && optionsType !== type) {
      this.fail(`carries builtin options of type ${optionsType}, expected ${tableName} (${type})`);
    }
    return options;
  }

  /** A fused activation code as a name; TANH and SIGN_BIT are rejected. */
  activation(code: number): TflActivation {
    const name = ACTIVATION_NAMES[code];
    if (name === "NONE" || name === "RELU" || name === "RELU6" || name === "RELU_N1_TO_1") {
      return name;
    }
    return this.fail(
      `fused activation ${name ?? code} is not supported (NONE, RELU, RELU6, RELU_N1_TO_1 are)`,
    );
  }

  /** Emits a node named after this operator (plus `suffix`); returns its name. */
  emit(op: string, inputs: string[], outputs: string[], attrs: Attributes, suffix = ""): string {
    const name = this.state.freshNode(suffix ? `${this.nodeBase}_${suffix}` : this.nodeBase);
    this.state.emit({ name, op, inputs, outputs, attrs });
    return name;
  }

  /** Adds constant `tensor` as an initializer named after this operator and `what`. */
  constant(what: string, tensor: Tensor): string {
    return this.state.addInitializer(`${this.nodeBase}_${what}`, tensor);
  }

  /** Declares the output's value in `layout` (see `ImportState.define`). */
  defineOutput(layout: ValueLayout): string {
    return this.state.define(this.output(), layout);
  }

  /** A fresh intermediate value named after this operator. */
  temp(what: string): string {
    return this.state.freshValue(`${this.nodeBase}_${what}`);
  }
}
