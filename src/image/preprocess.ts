/**
 * Decoded images to a model input tensor, following the manifest's recipe
 * (`ImagePreprocess`, src/weights/preprocess.ts): resize and centre crop (resize.ts), then per
 * pixel and channel `value = (pixel * scale - mean[c]) / std[c]` in float64, then the layout
 * (NCHW or NHWC) and dtype: f32 rounds `value` once at the end; u8/i8 store
 * `clamp(roundHalfEven(value / s) + z)` with the input's per-tensor quant params.
 *
 * @module
 */

import { allocData, type QuantParams, type Tensor } from "../graph/types.ts";
import type { ImagePreprocess } from "../weights/preprocess.ts";
import type { RgbImage } from "./image.ts";
import { resizeAndCrop } from "./resize.ts";

const INT_RANGE = { u8: [0, 255], i8: [-128, 127] } as const;

/** Rounds to the nearest integer, ties to even (as ONNX QuantizeLinear and TFLite do). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Checks the per-tensor quant params an integer recipe needs (scale > 0, zero point in range). */
function checkQuant(recipe: ImagePreprocess, quant: QuantParams | undefined): void {
  if (recipe.dtype === "f32") return;
  if (!quant) {
    throw new Error(`Preprocess dtype "${recipe.dtype}" needs the model input's quant params`);
  }
  const [lo, hi] = INT_RANGE[recipe.dtype];
  const [s] = quant.scale;
  const [z] = quant.zeroPoint;
  if (quant.scale.length !== 1 || quant.zeroPoint.length !== 1) {
    throw new Error(
      `Preprocess needs per-tensor input quant params, got ${quant.scale.length} scales ` +
        `and ${quant.zeroPoint.length} zero points`,
    );
  }
  if (!(s > 0) || !Number.isFinite(s)) {
    throw new Error(`Input quant scale ${s} is not a finite positive number`);
  }
  if (!Number.isInteger(z) || z < lo || z > hi) {
    throw new Error(
      `Input zero point ${z} is not an integer in [${lo}, ${hi}] for ${recipe.dtype}`,
    );
  }
}

/**
 * Preprocesses a batch of images into one `[N, 3, H, W]` (NCHW) or `[N, H, W, 3]` (NHWC)
 * tensor of the recipe's dtype; u8/i8 tensors carry `quant`. Every image may have its own
 * size: the recipe's resize and crop give them all the same output size.
 *
 * @example
 * ```ts
 * import { PREPROCESS_PRESETS } from "../weights/preprocess.ts";
 * const batch = imagesToTensor([dog, cat], PREPROCESS_PRESETS.imagenet);
 * // batch.shape: [2, 3, 224, 224], batch.dtype: "f32"
 * ```
 */
export function imagesToTensor(
  images: readonly RgbImage[],
  recipe: ImagePreprocess,
  quant?: QuantParams,
): Tensor {
  if (images.length === 0) throw new Error("imagesToTensor needs at least one image");
  checkQuant(recipe, quant);
  const resized = images.map((image) => resizeAndCrop(image, recipe.resize, recipe.crop));
  const { width, height } = resized[0];
  const plane = width * height;
  const data = allocData(recipe.dtype, images.length * plane * 3);
  const nchw = recipe.layout === "NCHW";
  const { scale, mean, std } = recipe;
  const s = quant?.scale[0] ?? 1;
  const z = quant?.zeroPoint[0] ?? 0;
  const [lo, hi] = recipe.dtype === "f32" ? [-Infinity, Infinity] : INT_RANGE[recipe.dtype];
  resized.forEach((image, n) => {
    const base = n * plane * 3;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) {
        const value = (image.data[3 * p + c] * scale - mean[c]) / std[c];
        const at = base + (nchw ? c * plane + p : 3 * p + c);
        data[at] = recipe.dtype === "f32"
          ? value
          : Math.min(Math.max(roundHalfEven(value / s) + z, lo), hi);
      }
    }
  });
  const shape = nchw ? [images.length, 3, height, width] : [images.length, height, width, 3];
  return recipe.dtype === "f32"
    ? { dtype: "f32", shape, data }
    : { dtype: recipe.dtype, shape, data, quant: structuredClone(quant) };
}

/** Preprocesses one image into a batch-of-one tensor (see {@link imagesToTensor}). */
export function preprocessImage(
  image: RgbImage,
  recipe: ImagePreprocess,
  quant?: QuantParams,
): Tensor {
  return imagesToTensor([image], recipe, quant);
}
