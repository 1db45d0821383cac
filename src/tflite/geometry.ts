/**
 * Layout and window arithmetic shared by the TFLite import rules: TFLite's SAME/VALID padding
 * as explicit pads, and moving constant NHWC-ordered data to NCHW.
 *
 * @module
 */

import { type Attributes, makeTensor, type Tensor } from "../graph/types.ts";
import type { OpScope } from "./op_scope.ts";
import { OPTIONS_TYPE, type Pool2DOptions, pool2DOptions, type TflitePadding } from "./schema.ts";

/** Window attributes of a 2-D conv or pool in resin's (ONNX) form. */
export interface WindowAttrs {
  kernel_shape: number[];
  strides: number[];
  dilations: number[];
  /** `[top, left, bottom, right]`. */
  pads: number[];
}

/**
 * The explicit pads of a TFLite window over the NHWC input of `s` (input 0): SAME is ONNX's
 * SAME_UPPER (out = ceil(in / stride), the odd padding unit at the end), VALID pads nothing.
 * The output size must equal the operator's output tensor.
 */
export function windowAttrs(
  s: OpScope,
  padding: TflitePadding,
  kernel: [number, number],
  strides: [number, number],
  dilations: [number, number] = [1, 1],
): WindowAttrs {
  const [, h, w] = s.shape(0);
  const [, oh, ow] = s.outputShape();
  const pads = [0, 0, 0, 0];
  [h, w].forEach((size, i) => {
    const stride = strides[i];
    const extent = (kernel[i] - 1) * dilations[i] + 1;
    if (!(stride >= 1) || !(dilations[i] >= 1) || !(kernel[i] >= 1)) {
      s.fail(
        `needs positive strides, dilations and kernel, got ${strides}, ${dilations}, ${kernel}`,
      );
    }
    const out = padding === "SAME"
      ? Math.ceil(size / stride)
      : Math.floor((size - extent) / stride) + 1;
    if (out !== [oh, ow][i]) {
      s.fail(
        `output ${["height", "width"][i]} is ${[oh, ow][i]}, but ${padding} padding of ` +
          `${size} with kernel ${kernel[i]}, stride ${stride} gives ${out}`,
      );
    }
    if (padding === "SAME") {
      const total = Math.max(0, (out - 1) * stride + extent - size);
      pads[i] = Math.floor(total / 2);
      pads[i + 2] = total - pads[i];
    }
  });
  return { kernel_shape: kernel, strides, dilations, pads };
}

/**
 * A pooling operator's Pool2DOptions and its window as `kernel_shape`, `strides`, `pads`
 * (TFLite pools have no dilation).
 */
export function poolAttrs(s: OpScope): { options: Pool2DOptions; attrs: Attributes } {
  const options = pool2DOptions(s.options(OPTIONS_TYPE.Pool2DOptions, "Pool2DOptions"));
  const { kernel_shape, strides, pads } = windowAttrs(
    s,
    options.padding,
    [options.filterH, options.filterW],
    [options.strideH, options.strideW],
  );
  return { options, attrs: { kernel_shape, strides, pads } };
}

/** NHWC axis -> NCHW axis of a 4-D tensor. */
export const NCHW_AXIS_OF_NHWC = [0, 2, 3, 1] as const;

/**
 * A constant in NHWC order, broadcast-aligned to rank 4 (leading 1s), transposed to NCHW: the
 * form a 4-D NCHW activation's binary operand needs.
 */
export function constantToNchw(t: Tensor): Tensor {
  const shape = [...Array(4 - t.shape.length).fill(1), ...t.shape];
  const [n, h, w, c] = shape;
  const out = makeTensor(t.dtype, [n, c, h, w]);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let ch = 0; ch < c; ch++) {
          out.data[((b * c + ch) * h + y) * w + x] = t.data[((b * h + y) * w + x) * c + ch];
        }
      }
    }
  }
  return out;
}

/** Conv weights `[O, kh, kw, I]` (OHWI) -> `[O, I, kh, kw]` (OIHW). */
export function ohwiToOihw(t: Tensor): Tensor {
  const [o, kh, kw, i] = t.shape;
  const out = makeTensor(t.dtype, [o, i, kh, kw]);
  for (let a = 0; a < o; a++) {
    for (let y = 0; y < kh; y++) {
      for (let x = 0; x < kw; x++) {
        for (let c = 0; c < i; c++) {
          out.data[((a * i + c) * kh + y) * kw + x] = t.data[((a * kh + y) * kw + x) * i + c];
        }
      }
    }
  }
  return out;
}

/**
 * Depthwise weights `[1, kh, kw, C*M]` -> `[C*M, 1, kh, kw]`: output channel `c*M + m` of a
 * depthwise conv is group `c` of a grouped conv with M outputs per group.
 */
export function depthwiseToOihw(t: Tensor): Tensor {
  const [, kh, kw, cm] = t.shape;
  const out = makeTensor(t.dtype, [cm, 1, kh, kw]);
  for (let p = 0; p < kh * kw; p++) {
    for (let c = 0; c < cm; c++) out.data[c * kh * kw + p] = t.data[p * cm + c];
  }
  return out;
}
