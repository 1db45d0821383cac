/**
 * The integer arithmetic of TFLite's int8 kernels (tensorflow/lite/kernels/internal/common.h,
 * quantization_util.cc, gemmlowp's fixedpoint.h), reproduced bit for bit on JavaScript
 * numbers: the fixed-point multiplier and shift of a real scale, the saturating rounding
 * doubling high multiply, the rounding right shift, and the constants each kernel derives from
 * its tensors' scales. Every TFLite int8 reference kernel and every host-side constant builder
 * uses these helpers; the WGSL twins are in src/shaders/tfl_requantize.ts. docs/TFLITE.md
 * cites the sources.
 *
 * 64-bit products are never formed in floating point: `saturatingRoundingDoublingHighMul`
 * multiplies 16-bit limbs exactly as the WGSL does, and the tests compare it with BigInt.
 *
 * @module
 */

import { roundHalfEven } from "./quant_math.ts";

/** A real multiplier as TFLite stores it: `multiplier * 2^(shift - 31)`, multiplier in Q0.31. */
export interface QuantizedMultiplier {
  /** The significand in [2^30, 2^31), or 0. */
  multiplier: number;
  /** The power of two: positive shifts left, negative right. */
  shift: number;
}

/** C's `round`: halfway cases away from zero (TFLite's `TfLiteRound`). */
export function roundHalfAway(x: number): number {
  const a = Math.abs(x);
  const floor = Math.floor(a);
  const r = a - floor >= 0.5 ? floor + 1 : floor;
  return x < 0 ? 0 - r : r;
}

/** C's `frexp` for a positive finite double: `x = q * 2^e` with q in [0.5, 1). */
function frexp(x: number): { q: number; e: number } {
  let e = Math.ceil(Math.log2(x));
  // log2 may be off by one near powers of two; fix with exact power-of-two scaling.
  while (x / 2 ** e >= 1) e++;
  while (x / 2 ** e < 0.5) e--;
  return { q: x / 2 ** e, e };
}

/**
 * TFLite `QuantizeMultiplier` (without TFLITE_SINGLE_ROUNDING): `frexp`, the significand
 * times 2^31 rounded half away from zero, 2^31 folded into the shift, and shifts below -31
 * flushed to a zero multiplier.
 */
export function quantizeMultiplier(real: number): QuantizedMultiplier {
  if (!Number.isFinite(real) || real < 0) {
    throw new Error(`Requantization multiplier ${real} is not a finite non-negative number`);
  }
  if (real === 0) return { multiplier: 0, shift: 0 };
  const { q, e } = frexp(real);
  let fixed = Math.round(q * 2 ** 31); // q * 2^31 > 0, so Math.round rounds half away
  let shift = e;
  if (fixed === 2 ** 31) {
    fixed /= 2;
    shift++;
  }
  if (shift < -31) return { multiplier: 0, shift: 0 };
  return { multiplier: fixed, shift };
}

/**
 * gemmlowp `SaturatingRoundingDoublingHighMul`: the high 32 bits of `2 * a * b`, rounded to
 * nearest (the nudge is 2^30 for a non-negative product, 1 - 2^30 otherwise, and the 64-bit
 * division by 2^31 truncates toward zero); `a = b = INT32_MIN` saturates to INT32_MAX.
 * Computed with 16-bit limbs, exactly, on int32 `a` and `b`.
 */
export function saturatingRoundingDoublingHighMul(a: number, b: number): number {
  if (a === -0x80000000 && b === -0x80000000) return 0x7fffffff;
  const negative = (a < 0) !== (b < 0) && a !== 0 && b !== 0;
  const ua = Math.abs(a);
  const ub = Math.abs(b);
  // |a| * |b| < 2^62 as hi * 2^32 + lo with 16-bit limbs; every partial sum is exact.
  const a0 = ua % 65536, a1 = Math.floor(ua / 65536);
  const b0 = ub % 65536, b1 = Math.floor(ub / 65536);
  const mid = a1 * b0 + a0 * b1; // < 2^33
  const lowFull = a0 * b0 + (mid % 65536) * 65536; // < 2^33
  const lo = lowFull % 2 ** 32;
  const hi = a1 * b1 + Math.floor(mid / 65536) + Math.floor(lowFull / 2 ** 32);
  // |result| = (|a b| + nudge') >> 31 with nudge' = 2^30 (>= 0) or 2^30 - 1 (< 0).
  const sum = lo + (negative ? 0x3fffffff : 0x40000000);
  const carry = Math.floor(sum / 2 ** 32);
  const magnitude = (hi + carry) * 2 + Math.floor((sum % 2 ** 32) / 2 ** 31);
  return negative ? -magnitude : magnitude;
}

/**
 * gemmlowp `RoundingDivideByPOT`: `x / 2^exponent` rounded to nearest, halfway cases away
 * from zero, for int32 `x` and `exponent` in [0, 31].
 */
export function roundingDivideByPOT(x: number, exponent: number): number {
  if (exponent === 0) return x;
  const mask = 2 ** exponent - 1;
  const remainder = (x & mask) >>> 0;
  const threshold = Math.floor(mask / 2) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/**
 * TFLite `MultiplyByQuantizedMultiplier(x, multiplier, shift)`: a left shift by
 * `max(shift, 0)` (int32, wrapping), the doubling high multiply, then a rounding right shift
 * by `max(-shift, 0)`.
 */
export function multiplyByQuantizedMultiplier(x: number, multiplier: number, shift: number) {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  return roundingDivideByPOT(saturatingRoundingDoublingHighMul(x << left, multiplier), right);
}

/** f32 arithmetic as C++ does it on `float` operands. */
const f32 = Math.fround;

/** The int8 range. */
export const INT8_MIN = -128;
export const INT8_MAX = 127;

/** TFLite fused activations (ActivationFunctionType). */
export type TflActivation = "NONE" | "RELU" | "RELU_N1_TO_1" | "RELU6";

/**
 * TFLite `CalculateActivationRangeQuantized` for an int8 output with `scale`, `zeroPoint`:
 * the clamp bounds of a fused activation, each real bound quantized as
 * `zeroPoint + round_half_away(f32(bound / scale))`.
 */
export function activationRange(
  activation: TflActivation,
  scale: number,
  zeroPoint: number,
): [number, number] {
  const q = (bound: number) => zeroPoint + roundHalfAway(f32(bound / f32(scale)));
  switch (activation) {
    case "NONE":
      return [INT8_MIN, INT8_MAX];
    case "RELU":
      return [Math.max(INT8_MIN, q(0)), INT8_MAX];
    case "RELU6":
      return [Math.max(INT8_MIN, q(0)), Math.min(INT8_MAX, q(6))];
    case "RELU_N1_TO_1":
      return [Math.max(INT8_MIN, q(-1)), Math.min(INT8_MAX, q(1))];
  }
}

/**
 * Per output channel multipliers of an int8 CONV_2D / DEPTHWISE_CONV_2D
 * (`PopulateConvolutionQuantizationParams`): `double(s_x) * double(s_w[c]) / double(s_y)`.
 */
export function convMultipliers(
  inputScale: number,
  weightScales: readonly number[],
  outputScale: number,
): QuantizedMultiplier[] {
  return weightScales.map((s) => quantizeMultiplier((inputScale * s) / outputScale));
}

/**
 * The multiplier of a per-tensor int8 FULLY_CONNECTED (`GetQuantizedConvolutionMultipler`):
 * the product of the input and weight scales in f32, then divided by the output scale in
 * double.
 */
export function fullyConnectedMultiplier(
  inputScale: number,
  weightScale: number,
  outputScale: number,
): QuantizedMultiplier {
  return quantizeMultiplier(f32(inputScale * weightScale) / outputScale);
}

/** The constants of an int8 ADD (add.cc `Prepare`, with `left_shift` 20). */
export interface TflAddParams {
  leftShift: number;
  input1Offset: number;
  input2Offset: number;
  outputOffset: number;
  input1: QuantizedMultiplier;
  input2: QuantizedMultiplier;
  output: QuantizedMultiplier;
}

/**
 * ADD's constants: both inputs rescaled to `2 * max(s1, s2)` with 20 bits of headroom, the
 * sum rescaled to the output. Multipliers are smaller than one (shifts <= 0).
 */
export function addParams(
  scale1: number,
  zero1: number,
  scale2: number,
  zero2: number,
  outputScale: number,
  outputZero: number,
): TflAddParams {
  const leftShift = 20;
  const twiceMax = 2 * Math.max(f32(scale1), f32(scale2));
  return {
    leftShift,
    input1Offset: -zero1,
    input2Offset: -zero2,
    outputOffset: outputZero,
    input1: quantizeMultiplier(f32(scale1) / twiceMax),
    input2: quantizeMultiplier(f32(scale2) / twiceMax),
    output: quantizeMultiplier(twiceMax / (2 ** leftShift * f32(outputScale))),
  };
}

/** One int8 ADD output (reference_integer_ops `AddElementwise`), clamped to `[lo, hi]`. */
export function addValue(a: number, b: number, p: TflAddParams, lo: number, hi: number): number {
  const shifted1 = (a + p.input1Offset) * 2 ** p.leftShift;
  const shifted2 = (b + p.input2Offset) * 2 ** p.leftShift;
  const scaled1 = multiplyByQuantizedMultiplier(shifted1, p.input1.multiplier, p.input1.shift);
  const scaled2 = multiplyByQuantizedMultiplier(shifted2, p.input2.multiplier, p.input2.shift);
  const raw = multiplyByQuantizedMultiplier(scaled1 + scaled2, p.output.multiplier, p.output.shift);
  return Math.min(hi, Math.max(lo, raw + p.outputOffset));
}

/**
 * The int8 AVERAGE_POOL_2D average: the sum of the window's in-image values divided by their
 * count, rounded half away from zero with C's truncating integer division.
 */
export function roundedAverage(sum: number, count: number): number {
  const half = Math.floor(count / 2);
  return Math.trunc((sum > 0 ? sum + half : sum - half) / count) | 0;
}

/**
 * The 256-entry table of the int8 SOFTMAX (optimized_ops `PopulateSoftmaxLookupTable`):
 * `table[255 - d] = expf(f32(-s_x * beta) * d)` for d = 0..255, in f32.
 */
export function softmaxTable(inputScale: number, beta: number): Float32Array {
  const scale = f32(-f32(inputScale) * f32(beta));
  const table = new Float32Array(256);
  for (let d = 0; d <= 255; d++) table[255 - d] = Math.exp(f32(scale * d));
  return table;
}

/**
 * One row of the int8 SOFTMAX (optimized_ops `Softmax<int8_t, int8_t>`, the kernel TFLite
 * builds for every non-aarch64 target): with m the row maximum, `e_j = table[255 - m + x_j]`,
 * `sum` the f32 running sum of the e_j in order, `inv = 1 / (sum * s_y)`, each output is
 * `round_half_away(e_j * inv) + z_y`, clamped to int8.
 */
export function softmaxRow(
  row: ArrayLike<number>,
  table: Float32Array,
  outputScale: number,
  outputZero: number,
): number[] {
  let max = INT8_MIN;
  for (let j = 0; j < row.length; j++) max = Math.max(max, row[j]);
  const at = (x: number) => table[255 - max + x];
  let sum = 0;
  for (let j = 0; j < row.length; j++) sum = f32(sum + at(row[j]));
  const inv = f32(1 / f32(sum * f32(outputScale)));
  return Array.from(row, (x) => {
    const q = roundHalfAway(f32(at(x) * inv)) + outputZero;
    return Math.min(INT8_MAX, Math.max(INT8_MIN, q));
  });
}

/**
 * TFLite int8 QUANTIZE of one f32 value (reference_ops `AffineQuantize`):
 * `round_half_away(f32(x / scale)) + zeroPoint`, clamped to int8.
 */
export function quantizeValue(x: number, scale: number, zeroPoint: number): number {
  const q = roundHalfAway(f32(x / f32(scale))) + zeroPoint;
  return Math.min(INT8_MAX, Math.max(INT8_MIN, q));
}

/**
 * XNNPACK's f32 -> qs8 convert (what LiteRT's CPU path runs for QUANTIZE): `x` times the f32
 * reciprocal of the scale, clamped to the int8 range shifted by the zero point, rounded half
 * to even, plus the zero point.
 */
export function quantizeValueXnnpack(x: number, scale: number, zeroPoint: number): number {
  const v = f32(x * f32(1 / f32(scale)));
  return roundHalfEven(Math.min(Math.max(v, INT8_MIN - zeroPoint), INT8_MAX - zeroPoint)) +
    zeroPoint;
}

/** TFLite DEQUANTIZE of one int8 value: `f32(double(scale) * (q - zeroPoint))`. */
export function dequantizeValue(q: number, scale: number, zeroPoint: number): number {
  return f32(f32(scale) * (q - zeroPoint));
}
