/**
 * A classifier's output tensor to ranked classes: dequantize integer scores, apply softmax to
 * logits (in float64), and pick the top k.
 *
 * @module
 */

import { type QuantParams, sizeOf, type Tensor } from "../graph/types.ts";
import { halfToNumber } from "../onnx/tensor.ts";

/**
 * What a classifier's output holds: `"logits"` (any real scores; softmax turns them into
 * probabilities) or `"probabilities"` (already a distribution, e.g. after a final Softmax).
 */
export type ScoreKind = "logits" | "probabilities";

/** One class of a classification result. */
export interface ClassScore {
  /** Class index in the model's output. */
  index: number;
  /** Class name from the model's labels, or `null` when the model has none. */
  label: string | null;
  /** Probability of the class, in [0, 1]. */
  probability: number;
}

/**
 * The real values of `tensor`: f32 as is, f16 decoded, u8/i8 dequantized with
 * `scale * (q - zeroPoint)` from the tensor's quant params (or `fallbackQuant`), per tensor or
 * per index along the quant axis.
 */
export function dequantize(tensor: Tensor, fallbackQuant?: QuantParams): Float64Array {
  const { dtype, shape, data } = tensor;
  switch (dtype) {
    case "f32":
      return Float64Array.from(data);
    case "f16":
      return Float64Array.from(data, halfToNumber);
    case "i32":
      throw new Error(`Output of dtype i32 [${shape}] holds no class scores`);
    case "u8":
    case "i8":
      break;
  }
  const quant = tensor.quant ?? fallbackQuant;
  if (!quant) throw new Error(`Output of dtype ${dtype} [${shape}] has no quant params`);
  const { scale, zeroPoint, axis } = quant;
  // Elements sharing one quant parameter: all of them, or one run per index along `axis`.
  const inner = axis === undefined ? data.length : sizeOf(shape.slice(axis + 1));
  const count = axis === undefined ? 1 : shape[axis];
  if (scale.length !== count || zeroPoint.length !== count) {
    throw new Error(
      `Output [${shape}] has ${scale.length} quant scales for ${count} ` +
        (axis === undefined ? "tensor" : `indices along axis ${axis}`),
    );
  }
  return Float64Array.from(data, (q, i) => {
    const c = Math.floor(i / inner) % count;
    return scale[c] * (q - zeroPoint[c]);
  });
}

/** Softmax of `logits` in float64, shifted by the maximum so that no exp overflows. */
export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  if (!Number.isFinite(max)) throw new Error(`Scores have a non-finite maximum ${max}`);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    out[i] = Math.exp(logits[i] - max);
    sum += out[i];
  }
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/**
 * Class probabilities per batch row: `scores` (the real values of a `[rows, ...]` output)
 * split into `rows` equal rows, each passed through softmax when `kind` is `"logits"`.
 * Throws on a NaN score, which no ranking could order.
 */
export function probabilityRows(
  scores: Float64Array,
  rows: number,
  kind: ScoreKind,
): Float64Array[] {
  const nan = scores.findIndex(Number.isNaN);
  if (nan >= 0) throw new Error(`Model output has a NaN score at flat index ${nan}`);
  const width = scores.length / rows;
  return Array.from({ length: rows }, (_, r) => {
    const row = scores.subarray(r * width, (r + 1) * width);
    return kind === "logits" ? softmax(row) : row.slice();
  });
}

/**
 * The `k` most probable classes, most probable first; equal probabilities rank the lower
 * index first. `k` larger than the class count gives every class.
 */
export function topK(
  probabilities: ArrayLike<number>,
  k: number,
  labels?: readonly string[],
): ClassScore[] {
  const order = Array.from({ length: probabilities.length }, (_, i) => i);
  order.sort((a, b) => probabilities[b] - probabilities[a] || a - b);
  return order.slice(0, k).map((index) => ({
    index,
    label: labels?.[index] ?? null,
    probability: probabilities[index],
  }));
}
