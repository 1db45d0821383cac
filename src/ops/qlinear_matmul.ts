/**
 * QLinearMatMul (ONNX opset 10): numpy MatMul of u8/i8 A and B with the batch dims broadcast,
 * computed as onnxruntime does: the exact int32 sum of `(a - a_zp) * (b - b_zp[n])`,
 * requantized with the multiplier `a_scale * b_scale[n] / y_scale` (f32, left to right) by
 * MLAS `MlasRequantizeOutput`. B's scale and zero point are per tensor or per column (N).
 *
 * Inputs: `A, a_scale, a_zero_point, B, b_scale, b_zero_point, y_scale, y_zero_point`.
 * CPU only; the GPU runs the `QGemmPacked` (qgemm_packed.ts) that lowerInt8 makes of it.
 *
 * @module
 */

import { makeTensor, type Node, type Tensor, type TensorType } from "../graph/types.ts";
import { nodeLabel, requireOutputs } from "./attributes.ts";
import { batchOffsets, matMulGeometry } from "./matmul.ts";
import type { OpDef } from "./op.ts";
import { outputScale, quantRange, requantize, wrapInt32 } from "./quant_math.ts";
import {
  channelValue,
  check8Bit,
  checkScale,
  checkZeroPoint,
  scalarValue,
} from "./qlinear_operands.ts";

const A = 0, AS = 1, AZ = 2, B = 3, BS = 4, BZ = 5, YS = 6, YZ = 7;

function geometry(node: Node, inputs: readonly (TensorType | undefined)[]) {
  requireOutputs(node, 1);
  if (inputs.length !== 8) {
    throw new Error(`${nodeLabel(node)}: needs 8 inputs, got ${inputs.length}`);
  }
  const aType = check8Bit(node, inputs, A, "A");
  const bType = check8Bit(node, inputs, B, "B");
  const shapeOnly = (i: number): TensorType => ({ dtype: "f32", shape: inputs[i]!.shape });
  const g = matMulGeometry(node, [shapeOnly(A), shapeOnly(B)]);
  checkScale(node, inputs, AS, "a_scale");
  checkScale(node, inputs, BS, "b_scale", g.n);
  checkScale(node, inputs, YS, "y_scale");
  checkZeroPoint(node, inputs, AZ, "a_zero_point", aType);
  checkZeroPoint(node, inputs, BZ, "b_zero_point", bType, g.n);
  return { ...g, dtype: check8Bit(node, inputs, YZ, "y_zero_point") };
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const g = geometry(node, inputs);
  return [{ dtype: g.dtype, shape: g.shape }];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const g = geometry(node, inputs);
  const a = inputs[A]!.data, b = inputs[B]!.data;
  const az = scalarValue(inputs[AZ]), yz = scalarValue(inputs[YZ]);
  const as = scalarValue(inputs[AS]), ys = scalarValue(inputs[YS]);
  const [qmin, qmax] = quantRange(g.dtype);
  const scales = Array.from(
    { length: g.n },
    (_, j) => outputScale(as, channelValue(inputs[BS], j), ys),
  );
  const y = makeTensor(g.dtype, g.shape);
  for (let t = 0; t < g.batches; t++) {
    const [aOff, bOff] = batchOffsets(g.batch, t);
    for (let i = 0; i < g.m; i++) {
      for (let j = 0; j < g.n; j++) {
        const bz = channelValue(inputs[BZ], j);
        let acc = 0;
        for (let p = 0; p < g.k; p++) {
          acc += (a[aOff + i * g.k + p] - az) * (b[bOff + p * g.n + j] - bz);
        }
        y.data[(t * g.m + i) * g.n + j] = requantize(wrapInt32(acc), scales[j], yz, qmin, qmax);
      }
    }
  }
  return [y];
}

/** QLinearMatMul on u8/i8 tensors (CPU). */
export const qlinearMatMul: OpDef = { op: "QLinearMatMul", inferTypes, reference };
