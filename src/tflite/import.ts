/**
 * TFLite import: decodes a `.tflite` FlatBuffer (schema 3, subgraph 0) and converts it into a
 * resin `Graph`.
 *
 * - Float operators map onto resin's fp32 ops, which run NCHW: the NHWC graph input is
 *   transposed once, weights are transposed at import (float_rules.ts).
 * - Int8 operators (int8 activations, int8 weights, int32 bias) map onto the TFLite integer
 *   ops (src/ops/tfl_*.ts), which run on NHWC activations with channels padded to 4
 *   (int8_rules.ts). Their arithmetic is that of LiteRT's CPU path (docs/TFLITE.md): XNNPACK's
 *   float requantization for CONV_2D and FULLY_CONNECTED, TFLite's kernels for the rest; the
 *   `requantization: "reference"` option selects TFLite's reference-kernel fixed-point
 *   requantization for those two instead.
 *
 * Graph inputs and outputs keep TFLite's layout and dtype (an int8 input carries its quant
 * params, so the image preprocessing quantizes it); a -1 batch in the shape signature becomes
 * the symbolic batch "N".
 *
 * @module
 */

import type { Graph, Layout, ValueInfo } from "../graph/types.ts";
import { TfliteImportError } from "./errors.ts";
import { FlatbufferError } from "./flatbuffer.ts";
import { FLOAT_RULES } from "./float_rules.ts";
import { ImportState } from "./import_state.ts";
import { INT8_RULES } from "./int8_rules.ts";
import { OpScope, type RuleOptions } from "./op_scope.ts";
import {
  builtinCode,
  builtinName,
  decodeTflite,
  TENSOR_TYPE,
  tensorTypeName,
  type TfliteModel,
} from "./schema.ts";

export { TfliteImportError };

/** The result of `importTflite`. */
export interface TfliteImport {
  /** The converted graph. */
  graph: Graph;
  /** `"int8"` when the graph has int8 activations, else `"float"`. */
  kind: "float" | "int8";
  /** The file's schema version (3). */
  version: number;
  /** The model's description, e.g. `"MLIR Converted."`. */
  description: string;
}

/** Options of `importTflite`. */
export interface TfliteImportOptions extends Partial<RuleOptions> {
  /** Graph name; defaults to subgraph 0's name, or `"model"`. */
  name?: string;
}

/**
 * Imports a serialized TFLite model. Throws `TfliteImportError` (one line, naming the operator
 * or tensor) for malformed files and anything resin does not support.
 *
 * @example
 * ```ts
 * const { graph, kind } = importTflite(Deno.readFileSync("model.tflite"));
 * ```
 */
export function importTflite(bytes: Uint8Array, options: TfliteImportOptions = {}): TfliteImport {
  const model = decode(bytes);
  const state = new ImportState(model);
  const main = model.subgraphs[0];
  const inputs = main.inputs.map((t) => graphValue(state, t, "input"));
  const ruleOptions: RuleOptions = { requantization: options.requantization ?? "xnnpack" };
  main.operators.forEach((op, k) => {
    const code = model.operatorCodes[op.opcodeIndex];
    if (!code) {
      throw new TfliteImportError(
        `Operator #${k} uses operator code ${op.opcodeIndex}, but the model has ` +
          `${model.operatorCodes.length}`,
      );
    }
    if (code.builtinCode === builtinCode("CUSTOM")) {
      throw new TfliteImportError(
        `Unsupported TFLite custom op "${code.customCode}" in operator #${k}`,
      );
    }
    const name = builtinName(code.builtinCode);
    const s = new OpScope(state, op, k, name);
    if (!INT8_RULES[name] && !FLOAT_RULES[name]) {
      throw new TfliteImportError(
        `Unsupported TFLite op "${name}" (builtin code ${code.builtinCode}) in operator #${k}`,
      );
    }
    const first = op.inputs[0] ?? -1;
    const runsInt8 = first >= 0 && state.tensor(first, s.label).type === TENSOR_TYPE.INT8;
    const rule = (runsInt8 ? INT8_RULES : FLOAT_RULES)[name];
    if (!rule) s.fail(`${runsInt8 ? "int8" : "float"} inputs are not supported`);
    rule(s, ruleOptions);
  });
  const outputs = main.outputs.map((t) => graphValue(state, t, "output"));
  for (const output of outputs) {
    if (!state.nodes.some((n) => n.outputs.includes(output.name))) {
      throw new TfliteImportError(
        `Graph output "${output.name}" is a graph input or constant passed through; resin graph ` +
          `outputs must be computed by an operator`,
      );
    }
  }
  return {
    graph: {
      name: options.name ?? (main.name || "model"),
      nodes: state.nodes,
      inputs,
      outputs,
      initializers: state.initializers,
    },
    kind:
      main.tensors.some((t, i) =>
          t.type === TENSOR_TYPE.INT8 && state.isDefined(i) && !state.isConstant(i)
        )
        ? "int8"
        : "float",
    version: model.version,
    description: model.description,
  };
}

function decode(bytes: Uint8Array): TfliteModel {
  let model: TfliteModel;
  try {
    model = decodeTflite(bytes);
  } catch (err) {
    if (err instanceof FlatbufferError) {
      throw new TfliteImportError(`Not a TFLite model (or truncated): ${err.message}`);
    }
    throw err;
  }
  if (model.version !== 3) {
    throw new TfliteImportError(`TFLite schema version ${model.version} is not supported (3 is)`);
  }
  if (model.subgraphs.length === 0) throw new TfliteImportError("The model has no subgraph");
  return model;
}

/**
 * A graph input (declared here, in the plain layout) or output (read in the plain layout) of
 * tensor `index`: f32 or i8 (with quant params), the shape signature's -1 batch as "N".
 */
function graphValue(state: ImportState, index: number, kind: "input" | "output"): ValueInfo {
  const what = `Graph ${kind}`;
  const t = state.tensor(index, what);
  const dtype = state.dtype(index, what);
  if (dtype !== "f32" && dtype !== "i8") {
    throw new TfliteImportError(
      `${what} ${state.label(index)} has type ${tensorTypeName(t.type)}; resin ${kind}s must ` +
        `be FLOAT32 or INT8`,
    );
  }
  const signature = t.shapeSignature.length === t.shape.length ? t.shapeSignature : t.shape;
  const shape = signature.map((d, axis) => {
    if (d >= 0) return d;
    if (axis === 0) return "N";
    throw new TfliteImportError(
      `${what} ${state.label(index)} has a dynamic dim at axis ${axis}; resin supports a ` +
        `dynamic batch only`,
    );
  });
  const name = kind === "input" ? state.define(index, "plain") : state.value(index, "plain", what);
  const quant = t.quantization;
  if (dtype === "i8" && (!quant || quant.scale.length !== 1)) {
    throw new TfliteImportError(`${what} ${state.label(index)} needs per-tensor quantization`);
  }
  const layout = layoutOf(shape.length);
  return {
    name,
    dtype,
    shape,
    ...(layout && { layout }),
    ...(dtype === "i8" && { quant: { scale: quant!.scale, zeroPoint: quant!.zeroPoint } }),
  };
}

function layoutOf(rank: number): Layout | undefined {
  if (rank === 4) return "NHWC";
  if (rank === 2) return "NC";
  return undefined;
}
