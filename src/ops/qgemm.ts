/**
 * QGemm (com.microsoft opset 1): `Y = alpha * A' x B' + C` on u8/i8 A and B (`'` = optional
 * transpose), computed as onnxruntime does: C (int32, broadcast) seeds the exact int32
 * accumulator of `(a - a_zp) * (b - b_zp[n])`; with `y_scale` the result is requantized with
 * the multiplier `alpha * a_scale * b_scale[n] / y_scale` (f32, left to right) by MLAS
 * `MlasRequantizeOutput`, without it the f32 output is `f32(acc) * (alpha * a_scale *
 * b_scale[n])`. B's scale and zero point are per tensor or per column (N).
 *
 * Inputs: `A, a_scale, a_zero_point, B, b_scale, b_zero_point, C?, y_scale?, y_zero_point?`;
 * attributes `alpha` (default 1), `transA`, `transB` (default 0).
 * CPU only; the GPU runs the `QGemmPacked` (qgemm_packed.ts) that lowerInt8 makes of it.
 *
 * @module
 */

import { makeTensor, type Node, type Tensor, type TensorType } from "../graph/types.ts";
import { floatAttr, intAttr, nodeLabel, requireOutputs } from "./attributes.ts";
import type { OpDef } from "./op.ts";
import { f32, int32ToF32, quantRange, requantize, wrapInt32 } from "./quant_math.ts";
import {
  channelValue,
  check8Bit,
  checkScale,
  checkZeroPoint,
  scalarValue,
} from "./qlinear_operands.ts";

const A = 0, AS = 1, AZ = 2, B = 3, BS = 4, BZ = 5, C = 6, YS = 7, YZ = 8;

/** The validated dimensions of a QGemm node. */
export interface QGemmGeometry {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  alpha: number;
  /** Output dtype: f32 without y_scale, else the y zero point's. */
  dtype: "f32" | "u8" | "i8";
}

/** Validates a QGemm node against its input types. */
export function qgemmGeometry(
  node: Node,
  inputs: readonly (TensorType | undefined)[],
): QGemmGeometry {
  requireOutputs(node, 1);
  const label = nodeLabel(node);
  if (inputs.length < 6 || inputs.length > 9) {
    throw new Error(`${label}: needs 6 to 9 inputs, got ${inputs.length}`);
  }
  const aType = check8Bit(node, inputs, A, "A");
  const bType = check8Bit(node, inputs, B, "B");
  const a = inputs[A]!, b = inputs[B]!;
  if (a.shape.length !== 2 || b.shape.length !== 2) {
    throw new Error(`${label}: A and B must be 2-D, got [${a.shape}] and [${b.shape}]`);
  }
  const transA = intAttr(node, "transA", 0) !== 0, transB = intAttr(node, "transB", 0) !== 0;
  const [m, k] = transA ? [a.shape[1], a.shape[0]] : a.shape;
  const [kb, n] = transB ? [b.shape[1], b.shape[0]] : b.shape;
  if (k !== kb) {
    throw new Error(`${label}: inner dimensions differ: A [${a.shape}], B [${b.shape}]`);
  }
  checkScale(node, inputs, AS, "a_scale");
  checkScale(node, inputs, BS, "b_scale", n);
  checkZeroPoint(node, inputs, AZ, "a_zero_point", aType);
  checkZeroPoint(node, inputs, BZ, "b_zero_point", bType, n);
  const c = inputs[C];
  if (c) {
    const ok = c.dtype === "i32" && c.shape.length <= 2 &&
      c.shape.every((d, i) => d === 1 || d === (c.shape.length - i === 1 ? n : m));
    if (!ok) {
      throw new Error(
        `${label}: C must be i32 broadcastable to [${m}, ${n}], got ${c.dtype} [${c.shape}]`,
      );
    }
  }
  let dtype: QGemmGeometry["dtype"] = "f32";
  if (inputs[YS]) {
    checkScale(node, inputs, YS, "y_scale");
    dtype = check8Bit(node, inputs, YZ, "y_zero_point");
  }
  return { m, n, k, transA, transB, alpha: f32(floatAttr(node, "alpha", 1)), dtype };
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const g = qgemmGeometry(node, inputs);
  return [{ dtype: g.dtype, shape: [g.m, g.n] }];
}

/** C's value at output (i, j) under its broadcast (0 without C). */
function biasAt(c: Tensor | undefined, i: number, j: number): number {
  if (!c) return 0;
  const [rows, cols] = c.shape.length === 2 ? c.shape : [1, c.shape[0] ?? 1];
  return c.data[(rows === 1 ? 0 : i) * cols + (cols === 1 ? 0 : j)];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const g = qgemmGeometry(node, inputs);
  const a = inputs[A]!.data, b = inputs[B]!.data;
  const az = scalarValue(inputs[AZ]);
  const y = makeTensor(g.dtype, [g.m, g.n]);
  const base = f32(g.alpha * scalarValue(inputs[AS]));
  const quantized = g.dtype !== "f32";
  const [qmin, qmax] = quantized ? quantRange(g.dtype) : [0, 0];
  const yz = scalarValue(inputs[YZ]);
  for (let j = 0; j < g.n; j++) {
    let scale = f32(base * channelValue(inputs[BS], j));
    if (quantized) scale = f32(scale / scalarValue(inputs[YS]));
    const bz = channelValue(inputs[BZ], j);
    for (let i = 0; i < g.m; i++) {
      let acc = biasAt(inputs[C], i, j);
      for (let p = 0; p < g.k; p++) {
        const av = a[g.transA ? p * g.m + i : i * g.k + p];
        const bv = b[g.transB ? j * g.k + p : p * g.n + j];
        acc += (av - az) * (bv - bz);
      }
      acc = wrapInt32(acc);
      y.data[i * g.n + j] = quantized
        ? requantize(acc, scale, yz, qmin, qmax)
        : f32(int32ToF32(acc) * scale);
    }
  }
  return [y];
}

/** QGemm on u8/i8 matrices with int32 bias, quantized or f32 output (CPU). */
export const qgemm: OpDef = { op: "QGemm", inferTypes, reference };
