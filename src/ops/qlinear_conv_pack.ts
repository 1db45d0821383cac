/**
 * Conversion-time packing of a QLinearConv into the operands of QLinearConvNhwc
 * (qlinear_conv_nhwc.ts): weights moved to i8 (u8 weights and their zero points shifted by
 * -128, which keeps every `w - w_zp`), laid out OHWI with input channels padded to 4 (dense)
 * or as [kh, kw, Cp] (depthwise), grouped convs expanded block-diagonally with the weight zero
 * point outside each group, and the zero points folded into one int32 constant per channel:
 *
 *   sum (x - x_zp)(w - w_zp) = sum x'w' - z' sum x' + (o - x_zp)(sum w' - K z')
 *
 * with x' = x - o (o = 128 for u8 activations, 0 for i8), w' and z' the i8 weights and zero
 * point, and every sum over the K packed entries the kernel visits (taps outside the image
 * read x_zp, so they add nothing on either side). B = bias + (o - x_zp)(sum w' - K z').
 *
 * @module
 */

import { type Attributes, makeTensor, type Node, type Tensor } from "../graph/types.ts";
import { padChannels } from "./nhwc4.ts";
import { qlinearConvGeometry } from "./qlinear_conv.ts";
import { outputScale } from "./quant_math.ts";
import { channelValue, scalarValue } from "./qlinear_operands.ts";

/** The packed operands and attributes of a QLinearConvNhwc. */
export interface PackedConv {
  /** W, B, S and (when some weight zero point is nonzero) Z. */
  weights: Tensor;
  bias: Tensor;
  scale: Tensor;
  zeroPoints?: Tensor;
  /** Geometry and zero-point attributes (residual ones are added by the caller). */
  attrs: Attributes;
  /** Output channels before padding. */
  channels: number;
}

/**
 * Packs QLinearConv `node`'s constant operands (`inputs` in QLinearConv order; X only needs
 * its type) for QLinearConvNhwc.
 */
export function packQLinearConv(node: Node, inputs: readonly (Tensor | undefined)[]): PackedConv {
  const g = qlinearConvGeometry(node, inputs);
  const [x, xs, xz, w, ws, wz, ys, yz, b] = inputs;
  const depthwise = g.cg === 1 && g.mg === 1;
  const cp = padChannels(g.c);
  const mp = depthwise ? cp : padChannels(g.m);
  const taps = g.kh * g.kw;
  const shift = w!.dtype === "u8" ? 128 : 0;
  const offset = x!.dtype === "u8" ? 128 : 0;
  const xZero = scalarValue(xz);
  const packed = makeTensor("i8", depthwise ? [g.kh, g.kw, cp] : [mp, g.kh, g.kw, cp]);
  const bias = makeTensor("i32", [mp]);
  const scale = makeTensor("f32", [mp]);
  const zps = makeTensor("i32", [mp]);
  const rowSize = depthwise ? taps : taps * cp;
  for (let m = 0; m < g.m; m++) {
    const z = channelValue(wz, m) - shift;
    const c0 = Math.floor(m / g.mg) * g.cg;
    let sum = 0;
    const put = (tap: number, c: number, v: number) => {
      packed.data[depthwise ? tap * cp + c : (m * taps + tap) * cp + c] = v;
      sum += v;
    };
    for (let tap = 0; tap < taps; tap++) {
      if (depthwise) {
        put(tap, m, w!.data[m * taps + tap] - shift);
        continue;
      }
      for (let c = 0; c < cp; c++) {
        const inGroup = c >= c0 && c < c0 + g.cg;
        put(tap, c, inGroup ? w!.data[(m * g.cg + c - c0) * taps + tap] - shift : z);
      }
    }
    bias.data[m] = (b ? b.data[m] : 0) + (offset - xZero) * (sum - rowSize * z);
    scale.data[m] = outputScale(scalarValue(xs), channelValue(ws, m), scalarValue(ys));
    zps.data[m] = z;
  }
  const attrs: Attributes = {
    kernel_shape: [g.kh, g.kw],
    strides: [g.strideH, g.strideW],
    dilations: [g.dilH, g.dilW],
    pads: [
      g.padT,
      g.padL,
      padEnd(g.h, g.kh, g.strideH, g.dilH, g.padT, g.oh),
      padEnd(g.w, g.kw, g.strideW, g.dilW, g.padL, g.ow),
    ],
    x_pad: xZero,
    y_zero_point: scalarValue(yz),
  };
  const anyZero = zps.data.some((v) => v !== 0);
  return {
    weights: packed,
    bias,
    scale,
    ...(anyZero && { zeroPoints: zps }),
    attrs,
    channels: g.m,
  };
}

/** The trailing padding that gives `out` outputs (the smallest; extra is never read). */
function padEnd(size: number, k: number, stride: number, dil: number, begin: number, out: number) {
  return Math.max(0, (out - 1) * stride + (k - 1) * dil + 1 - size - begin);
}
