/**
 * The decoded-image type, the decoder limits and the one error class of `src/image/`.
 *
 * @module
 */

/** A decoded image: 8-bit RGB, interleaved, row-major, top row first. */
export interface RgbImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** `width * height * 3` bytes: R, G, B of each pixel in turn. */
  data: Uint8Array;
}

/** Limits a decoder checks before it allocates anything for the pixels. */
export interface ImageLimits {
  /** Most pixels (width * height) an image may have. */
  maxPixels: number;
  /** Memory budget handed to jpeg-js (`maxMemoryUsageInMB`), in MiB. */
  maxMemoryMB: number;
}

/**
 * Default limits: 40 megapixels, and 1024 MiB for jpeg-js, which books about 21 bytes per pixel
 * for a 4:4:4 colour JPEG (coefficient blocks, component planes, output), so every image
 * within the pixel limit fits.
 */
export const DEFAULT_IMAGE_LIMITS: Readonly<ImageLimits> = {
  maxPixels: 40_000_000,
  maxMemoryMB: 1024,
};

/**
 * Any failure to turn bytes into an image: unknown format, corrupt or truncated data, an
 * unsupported variant, or an image over the limits. The message is one line.
 *
 * @example
 * ```ts
 * try {
 *   decodeImage(new Uint8Array([1, 2, 3]));
 * } catch (err) {
 *   if (err instanceof ImageError) console.error(err.message);
 * }
 * ```
 */
export class ImageError extends Error {
  /** Creates the error; line breaks in `message` are folded into spaces. */
  constructor(message: string) {
    super(message.replace(/\s*\n\s*/g, " "));
    this.name = "ImageError";
  }
}

/** Throws an {@link ImageError} when `width` x `height` is over `limits.maxPixels`. */
export function checkPixelLimit(
  format: string,
  width: number,
  height: number,
  limits: ImageLimits,
): void {
  if (width * height > limits.maxPixels) {
    const mp = (width * height / 1e6).toFixed(1);
    throw new ImageError(
      `${format} image is ${width}x${height} (${mp} megapixels), over the limit of ` +
        `${limits.maxPixels / 1e6} megapixels; raise limits.maxPixels to decode it`,
    );
  }
}
