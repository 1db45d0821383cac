/**
 * The image preprocessing recipe a manifest carries (from the model card), and the presets
 * of the models resin targets. The image module (src/image/) applies a recipe; the manifest
 * validator (manifest.ts, `validatePreprocess`) checks one.
 *
 * Steps, in order: resize, centre crop (optional), then per pixel and channel c
 * `value = (pixel * scale - mean[c]) / std[c]` with `pixel` the 8-bit RGB sample, then layout
 * and dtype: f32 stores `value`; u8/i8 store `clamp(round(value / s) + z)` with the per-tensor
 * quant params `s`, `z` of the model's input (round half to even, clamp to the dtype's range).
 *
 * @example
 * ```ts
 * import { PREPROCESS_PRESETS } from "./preprocess.ts";
 * const recipe = PREPROCESS_PRESETS.imagenet; // 256 shorter side, crop 224, ImageNet mean/std
 * ```
 *
 * @module
 */

/** How to resize an image before the optional centre crop. */
export type ImageResize =
  | {
    /** Scale so that the shorter side is `size`, keeping the aspect ratio. */
    mode: "shorter_side";
    /** Length of the shorter side after resizing, in pixels. */
    size: number;
    /** Sampling filter. */
    filter: "bilinear" | "nearest";
  }
  | {
    /** Scale to exactly `width` x `height`, ignoring the aspect ratio. */
    mode: "exact";
    /** Width after resizing, in pixels. */
    width: number;
    /** Height after resizing, in pixels. */
    height: number;
    /** Sampling filter. */
    filter: "bilinear" | "nearest";
  };

/** The image preprocessing recipe from the model card. */
export interface ImagePreprocess {
  /** First step: resize. */
  resize: ImageResize;
  /** Second, optional step: a centre crop of the resized image. */
  crop?: { width: number; height: number };
  /** Multiplies the 8-bit pixel value: `value = (pixel * scale - mean[c]) / std[c]`. */
  scale: number;
  /** Per RGB channel, subtracted after scaling. */
  mean: [number, number, number];
  /** Per RGB channel, divides after the mean is subtracted (positive). */
  std: [number, number, number];
  /** Memory layout of the model input. */
  layout: "NCHW" | "NHWC";
  /** Element type of the model input; u8/i8 are quantized with the input's quant params. */
  dtype: "f32" | "u8" | "i8";
}

/** Names of the built-in recipes. */
export type PreprocessPreset = "imagenet" | "stm_uint8" | "pixels_01" | "cifar10";

/**
 * Built-in recipes:
 * - `imagenet`: shorter side 256 (bilinear), centre crop 224, pixels/255 normalised with the
 *   ImageNet mean and std, NCHW f32 (the ONNX model zoo ResNets).
 * - `stm_uint8`: exactly 224x224 (nearest), raw pixels, NHWC u8 (STM quantized models).
 * - `pixels_01`: like `imagenet` but without mean/std: pixels/255 (STM float models).
 * - `cifar10`: exactly 32x32 (nearest: the identity on CIFAR-10 images), pixels/255
 *   normalised with the ImageNet mean and std, NCHW f32 (akamaster's CIFAR-10 ResNets, whose
 *   trainer uses these constants).
 */
export const PREPROCESS_PRESETS: Readonly<Record<PreprocessPreset, ImagePreprocess>> = {
  imagenet: {
    resize: { mode: "shorter_side", size: 256, filter: "bilinear" },
    crop: { width: 224, height: 224 },
    scale: 1 / 255,
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
    layout: "NCHW",
    dtype: "f32",
  },
  stm_uint8: {
    resize: { mode: "exact", width: 224, height: 224, filter: "nearest" },
    scale: 1,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    layout: "NHWC",
    dtype: "u8",
  },
  pixels_01: {
    resize: { mode: "shorter_side", size: 256, filter: "bilinear" },
    crop: { width: 224, height: 224 },
    scale: 1 / 255,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    layout: "NCHW",
    dtype: "f32",
  },
  cifar10: {
    resize: { mode: "exact", width: 32, height: 32, filter: "nearest" },
    scale: 1 / 255,
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
    layout: "NCHW",
    dtype: "f32",
  },
};
