/**
 * WGSL for int8 epilogues, with onnxruntime's arithmetic (MLAS `MlasRequantizeOutput`,
 * docs/INT8.md): the int32 accumulator is converted to f32 rounding half to even, multiplied
 * by the f32 multiplier, clamped to the output range shifted by the zero point, rounded half
 * to even and shifted back. The host twin is `requantize` in src/ops/quant_math.ts.
 *
 * Why each step is exact on every WebGPU implementation:
 * - WGSL leaves the rounding of `f32(i32)` unspecified above 2^24, so `i32_to_f32` rounds by
 *   hand there and scales with `ldexp` (exact);
 * - f32 multiplication is correctly rounded in WGSL, and nothing is added to the product, so
 *   no compiler can contract it into a fused multiply-add;
 * - `round` is round half to even by definition.
 *
 * @module
 */

/** `fn i32_to_f32(v: i32) -> f32`: the nearest f32, ties to even (like `cvtdq2ps`). */
export const I32_TO_F32_WGSL = /* wgsl */ `
fn i32_to_f32(v: i32) -> f32 {
  let mag = select(u32(v), 0u - u32(v), v < 0);
  if (mag < 0x1000000u) { return f32(v); }
  let shift = 8u - countLeadingZeros(mag);
  let kept = mag >> shift;
  let rest = mag & ((1u << shift) - 1u);
  let half = 1u << (shift - 1u);
  let up = rest > half || (rest == half && (kept & 1u) == 1u);
  let m = ldexp(f32(kept + select(0u, 1u, up)), i32(shift));
  return select(m, -m, v < 0);
}`;

/**
 * `fn requantize(acc: i32, scale: f32, zp: i32, qmin: i32, qmax: i32) -> i32` (needs
 * `I32_TO_F32_WGSL`).
 */
export const REQUANTIZE_WGSL = /* wgsl */ `
fn requantize(acc: i32, scale: f32, zp: i32, qmin: i32, qmax: i32) -> i32 {
  let scaled = i32_to_f32(acc) * scale;
  let clamped = clamp(scaled, f32(qmin - zp), f32(qmax - zp));
  return i32(round(clamped)) + zp;
}`;
