/**
 * The requantization epilogue of the TFLite int8 ops with an int32 accumulator (TflConv,
 * TflFullyConnected): the accumulator of output channel m becomes an int8 through the
 * channel's entry of the requantization tensor R, then is clamped to the fused activation's
 * range `[act_min, act_max]`. R's dtype selects the arithmetic:
 *
 * - R f32 `[M]`, "float" (XNNPACK, what LiteRT's CPU path runs): the f32 scale
 *   `f32(f32(s_x * s_w[m]) / s_y)`, applied as `requantize` of quant_math.ts (the int32 to f32
 *   conversion rounding half to even, one f32 product, clamp, round half to even, + zero point);
 * - R i32 `[M, 2]`, "fixed point" (TFLite's reference kernels): the pair (multiplier, shift)
 *   of `QuantizeMultiplier`, applied as `MultiplyByQuantizedMultiplier` + zero point, clamped.
 *
 * @module
 */

import type { Node, TensorData, TensorType } from "../graph/types.ts";
import { I32_TO_F32_WGSL, REQUANTIZE_WGSL } from "../shaders/requantize.ts";
import { TFL_FIXED_POINT_WGSL } from "../shaders/tfl_requantize.ts";
import { intAttr, nodeLabel } from "./attributes.ts";
import { requantize } from "./quant_math.ts";
import { INT8_MAX, INT8_MIN, multiplyByQuantizedMultiplier } from "./tfl_math.ts";

/** The two requantization arithmetics (see the module doc). */
export type RequantMode = "float" | "fixed_point";

/** The validated epilogue of a node: mode, output zero point and activation range. */
export interface Requant {
  mode: RequantMode;
  yZero: number;
  actMin: number;
  actMax: number;
}

/**
 * The fused activation's clamp range of a TFLite int8 op: attributes `act_min` and `act_max`
 * (default: the whole int8 range), checked to be an int8 interval.
 */
export function activationBounds(node: Node): [number, number] {
  const lo = intAttr(node, "act_min", INT8_MIN);
  const hi = intAttr(node, "act_max", INT8_MAX);
  if (lo < INT8_MIN || hi > INT8_MAX || lo > hi) {
    throw new Error(`${nodeLabel(node)}: activation range [${lo}, ${hi}] is not within int8`);
  }
  return [lo, hi];
}

/**
 * Checks R (`r`) against `channels` output channels and reads attributes `y_zero_point` (an
 * int8) and the activation range (`activationBounds`).
 */
export function requantOf(node: Node, r: TensorType | undefined, channels: number): Requant {
  const mode: RequantMode | undefined = r?.dtype === "f32" && r.shape.length === 1
    ? "float"
    : r?.dtype === "i32" && r.shape.length === 2 && r.shape[1] === 2
    ? "fixed_point"
    : undefined;
  if (!mode || r!.shape[0] !== channels) {
    throw new Error(
      `${nodeLabel(node)}: requantization R must be f32 [${channels}] or i32 [${channels}, 2], ` +
        `got ${r ? `${r.dtype} [${r.shape}]` : "nothing"}`,
    );
  }
  const yZero = intAttr(node, "y_zero_point");
  if (yZero < INT8_MIN || yZero > INT8_MAX) {
    throw new Error(`${nodeLabel(node)}: y_zero_point ${yZero} is not an int8`);
  }
  const [actMin, actMax] = activationBounds(node);
  return { mode, yZero, actMin, actMax };
}

/** Requantizes accumulator `acc` of channel `m` with R's data `r`. */
export function requantValue(q: Requant, r: TensorData, m: number, acc: number): number {
  if (q.mode === "float") return requantize(acc, r[m], q.yZero, q.actMin, q.actMax);
  const v = multiplyByQuantizedMultiplier(acc, r[2 * m], r[2 * m + 1]) + q.yZero;
  return Math.min(q.actMax, Math.max(q.actMin, v));
}

/** Uniform fields the WGSL epilogue reads from `params`. */
export const REQUANT_UNIFORMS = { y_zero: "i32", act_min: "i32", act_max: "i32" } as const;

/** The uniform values of `q`. */
export function requantUniforms(q: Requant): { y_zero: number; act_min: number; act_max: number } {
  return { y_zero: q.yZero, act_min: q.actMin, act_max: q.actMax };
}

/**
 * WGSL declaring storage binding `r` at `binding` and, for `mode` (the uniform struct must
 * hold `REQUANT_UNIFORMS`): `struct RequantChannel` (one channel's parameters) with
 * `fn requant_channel(m: u32) -> RequantChannel` and `fn requant(acc: i32, c: RequantChannel)
 * -> i32`; `struct RequantQuad` (channels m0..m0+3, loaded together once) with
 * `fn requant_quad(m0: u32) -> RequantQuad` and `fn requant_lane(q: RequantQuad, j: u32) ->
 * RequantChannel`.
 */
export function requantWgsl(mode: RequantMode, binding: number): string {
  if (mode === "float") {
    return /* wgsl */ `
@group(0) @binding(${binding}) var<storage, read> r: array<f32>;
${I32_TO_F32_WGSL}
${REQUANTIZE_WGSL}
struct RequantChannel { scale: f32 }
fn requant_channel(m: u32) -> RequantChannel { return RequantChannel(r[m]); }
struct RequantQuad { scale: vec4<f32> }
fn requant_quad(m0: u32) -> RequantQuad {
  return RequantQuad(vec4<f32>(r[m0], r[m0 + 1u], r[m0 + 2u], r[m0 + 3u]));
}
fn requant_lane(q: RequantQuad, j: u32) -> RequantChannel { return RequantChannel(q.scale[j]); }
fn requant(acc: i32, c: RequantChannel) -> i32 {
  return requantize(acc, c.scale, params.y_zero, params.act_min, params.act_max);
}`;
  }
  return /* wgsl */ `
@group(0) @binding(${binding}) var<storage, read> r: array<i32>;
${TFL_FIXED_POINT_WGSL}
struct RequantChannel { multiplier: i32, shift: i32 }
fn requant_channel(m: u32) -> RequantChannel { return RequantChannel(r[2u * m], r[2u * m + 1u]); }
struct RequantQuad { multiplier: vec4<i32>, shift: vec4<i32> }
fn requant_quad(m0: u32) -> RequantQuad {
  let i = 2u * m0;
  return RequantQuad(vec4<i32>(r[i], r[i + 2u], r[i + 4u], r[i + 6u]),
                     vec4<i32>(r[i + 1u], r[i + 3u], r[i + 5u], r[i + 7u]));
}
fn requant_lane(q: RequantQuad, j: u32) -> RequantChannel {
  return RequantChannel(q.multiplier[j], q.shift[j]);
}
fn requant(acc: i32, c: RequantChannel) -> i32 {
  let v = tfl_multiply(acc, c.multiplier, c.shift) + params.y_zero;
  return clamp(v, params.act_min, params.act_max);
}`;
}
