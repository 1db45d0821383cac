/**
 * Quantization parameters of QuantizeLinear and DequantizeLinear, in either of the two forms
 * these ops take:
 * - ONNX form, as imported: inputs `[x, scale, zero_point?]`, attribute `axis` (default 1);
 * - constant form, after `lowerInt8` (src/graph/passes/lower_int8.ts): input `[x]` only, the
 *   parameters as attributes `scale`, `zero_point` (numbers, or lists for per-axis) and `axis`,
 *   following the resin rule that constant operands are attributes. GPU kernels need it.
 *   Scales are f32 values: attribute numbers are rounded to f32 on use.
 *
 * @module
 */

import type { DType, Node, Tensor, TensorType } from "../graph/types.ts";
import { intAttr, nodeLabel, normalizeAxis } from "./attributes.ts";

/** Resolved per-tensor (`axis` undefined, one value each) or per-axis parameters. */
export interface AffineParams {
  /** Scales, one per tensor or one per index along `axis`. */
  scale: number[];
  /** Zero points, same length as `scale`. */
  zeroPoint: number[];
  /** The quantized axis, resolved against the data rank; undefined for per-tensor. */
  axis?: number;
}

/** True when the node carries its parameters as attributes (the constant form). */
export function hasConstantParams(node: Node): boolean {
  return node.inputs.length === 1;
}

function numbers(node: Node, name: string): number[] | undefined {
  const v = node.attrs[name];
  if (v === undefined) return undefined;
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0 || !list.every((e) => typeof e === "number" && Number.isFinite(e))) {
    throw new Error(
      `${nodeLabel(node)}: attribute ${name} must be numbers, got ${JSON.stringify(v)}`,
    );
  }
  return list as number[];
}

/**
 * Checks the parameter operands (ONNX form) or attributes (constant form) against the data
 * type `x` and returns how many channels they describe (1 for per-tensor) and the zero
 * point's dtype (undefined when absent).
 */
export function checkAffineTypes(
  node: Node,
  x: TensorType,
  inputs: readonly (TensorType | undefined)[],
): { channels: number; axis?: number; zeroPointType?: DType } {
  const label = nodeLabel(node);
  let length: number;
  let zeroPointType: DType | undefined;
  if (hasConstantParams(node)) {
    const scale = numbers(node, "scale");
    const zp = numbers(node, "zero_point");
    if (!scale || !zp) throw new Error(`${label}: constant form needs scale and zero_point`);
    if (scale.length !== zp.length) {
      throw new Error(`${label}: ${scale.length} scales but ${zp.length} zero points`);
    }
    length = scale.length;
    zeroPointType = undefined;
  } else {
    if (inputs.length < 2 || inputs.length > 3) {
      throw new Error(`${label}: needs 2 or 3 inputs (x, scale, zero_point), got ${inputs.length}`);
    }
    const scale = inputs[1];
    if (!scale || scale.dtype !== "f32" || scale.shape.length > 1) {
      throw new Error(`${label}: scale must be an f32 scalar or 1-D tensor`);
    }
    length = scale.shape.length === 0 ? 1 : scale.shape[0];
    const zp = inputs[2];
    if (zp) {
      const zpLength = zp.shape.length === 0 ? 1 : zp.shape[0];
      if (zp.shape.length > 1 || zpLength !== length) {
        throw new Error(
          `${label}: zero_point [${zp.shape}] does not match scale [${scale.shape}]`,
        );
      }
      zeroPointType = zp.dtype;
    }
  }
  if (length === 1) return { channels: 1, zeroPointType };
  const axis = normalizeAxis(node, "axis", intAttr(node, "axis", 1), x.shape.length);
  if (x.shape[axis] !== length) {
    throw new Error(
      `${label}: ${length} scales for axis ${axis} of x [${x.shape}], which has ${
        x.shape[axis]
      } entries`,
    );
  }
  return { channels: length, axis, zeroPointType };
}

/** The parameters' values (checked by `checkAffineTypes` first). */
export function affineValues(node: Node, inputs: readonly (Tensor | undefined)[]): AffineParams {
  const x = inputs[0]!;
  const { axis } = checkAffineTypes(node, x, inputs);
  if (hasConstantParams(node)) {
    const scale = numbers(node, "scale")!.map(Math.fround);
    return { scale, zeroPoint: numbers(node, "zero_point")!, axis };
  }
  const scale = Array.from(inputs[1]!.data);
  const zp = inputs[2] ? Array.from(inputs[2].data) : scale.map(() => 0);
  return { scale, zeroPoint: zp, axis };
}

/**
 * Index of the parameter that element `i` of a row-major tensor of `shape` uses: 0 for
 * per-tensor, the coordinate along `axis` otherwise.
 */
export function channelOf(
  shape: readonly number[],
  axis: number | undefined,
): (i: number) => number {
  if (axis === undefined) return () => 0;
  let inner = 1;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d];
  const count = shape[axis];
  return (i) => Math.floor(i / inner) % count;
}

/**
 * A per-tensor parameter of a QLinear op that has a constant form: attribute `name` in the
 * constant form (rounded to f32 for scales), else the value of operand `index` (0 when it is
 * absent, as ONNX defaults zero points).
 */
export function scalarParam(
  node: Node,
  inputs: readonly (Tensor | undefined)[],
  index: number,
  name: string,
): number {
  if (!hasConstantParams(node)) return inputs[index] ? inputs[index].data[0] : 0;
  const v = node.attrs[name];
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new Error(
      `${nodeLabel(node)}: attribute ${name} must be a number, got ${JSON.stringify(v)}`,
    );
  }
  return name.endsWith("scale") ? Math.fround(v) : v;
}
