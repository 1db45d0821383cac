/**
 * The lookup table of a DequantizeLinear -> BatchNormalization (-> Relu) -> QuantizeLinear
 * island (qdqToQOperator turns it into QLinearLookup): every output byte for every channel and
 * input byte, with onnxruntime's f32 BatchNormalization arithmetic, so the bytes are the ones
 * onnxruntime computes when it runs the island in float.
 *
 * @module
 */

import { makeTensor, type Tensor } from "../graph/types.ts";
import { dequantize, f32, quantize, quantRange } from "./quant_math.ts";

/** Quantization of one side of the island. */
export interface IslandSide {
  scale: number;
  zero: number;
  dtype: "u8" | "i8";
}

/**
 * onnxruntime's f32 BatchNormalization of channel `c` (core/providers/cpu/nn/batch_norm.h):
 * `inv_std = 1 / sqrt(var + eps)`, `new_scale = inv_std * scale`,
 * `new_bias = bias - mean * new_scale`, `y = x * new_scale + new_bias`, each step rounded to
 * f32 (no fused multiply-add).
 */
export function batchNormF32(
  [scale, bias, mean, variance]: readonly Tensor[],
  eps: number,
  c: number,
): (x: number) => number {
  const invStd = f32(1 / f32(Math.sqrt(f32(variance.data[c] + eps))));
  const newScale = f32(invStd * scale.data[c]);
  const newBias = f32(bias.data[c] - f32(mean.data[c] * newScale));
  return (x) => f32(f32(x * newScale) + newBias);
}

/**
 * The [C, 256] table of the island: row c, column b holds the output byte for input byte b
 * of channel c. `params` are BatchNormalization's scale, B, mean and var; `eps` its epsilon.
 */
export function batchNormTable(
  params: readonly Tensor[],
  eps: number,
  input: IslandSide,
  output: IslandSide,
  relu: boolean,
): Tensor {
  const channels = params[0].data.length;
  const [qmin, qmax] = quantRange(output.dtype);
  const table = makeTensor("u8", [channels, 256]);
  for (let c = 0; c < channels; c++) {
    const bn = batchNormF32(params, eps, c);
    for (let byte = 0; byte < 256; byte++) {
      const v = input.dtype === "i8" && byte > 127 ? byte - 256 : byte;
      const y = bn(dequantize(v, input.scale, input.zero));
      const q = quantize(relu ? Math.max(y, 0) : y, output.scale, output.zero, qmin, qmax);
      table.data[c * 256 + byte] = q & 0xff;
    }
  }
  return table;
}
