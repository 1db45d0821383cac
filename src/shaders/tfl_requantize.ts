/**
 * WGSL for TFLite's fixed-point requantization (the host twins are in src/ops/tfl_math.ts;
 * docs/TFLITE.md cites the TFLite and gemmlowp sources). WGSL has no 64-bit integers, so the
 * 62-bit product of `SaturatingRoundingDoublingHighMul` is formed from 16-bit limbs with
 * explicit carries; every step is exact, and the tests compare the GPU results with a BigInt
 * reference on every pair of edge values.
 *
 * @module
 */

/**
 * `fn tfl_high_mul(a: i32, b: i32) -> i32`: gemmlowp `SaturatingRoundingDoublingHighMul`, the
 * high 32 bits of `2 a b` rounded to nearest (halfway away from zero, as the nudge 2^30 or
 * 1 - 2^30 followed by a truncating division by 2^31 gives), saturating `INT32_MIN^2`.
 */
export const TFL_HIGH_MUL_WGSL = /* wgsl */ `
fn tfl_high_mul(a: i32, b: i32) -> i32 {
  if (a == b && a == bitcast<i32>(0x80000000u)) { return 2147483647; }
  let negative = (a < 0) != (b < 0) && a != 0 && b != 0;
  let ua = select(bitcast<u32>(a), 0u - bitcast<u32>(a), a < 0);
  let ub = select(bitcast<u32>(b), 0u - bitcast<u32>(b), b < 0);
  let a0 = ua & 0xffffu;
  let a1 = ua >> 16u;
  let b0 = ub & 0xffffu;
  let b1 = ub >> 16u;
  // |a| <= 2^31, so a1, b1 <= 2^15 and the middle products sum below 2^32.
  let mid = a0 * b1 + a1 * b0;
  let low = a0 * b0;
  let lo0 = low + (mid << 16u);
  let hi0 = a1 * b1 + (mid >> 16u) + select(0u, 1u, lo0 < low);
  // |2ab| rounded: (|ab| + 2^30) >> 31 for a non-negative product, (|ab| + 2^30 - 1) >> 31
  // for a negative one (C++ division truncates toward zero).
  let lo = lo0 + select(0x40000000u, 0x3fffffffu, negative);
  let hi = hi0 + select(0u, 1u, lo < lo0);
  let magnitude = bitcast<i32>((hi << 1u) | (lo >> 31u));
  return select(magnitude, -magnitude, negative);
}`;

/**
 * `fn tfl_divide_by_pot(x: i32, exponent: u32) -> i32`: gemmlowp `RoundingDivideByPOT`,
 * `x / 2^exponent` rounded to nearest, halfway away from zero (exponent 0 to 31).
 */
export const TFL_DIVIDE_BY_POT_WGSL = /* wgsl */ `
fn tfl_divide_by_pot(x: i32, exponent: u32) -> i32 {
  let mask = (1u << exponent) - 1u;
  let remainder = bitcast<u32>(x) & mask;
  let threshold = (mask >> 1u) + select(0u, 1u, x < 0);
  return (x >> exponent) + select(0, 1, remainder > threshold);
}`;

/**
 * `fn tfl_multiply(x: i32, multiplier: i32, shift: i32) -> i32`: TFLite
 * `MultiplyByQuantizedMultiplier` (needs the two functions above).
 */
export const TFL_MULTIPLY_WGSL = /* wgsl */ `
fn tfl_multiply(x: i32, multiplier: i32, shift: i32) -> i32 {
  let left = u32(max(shift, 0));
  let right = u32(max(-shift, 0));
  return tfl_divide_by_pot(tfl_high_mul(x << left, multiplier), right);
}`;

/** All three functions, in dependency order. */
export const TFL_FIXED_POINT_WGSL = TFL_HIGH_MUL_WGSL + TFL_DIVIDE_BY_POT_WGSL +
  TFL_MULTIPLY_WGSL;
