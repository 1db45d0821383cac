/**
 * QLinearAveragePool (com.microsoft opset 1): AveragePool of u8/i8 data (NCHW, or NHWC with
 * `channels_last`) as onnxruntime computes it (contrib_ops/cpu/quantization/qlinear_pool.cc):
 * - a window covering the whole image without padding falls back to
 *   QLinearGlobalAveragePool's exact integer arithmetic;
 * - otherwise each input is dequantized in f32 (`x_scale * (x - x_zp)`), the window is summed
 *   in f32 row by row, divided in f32 by its element count (the full kernel size with
 *   `count_include_pad`, else the window clipped to the input), and quantized as
 *   `nearbyint(y / y_scale + y_zp)` in f32, then saturated. The window is clipped to the
 *   input (not to the padded input), as onnxruntime does.
 *
 * Inputs `X, x_scale, x_zero_point, y_scale, y_zero_point`; attributes `kernel_shape`,
 * `strides`, `pads`, `ceil_mode`, `count_include_pad`, `auto_pad`, `channels_last`.
 * CPU only; lowerInt8 turns the whole-image case into QLinearGlobalAveragePool.
 *
 * @module
 */

import { makeTensor, type Node, type Tensor, type TensorType } from "../graph/types.ts";
import { intAttr, nodeLabel, requireOutputs } from "./attributes.ts";
import type { OpDef } from "./op.ts";
import { type PoolWindow, poolWindow } from "./pool_window.ts";
import { qlinearGlobalAveragePool } from "./qlinear_global_average_pool.ts";
import { dequantize, f32, quantRange, roundHalfEven } from "./quant_math.ts";
import { check8Bit, checkScale, checkZeroPoint, scalarValue } from "./qlinear_operands.ts";

const X = 0, XS = 1, XZ = 2, YS = 3, YZ = 4;

interface AvgGeometry {
  n: number;
  c: number;
  h: number;
  w: number;
  last: boolean;
  window: PoolWindow;
  dtype: "u8" | "i8";
  outShape: number[];
}

/** Validates the node; exported for lowerInt8, which needs `isGlobal`. */
export function averagePoolGeometry(
  node: Node,
  inputs: readonly (TensorType | undefined)[],
): AvgGeometry {
  requireOutputs(node, 1);
  if (inputs.length !== 5) {
    throw new Error(`${nodeLabel(node)}: needs 5 inputs, got ${inputs.length}`);
  }
  const dtype = check8Bit(node, inputs, X, "X");
  checkScale(node, inputs, XS, "x_scale");
  checkScale(node, inputs, YS, "y_scale");
  checkZeroPoint(node, inputs, XZ, "x_zero_point", dtype);
  checkZeroPoint(node, inputs, YZ, "y_zero_point", dtype);
  const x = inputs[X]!;
  if (x.shape.length !== 4) throw new Error(`${nodeLabel(node)}: X must be 4-D, got [${x.shape}]`);
  const last = intAttr(node, "channels_last", 0) !== 0;
  const [n, c, h, w] = last ? [x.shape[0], x.shape[3], x.shape[1], x.shape[2]] : x.shape;
  const window = poolWindow(node, [h, w], { dilations: false });
  const [oh, ow] = [window[0].out, window[1].out];
  return { n, c, h, w, last, window, dtype, outShape: last ? [n, oh, ow, c] : [n, c, oh, ow] };
}

/** True when the window is the whole image with no padding (onnxruntime's global fallback). */
export function isGlobal(g: AvgGeometry): boolean {
  return g.window.every((a, i) => a.kernel === [g.h, g.w][i] && a.padBegin === 0 && a.padEnd === 0);
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const g = averagePoolGeometry(node, inputs);
  return [{ dtype: g.dtype, shape: g.outShape }];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const g = averagePoolGeometry(node, inputs);
  if (isGlobal(g)) {
    const global: Node = {
      ...node,
      op: "QLinearGlobalAveragePool",
      attrs: { channels_last: g.last ? 1 : 0 },
    };
    return qlinearGlobalAveragePool.reference(global, inputs);
  }
  const x = inputs[X]!.data;
  const xs = scalarValue(inputs[XS]), xz = scalarValue(inputs[XZ]);
  const ys = scalarValue(inputs[YS]), yz = scalarValue(inputs[YZ]);
  const [qmin, qmax] = quantRange(g.dtype);
  const includePad = intAttr(node, "count_include_pad", 0) !== 0;
  const [hAxis, wAxis] = g.window;
  const y = makeTensor(g.dtype, g.outShape);
  const at = (n: number, c: number, i: number, j: number) =>
    g.last ? ((n * g.h + i) * g.w + j) * g.c + c : ((n * g.c + c) * g.h + i) * g.w + j;
  const out = (n: number, c: number, i: number, j: number) =>
    g.last
      ? ((n * hAxis.out + i) * wAxis.out + j) * g.c + c
      : ((n * g.c + c) * hAxis.out + i) * wAxis.out + j;
  for (let n = 0; n < g.n; n++) {
    for (let c = 0; c < g.c; c++) {
      for (let oy = 0; oy < hAxis.out; oy++) {
        const h0 = oy * hAxis.stride - hAxis.padBegin;
        const hEnd = Math.min(h0 + hAxis.kernel, g.h), hStart = Math.max(h0, 0);
        for (let ox = 0; ox < wAxis.out; ox++) {
          const w0 = ox * wAxis.stride - wAxis.padBegin;
          const wEnd = Math.min(w0 + wAxis.kernel, g.w), wStart = Math.max(w0, 0);
          let sum = 0;
          for (let i = hStart; i < hEnd; i++) {
            for (let j = wStart; j < wEnd; j++) {
              sum = f32(sum + dequantize(x[at(n, c, i, j)], xs, xz));
            }
          }
          const count = includePad
            ? hAxis.kernel * wAxis.kernel
            : (hEnd - hStart) * (wEnd - wStart);
          const mean = f32(sum / count);
          const q = roundHalfEven(f32(f32(mean / ys) + yz));
          y.data[out(n, c, oy, ox)] = Math.min(Math.max(q, qmin), qmax);
        }
      }
    }
  }
  return [y];
}

/** QLinearAveragePool on u8/i8 tensors (CPU). */
export const qlinearAveragePool: OpDef = { op: "QLinearAveragePool", inferTypes, reference };
