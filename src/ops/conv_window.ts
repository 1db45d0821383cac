/**
 * The 2-D sliding-window geometry that convolutions and NHWC4 pooling share, on the CPU and as
 * shader uniforms: kernel size, strides, dilations and leading padding.
 *
 * @module
 */

import type { PoolWindow } from "./pool_window.ts";

/** Kernel size, strides, dilations and leading padding of a 2-D window. */
export interface ConvWindow {
  /** Kernel size, strides, dilations. */
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  dilH: number;
  dilW: number;
  /** Leading (top, left) padding; trailing padding only shapes the output size. */
  padT: number;
  padL: number;
}

/** The `ConvWindow` of a pool_window.ts geometry. */
export function convWindowOf([wh, ww]: PoolWindow): ConvWindow {
  return {
    kh: wh.kernel,
    kw: ww.kernel,
    strideH: wh.stride,
    strideW: ww.stride,
    dilH: wh.dilation,
    dilW: ww.dilation,
    padT: wh.padBegin,
    padL: ww.padBegin,
  };
}

/** Uniform fields of a `ConvWindow`, to spread into a uniformLayout. */
export const CONV_WINDOW_UNIFORMS = {
  kh: "u32",
  kw: "u32",
  stride_h: "u32",
  stride_w: "u32",
  dil_h: "u32",
  dil_w: "u32",
  pad_t: "i32",
  pad_l: "i32",
} as const;

/** The values of `CONV_WINDOW_UNIFORMS` for `g`. */
export function convWindowUniforms(g: ConvWindow) {
  return {
    kh: g.kh,
    kw: g.kw,
    stride_h: g.strideH,
    stride_w: g.strideW,
    dil_h: g.dilH,
    dil_w: g.dilW,
    pad_t: g.padT,
    pad_l: g.padL,
  };
}
