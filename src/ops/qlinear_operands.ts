/**
 * Validation and reading of the scale / zero-point operands of the QLinear* ops, which keep
 * them as inputs exactly as ONNX and onnxruntime's contrib ops define them: scales are f32
 * scalars or 1-element tensors (per-channel where the op allows it), zero points share the
 * dtype of the data they describe.
 *
 * @module
 */

import type { DType, Node, Tensor, TensorType } from "../graph/types.ts";
import { nodeLabel } from "./attributes.ts";

/** Element count of a scalar or 1-D operand; throws for higher ranks. */
function lengthOf(node: Node, what: string, t: TensorType): number {
  if (t.shape.length > 1) {
    throw new Error(`${nodeLabel(node)}: ${what} must be a scalar or 1-D, got [${t.shape}]`);
  }
  return t.shape.length === 0 ? 1 : t.shape[0];
}

/**
 * Checks input `index` is an f32 scale with 1 or `perChannel` elements (when given) and
 * returns its element count.
 */
export function checkScale(
  node: Node,
  inputs: readonly (TensorType | undefined)[],
  index: number,
  what: string,
  perChannel?: number,
): number {
  const t = inputs[index];
  if (!t || t.dtype !== "f32") throw new Error(`${nodeLabel(node)}: ${what} must be f32`);
  const n = lengthOf(node, what, t);
  if (n !== 1 && n !== perChannel) {
    throw new Error(
      `${nodeLabel(node)}: ${what} has ${n} elements; expected 1` +
        (perChannel === undefined ? "" : ` or ${perChannel}`),
    );
  }
  return n;
}

/**
 * Checks input `index` (optional when `optional`) is a zero point of `dtype` with 1 or
 * `perChannel` elements.
 */
export function checkZeroPoint(
  node: Node,
  inputs: readonly (TensorType | undefined)[],
  index: number,
  what: string,
  dtype: DType,
  perChannel?: number,
): void {
  const t = inputs[index];
  if (!t) return;
  if (t.dtype !== dtype) {
    throw new Error(`${nodeLabel(node)}: ${what} must be ${dtype}, got ${t.dtype}`);
  }
  const n = lengthOf(node, what, t);
  if (n !== 1 && n !== perChannel) {
    throw new Error(`${nodeLabel(node)}: ${what} has ${n} elements, expected 1 or ${perChannel}`);
  }
}

/** Checks the data input at `index` is u8 or i8 and returns its dtype. */
export function check8Bit(
  node: Node,
  inputs: readonly (TensorType | undefined)[],
  index: number,
  what: string,
): "u8" | "i8" {
  const t = inputs[index];
  if (!t || (t.dtype !== "u8" && t.dtype !== "i8")) {
    throw new Error(`${nodeLabel(node)}: ${what} must be u8 or i8, got ${t?.dtype ?? "nothing"}`);
  }
  return t.dtype;
}

/** The single value of a scalar operand (0 when absent). */
export function scalarValue(t: Tensor | undefined): number {
  return t ? t.data[0] : 0;
}

/** Value `i` of an operand with 1 or more elements (broadcasting a single one; 0 when absent). */
export function channelValue(t: Tensor | undefined, i: number): number {
  if (!t) return 0;
  return t.data.length === 1 ? t.data[0] : t.data[i];
}
