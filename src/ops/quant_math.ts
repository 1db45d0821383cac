/**
 * The scalar arithmetic of onnxruntime's CPU int8 kernels (MLAS), reproduced bit for bit in
 * JavaScript: single-precision rounding of every float step, round-half-to-even conversion to
 * integers, and saturation. Every int8 reference kernel and every host-side table builder uses
 * these helpers, so the formulas are written once. docs/INT8.md cites the MLAS sources.
 *
 * Precision: JavaScript numbers are binary64. `Math.fround(a op b)` of two f32 values is the
 * correctly rounded f32 result for +, -, *, / (binary64 has more than 2p + 2 bits), so the
 * helpers round after each operation exactly as the C++ code does. Only the fused
 * multiply-add needs care (`fmaF32`).
 *
 * @module
 */

import type { DType } from "../graph/types.ts";

/** Rounds to the nearest f32 (the single-precision result of one IEEE operation). */
export const f32 = Math.fround;

/** The inclusive integer range of an 8-bit dtype. */
export function quantRange(dtype: DType): [number, number] {
  if (dtype === "u8") return [0, 255];
  if (dtype === "i8") return [-128, 127];
  throw new Error(`Quantized tensors must be u8 or i8, got ${dtype}`);
}

/**
 * Rounds `x` to the nearest integer, halfway cases to the even neighbour: C's `nearbyintf`
 * and SSE `cvtps2dq` under the default MXCSR, and WGSL's `round`.
 */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** `a * b + c` rounded once to f32, for f32 `a`, `b`, `c` (an exact fused multiply-add). */
export function fmaF32(a: number, b: number, c: number): number {
  const p = a * b; // exact: two 24-bit significands make at most 48 bits
  const s = p + c;
  // TwoSum: the binary64 rounding error of s, exactly.
  const bb = s - p;
  const err = (p - (s - bb)) + (c - bb);
  const r = f32(s);
  if (err === 0) return r;
  // s is correctly rounded only up to binary64; rounding it to f32 is wrong only when s lies
  // exactly halfway between two f32 values, where err tells which side the true value is on.
  const d = s - r;
  const other = r + 2 * d;
  const tie = d !== 0 && f32(other) === other;
  return tie && (err > 0) === (d > 0) ? other : r;
}

/** Converts an int32 value to f32 (round half to even), like `cvtdq2ps` / `static_cast<float>`. */
export function int32ToF32(v: number): number {
  return f32(v);
}

/** Wraps an integer to int32, as C++ int32 arithmetic does. */
export function wrapInt32(v: number): number {
  return v | 0;
}

/**
 * MLAS `MlasRequantizeOutput`: `acc` (int32, bias already added) to f32, times the f32
 * `scale`, clamped to `[qmin - zp, qmax - zp]`, rounded half to even, plus `zp`.
 */
export function requantize(acc: number, scale: number, zp: number, qmin: number, qmax: number) {
  const scaled = f32(int32ToF32(acc) * scale);
  const clamped = Math.min(Math.max(scaled, qmin - zp), qmax - zp);
  return roundHalfEven(clamped) + zp;
}

/**
 * MLAS `MlasQuantizeLinear`: `x / scale` in f32, clamped to `[qmin - zp, qmax - zp]`, rounded
 * half to even, plus `zp`. NaN quantizes to `qmin`, as `maxps` returns its second operand.
 */
export function quantize(x: number, scale: number, zp: number, qmin: number, qmax: number) {
  const q = f32(x / scale);
  if (Number.isNaN(q)) return qmin;
  return roundHalfEven(Math.min(Math.max(q, qmin - zp), qmax - zp)) + zp;
}

/** DequantizeLinear: `f32(x - zp) * scale` in f32 (int32 inputs round on conversion). */
export function dequantize(x: number, scale: number, zp: number): number {
  return f32(int32ToF32(wrapInt32(x - zp)) * scale);
}

/**
 * The requantization multiplier of QLinearConv and QLinearMatMul:
 * `x_scale * w_scale / y_scale`, evaluated left to right in f32.
 */
export function outputScale(xScale: number, wScale: number, yScale: number): number {
  return f32(f32(xScale * wScale) / yScale);
}

/** The constants of MLAS `MlasQLinearAdd` for one node (see `qlinearAddValue`). */
export interface QLinearAddConstants {
  /** `f32(scale_S / scale_C)` and `f32(scale_T / scale_C)`. */
  ratioS: number;
  ratioT: number;
  /** `f32(zp_C - fma(ratioS, zp_S, f32(ratioT * zp_T)))`. */
  fixed: number;
}

/**
 * The constants of onnxruntime's x86-64 AVX2 QLinearAdd kernel (`MlasQLinearAddKernelAvx2Helper`,
 * built with FMA contraction) for operand roles S (the span operand) and T.
 */
export function qlinearAddConstants(
  scaleS: number,
  zpS: number,
  scaleT: number,
  zpT: number,
  scaleC: number,
  zpC: number,
): QLinearAddConstants {
  const ratioS = f32(scaleS / scaleC);
  const ratioT = f32(scaleT / scaleC);
  const fixed = f32(zpC - fmaF32(ratioS, zpS, f32(ratioT * zpT)));
  return { ratioS, ratioT, fixed };
}

/**
 * One QLinearAdd output: `fma(s, ratioS, fma(t, ratioT, fixed))`, rounded half to even and
 * saturated to `[qmin, qmax]` (the zero point is inside `fixed`).
 */
export function qlinearAddValue(
  s: number,
  t: number,
  k: QLinearAddConstants,
  qmin: number,
  qmax: number,
): number {
  const c = fmaF32(s, k.ratioS, fmaF32(t, k.ratioT, k.fixed));
  return Math.min(Math.max(roundHalfEven(c), qmin), qmax);
}
