/**
 * Image bytes to upright 8-bit RGB: the format is sniffed from the magic bytes (JPEG
 * `FF D8 FF`, PNG's 8-byte signature), never from a file name.
 *
 * @module
 */

import { DEFAULT_IMAGE_LIMITS, ImageError, type ImageLimits, type RgbImage } from "./image.ts";
import { decodeJpeg } from "./jpeg.ts";
import { decodePng, PNG_SIGNATURE } from "./png.ts";

/** Formats {@link decodeImage} reads. */
export type ImageFormat = "jpeg" | "png";

const JPEG_MAGIC = [0xff, 0xd8, 0xff];

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

/** The format of `bytes` by its magic bytes, or undefined for anything else. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, JPEG_MAGIC)) return "jpeg";
  if (startsWith(bytes, PNG_SIGNATURE)) return "png";
  return undefined;
}

/**
 * Decodes a JPEG or PNG to upright 8-bit RGB. JPEG EXIF orientation is applied; PNG alpha
 * is dropped. Limits (default {@link DEFAULT_IMAGE_LIMITS}) are checked from the headers
 * before any pixel memory is allocated. Throws an {@link ImageError} with a one-line message
 * for anything it cannot decode.
 *
 * @example
 * ```ts
 * const image = decodeImage(await Deno.readFile("cat.jpg"), { maxPixels: 20_000_000 });
 * console.log(image.width, image.height, image.data.length); // data: width * height * 3
 * ```
 */
export function decodeImage(bytes: Uint8Array, limits: Partial<ImageLimits> = {}): RgbImage {
  const all: ImageLimits = { ...DEFAULT_IMAGE_LIMITS, ...limits };
  for (const [name, value] of Object.entries(all)) {
    if (!(value > 0)) throw new ImageError(`Image limit ${name} must be positive, got ${value}`);
  }
  if (bytes.length === 0) throw new ImageError("Image data is empty (0 bytes)");
  switch (sniffImageFormat(bytes)) {
    case "jpeg":
      return decodeJpeg(bytes, all);
    case "png":
      return decodePng(bytes, all);
    case undefined: {
      const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, "0"));
      throw new ImageError(
        `Image data is not a JPEG or PNG image (it starts with bytes ${head.join(" ")})`,
      );
    }
  }
}
