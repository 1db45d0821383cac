/**
 * Photo bytes to a model input tensor, without file system or Deno-only APIs (it runs in
 * edge functions): {@link decodeImage} sniffs and decodes a JPEG or PNG to upright 8-bit RGB,
 * {@link preprocessImage} and {@link imagesToTensor} apply a manifest's `ImagePreprocess`
 * recipe (resize, centre crop, normalise, layout, dtype).
 *
 * @example
 * ```ts
 * import { decodeImage, preprocessImage } from "./mod.ts";
 * import { PREPROCESS_PRESETS } from "../weights/preprocess.ts";
 *
 * const image = decodeImage(bytes); // { width, height, data: RGB bytes }
 * const input = preprocessImage(image, PREPROCESS_PRESETS.imagenet); // f32 [1, 3, 224, 224]
 * ```
 *
 * @module
 */

export { decodeImage, type ImageFormat, sniffImageFormat } from "./decode.ts";
export { DEFAULT_IMAGE_LIMITS, ImageError, type ImageLimits, type RgbImage } from "./image.ts";
export { imagesToTensor, preprocessImage } from "./preprocess.ts";
