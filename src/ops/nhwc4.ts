/**
 * The packed channels-last layout of 8-bit activations on the int8 path ("NHWC4"): an
 * [N, C, H, W] tensor is stored as [N, H, W, Cp] with Cp = C rounded up to a multiple of 4,
 * so each u32 word holds four channels of one pixel and a convolution reads them with one
 * `dot4I8Packed`. Channels C..Cp-1 are padding: every int8 op defines what it writes there
 * and never lets them affect real channels (their weights are the weight zero point).
 * docs/ARCHITECTURE.md ("int8") describes where the layout is used.
 *
 * @module
 */

import type { Node, TensorType } from "../graph/types.ts";
import { nodeLabel } from "./attributes.ts";
import { CONV_WINDOW_UNIFORMS, type ConvWindow, convWindowUniforms } from "./conv_window.ts";

/** `c` rounded up to a multiple of 4. */
export function padChannels(c: number): number {
  return Math.ceil(c / 4) * 4;
}

/** The NHWC4 shape of an NCHW shape. */
export function nhwc4Shape([n, c, h, w]: readonly number[]): number[] {
  return [n, h, w, padChannels(c)];
}

/** Checks `t` is a rank-4 u8/i8 NHWC4 tensor (last dim a multiple of 4) and returns its dims. */
export function checkNhwc4(node: Node, t: TensorType | undefined, what: string) {
  if (
    !t || (t.dtype !== "u8" && t.dtype !== "i8") || t.shape.length !== 4 || t.shape[3] % 4 !== 0
  ) {
    throw new Error(
      `${nodeLabel(node)}: ${what} must be a u8/i8 NHWC4 tensor [N, H, W, C padded to 4], got ` +
        (t ? `${t.dtype} [${t.shape}]` : "nothing"),
    );
  }
  const [n, h, w, cp] = t.shape;
  return { n, h, w, cp, dtype: t.dtype };
}

/** The shape of a convolution on NHWC4 tensors: batch, input, output and their packed channels. */
export interface Nhwc4ConvShape extends ConvWindow {
  /** Batch, input size, packed input channels (a multiple of 4). */
  n: number;
  h: number;
  w: number;
  cp: number;
  /** Output size, packed output channels (a multiple of 4). */
  oh: number;
  ow: number;
  mp: number;
  /** The activation byte that taps outside the image read (the input zero point). */
  xPad: number;
}

/** Uniform fields of an `Nhwc4ConvShape` (channels as words), to spread into a uniformLayout. */
export const NHWC4_CONV_UNIFORMS = {
  h: "u32",
  w: "u32",
  cw: "u32",
  oh: "u32",
  ow: "u32",
  mw: "u32",
  ...CONV_WINDOW_UNIFORMS,
  x_pad: "u32",
} as const;

/** The values of `NHWC4_CONV_UNIFORMS` for `g`: `x_pad` is its byte repeated in a word. */
export function nhwc4ConvUniforms(g: Nhwc4ConvShape) {
  return {
    h: g.h,
    w: g.w,
    cw: g.cp / 4,
    oh: g.oh,
    ow: g.ow,
    mw: g.mp / 4,
    ...convWindowUniforms(g),
    x_pad: ((g.xPad & 0xff) * 0x01010101) >>> 0,
  };
}
