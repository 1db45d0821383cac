/**
 * QLinearConv (ONNX opset 10): 2-D convolution of u8/i8 NCHW data with u8/i8 weights, per
 * tensor or per output channel scales and zero points, optional int32 bias, grouped and
 * depthwise, with onnxruntime's arithmetic: the exact int32 sum of
 * `(x - x_zp) * (w - w_zp)` plus the bias, requantized with the multiplier
 * `x_scale * w_scale[m] / y_scale` (f32, left to right) by MLAS `MlasRequantizeOutput`
 * (quant_math.ts). Padding taps read `x_zp` and so add nothing.
 *
 * Inputs: `X, x_scale, x_zero_point, W, w_scale, w_zero_point, y_scale, y_zero_point, B?`.
 * CPU only (plain loops); the GPU runs the lowered `QLinearConvNhwc` (qlinear_conv_nhwc.ts)
 * that the lowerInt8 pass makes of it.
 *
 * @module
 */

import { makeTensor, type Node, type Tensor, type TensorType } from "../graph/types.ts";
import { type ConvGeometry, convGeometry } from "./conv.ts";
import type { OpDef } from "./op.ts";
import { outputScale, quantRange, requantize, wrapInt32 } from "./quant_math.ts";
import {
  channelValue,
  check8Bit,
  checkScale,
  checkZeroPoint,
  scalarValue,
} from "./qlinear_operands.ts";
import { nodeLabel } from "./attributes.ts";

const X = 0, XS = 1, XZ = 2, W = 3, WS = 4, WZ = 5, YS = 6, YZ = 7, B = 8;

/** The geometry of a QLinearConv node (shapes only) and its output dtype. */
export function qlinearConvGeometry(
  node: Node,
  inputs: readonly (TensorType | undefined)[],
): ConvGeometry & { dtype: "u8" | "i8" } {
  if (inputs.length < 8 || inputs.length > 9) {
    throw new Error(`${nodeLabel(node)}: needs 8 or 9 inputs, got ${inputs.length}`);
  }
  const xType = check8Bit(node, inputs, X, "X");
  const wType = check8Bit(node, inputs, W, "W");
  const shapeOnly = (i: number): TensorType => ({ dtype: "f32", shape: inputs[i]!.shape });
  const g = convGeometry(node, [shapeOnly(X), shapeOnly(W)]);
  checkScale(node, inputs, XS, "x_scale");
  checkScale(node, inputs, WS, "w_scale", g.m);
  checkScale(node, inputs, YS, "y_scale");
  checkZeroPoint(node, inputs, XZ, "x_zero_point", xType);
  checkZeroPoint(node, inputs, WZ, "w_zero_point", wType, g.m);
  const yType = check8Bit(node, inputs, YZ, "y_zero_point");
  const bias = inputs[B];
  if (bias && (bias.dtype !== "i32" || bias.shape.length !== 1 || bias.shape[0] !== g.m)) {
    throw new Error(
      `${nodeLabel(node)}: B must be i32 [${g.m}], got ${bias.dtype} [${bias.shape}]`,
    );
  }
  return { ...g, dtype: yType };
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const g = qlinearConvGeometry(node, inputs);
  return [{ dtype: g.dtype, shape: [g.n, g.m, g.oh, g.ow] }];
}

/** The int32 accumulator of output (n, m, oh, ow): bias plus the zero-point-free products. */
function accumulate(
  g: ConvGeometry,
  inputs: (Tensor | undefined)[],
  n: number,
  m: number,
  oh: number,
  ow: number,
): number {
  const x = inputs[X]!.data, w = inputs[W]!.data;
  const xzp = scalarValue(inputs[XZ]);
  const wzp = channelValue(inputs[WZ], m);
  const c0 = Math.floor(m / g.mg) * g.cg;
  let acc = inputs[B] ? inputs[B].data[m] : 0;
  for (let cc = 0; cc < g.cg; cc++) {
    for (let i = 0; i < g.kh; i++) {
      const ih = oh * g.strideH - g.padT + i * g.dilH;
      if (ih < 0 || ih >= g.h) continue;
      for (let j = 0; j < g.kw; j++) {
        const iw = ow * g.strideW - g.padL + j * g.dilW;
        if (iw < 0 || iw >= g.w) continue;
        const xv = x[((n * g.c + c0 + cc) * g.h + ih) * g.w + iw] - xzp;
        acc += xv * (w[((m * g.cg + cc) * g.kh + i) * g.kw + j] - wzp);
      }
    }
  }
  return wrapInt32(acc);
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const g = qlinearConvGeometry(node, inputs);
  const [qmin, qmax] = quantRange(g.dtype);
  const xs = scalarValue(inputs[XS]), ys = scalarValue(inputs[YS]);
  const yzp = scalarValue(inputs[YZ]);
  const y = makeTensor(g.dtype, [g.n, g.m, g.oh, g.ow]);
  let index = 0;
  for (let n = 0; n < g.n; n++) {
    for (let m = 0; m < g.m; m++) {
      const scale = outputScale(xs, channelValue(inputs[WS], m), ys);
      for (let oh = 0; oh < g.oh; oh++) {
        for (let ow = 0; ow < g.ow; ow++) {
          const acc = accumulate(g, inputs, n, m, oh, ow);
          y.data[index++] = requantize(acc, scale, yzp, qmin, qmax);
        }
      }
    }
  }
  return [y];
}

/** QLinearConv on u8/i8 NCHW tensors (CPU). */
export const qlinearConv: OpDef = { op: "QLinearConv", inferTypes, reference };
