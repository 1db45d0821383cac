/**
 * QLinearAdd (com.microsoft opset 1): `C = quantize(dequantize(A) + dequantize(B))` on u8/i8
 * tensors with numpy broadcasting, computed exactly as onnxruntime's x86-64 kernel does
 * (MLAS `MlasQLinearAddKernelAvx2Helper`, docs/INT8.md): two fused multiply-adds in f32 on
 * the raw 8-bit values, `fma(s, ratioS, fma(t, ratioT, fixed))`, rounded half to even and
 * saturated. The roles S and T follow onnxruntime's broadcaster: B takes role S only when A
 * is broadcast along the innermost broadcast dim; otherwise A does.
 *
 * Inputs: `A, A_scale, A_zero_point?, B, B_scale, B_zero_point?, C_scale, C_zero_point?`.
 * CPU only; the GPU runs `QLinearAddLut` (qlinear_add_lut.ts), which the lowerInt8 pass makes
 * of it with the same values tabulated.
 *
 * @module
 */

import { makeTensor, type Node, sizeOf, type Tensor, type TensorType } from "../graph/types.ts";
import { stridedOffset } from "../shaders/strided.ts";
import { nodeLabel, requireOutputs } from "./attributes.ts";
import { broadcastShape, broadcastStrides } from "./broadcast.ts";
import type { OpDef } from "./op.ts";
import { qlinearAddConstants, qlinearAddValue, quantRange } from "./quant_math.ts";
import { check8Bit, checkScale, checkZeroPoint, scalarValue } from "./qlinear_operands.ts";

const A = 0, AS = 1, AZ = 2, B = 3, BS = 4, BZ = 5, CS = 6, CZ = 7;

/**
 * True when onnxruntime's broadcaster hands B the span role S (its `IsInput0Scalar`: A is
 * broadcast, or of size 1, along the innermost dim that decides the broadcast pattern).
 */
export function spanIsB(a: readonly number[], b: readonly number[]): boolean {
  if (a.length === 0) return true;
  if (b.length === 0) return false;
  const common = Math.min(a.length, b.length);
  for (let i = 1; i < common; i++) {
    const da = a[a.length - i], db = b[b.length - i];
    if (Math.max(da, db) > 1) return da <= 1;
  }
  return a[a.length - common] <= 1;
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  requireOutputs(node, 1);
  if (inputs.length < 7 || inputs.length > 8) {
    throw new Error(`${nodeLabel(node)}: needs 7 or 8 inputs, got ${inputs.length}`);
  }
  const dtype = check8Bit(node, inputs, A, "A");
  if (check8Bit(node, inputs, B, "B") !== dtype) {
    throw new Error(`${nodeLabel(node)}: A is ${dtype} but B is ${inputs[B]!.dtype}`);
  }
  for (const [index, what] of [[AS, "A_scale"], [BS, "B_scale"], [CS, "C_scale"]] as const) {
    checkScale(node, inputs, index, what);
  }
  for (
    const [index, what] of [[AZ, "A_zero_point"], [BZ, "B_zero_point"], [
      CZ,
      "C_zero_point",
    ]] as const
  ) {
    checkZeroPoint(node, inputs, index, what, dtype);
  }
  return [{ dtype, shape: broadcastShape(node, inputs[A]!.shape, inputs[B]!.shape) }];
}

/** The output byte for every (A, B) pair of raw values, in the node's roles. */
export interface QLinearAddFormula {
  /** Output value for A value `a` and B value `b`. */
  value(a: number, b: number): number;
}

/** The node's per-element formula from its scales and zero points. */
export function qlinearAddFormula(
  inputs: readonly (Tensor | undefined)[],
  shapes: { a: readonly number[]; b: readonly number[] },
): QLinearAddFormula {
  const [qmin, qmax] = quantRange(inputs[A]!.dtype);
  const sa = scalarValue(inputs[AS]), za = scalarValue(inputs[AZ]);
  const sb = scalarValue(inputs[BS]), zb = scalarValue(inputs[BZ]);
  const sc = scalarValue(inputs[CS]), zc = scalarValue(inputs[CZ]);
  if (spanIsB(shapes.a, shapes.b)) {
    const k = qlinearAddConstants(sb, zb, sa, za, sc, zc);
    return { value: (a, b) => qlinearAddValue(b, a, k, qmin, qmax) };
  }
  const k = qlinearAddConstants(sa, za, sb, zb, sc, zc);
  return { value: (a, b) => qlinearAddValue(a, b, k, qmin, qmax) };
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const [type] = inferTypes(node, inputs);
  const a = inputs[A]!, b = inputs[B]!;
  const formula = qlinearAddFormula(inputs, { a: a.shape, b: b.shape });
  const strideA = broadcastStrides(a.shape, type.shape);
  const strideB = broadcastStrides(b.shape, type.shape);
  const y = makeTensor(type.dtype, type.shape);
  for (let i = 0; i < sizeOf(type.shape); i++) {
    const av = a.data[stridedOffset(i, type.shape, strideA)];
    const bv = b.data[stridedOffset(i, type.shape, strideB)];
    y.data[i] = formula.value(av, bv);
  }
  return [y];
}

/** QLinearAdd on u8/i8 tensors (CPU). */
export const qlinearAdd: OpDef = { op: "QLinearAdd", inferTypes, reference };
