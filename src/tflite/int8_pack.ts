/**
 * Import-time packing of TFLite int8 weights and constants into the forms the TFLite integer
 * ops take (src/ops/tfl_conv.ts, tfl_fully_connected.ts, tfl_requant.ts): weights with their
 * input channels padded to a multiple of 4 (zeros), the input zero point folded into the
 * bias, and the per-channel requantization tensor of either arithmetic.
 *
 * @module
 */

import { makeTensor, type Tensor } from "../graph/types.ts";
import { padChannels } from "../ops/nhwc4.ts";
import { wrapInt32 } from "../ops/quant_math.ts";
import type { RequantMode } from "../ops/tfl_requant.ts";
import type { QuantizedMultiplier } from "../ops/tfl_math.ts";

/** Dense conv weights OHWI `[M, kh, kw, C]` -> `[Mp, kh, kw, Cp]`, zero in padding. */
export function packConvWeights(w: Tensor): Tensor {
  const [m, kh, kw, c] = w.shape;
  const mp = padChannels(m), cp = padChannels(c);
  const out = makeTensor("i8", [mp, kh, kw, cp]);
  for (let o = 0; o < m; o++) {
    for (let t = 0; t < kh * kw; t++) {
      for (let i = 0; i < c; i++) {
        out.data[(o * kh * kw + t) * cp + i] = w.data[(o * kh * kw + t) * c + i];
      }
    }
  }
  return out;
}

/** Depthwise weights `[1, kh, kw, C]` (multiplier 1) -> `[kh, kw, Cp]`, zero in padding. */
export function packDepthwiseWeights(w: Tensor): Tensor {
  const [, kh, kw, c] = w.shape;
  const cp = padChannels(c);
  const out = makeTensor("i8", [kh, kw, cp]);
  for (let t = 0; t < kh * kw; t++) {
    for (let i = 0; i < c; i++) out.data[t * cp + i] = w.data[t * c + i];
  }
  return out;
}

/**
 * The bias with the input zero point folded in, padded to `channels`:
 * `B[m] = bias[m] - xZero * sum(W[m])`, where `W[m]` is output channel m's `taps` weights
 * laid out as `weightOf(m, j)` for j < `taps` (int32, wrapping as TFLite's accumulator does).
 */
export function foldBias(
  bias: Tensor | undefined,
  outputs: number,
  taps: number,
  weightOf: (m: number, j: number) => number,
  xZero: number,
  channels: number,
): Tensor {
  const out = makeTensor("i32", [channels]);
  for (let m = 0; m < outputs; m++) {
    let sum = 0;
    for (let j = 0; j < taps; j++) sum += weightOf(m, j);
    out.data[m] = wrapInt32((bias?.data[m] ?? 0) - xZero * sum);
  }
  return out;
}

/**
 * The requantization tensor R of `mode` for `channels` (padded) output channels: f32 scales
 * `[channels]` (XNNPACK's `f32(f32(s_x * s_w) / s_y)`) or i32 `[channels, 2]` pairs of
 * `fixed(m)` (TFLite's multiplier and shift). Padding channels get zeros.
 */
export function requantTensor(
  mode: RequantMode,
  inputScale: number,
  weightScales: readonly number[],
  outputScale: number,
  channels: number,
  fixed: (m: number) => QuantizedMultiplier,
): Tensor {
  const f32 = Math.fround;
  if (mode === "float") {
    const out = makeTensor("f32", [channels]);
    weightScales.forEach((s, m) => {
      out.data[m] = f32(f32(f32(inputScale) * f32(s)) / f32(outputScale));
    });
    return out;
  }
  const out = makeTensor("i32", [channels, 2]);
  weightScales.forEach((_, m) => {
    const { multiplier, shift } = fixed(m);
    out.data[2 * m] = multiplier;
    out.data[2 * m + 1] = shift;
  });
  return out;
}
