/**
 * JPEG to upright 8-bit RGB: the header is checked first (jpeg_header.ts), then jpeg-js 0.4.4
 * decodes (baseline, extended or progressive Huffman; 1, 3 or 4 components, grayscale
 * replicated to RGB), then the EXIF orientation is applied.
 *
 * jpeg-js runs with its defaults otherwise (`tolerantDecoding` included), so pixels equal
 * those of the reference preprocessing in ../shared/models/README.md.
 *
 * @module
 */

import { errorMessage } from "../errors.ts";
import jpeg from "jpeg-js";
import { readExifOrientation } from "./exif.ts";
import { ImageError, type ImageLimits, type RgbImage } from "./image.ts";
import { readJpegHeader } from "./jpeg_header.ts";
import { applyOrientation } from "./orient.ts";

/** Decodes JPEG `bytes` to upright RGB, or throws an {@link ImageError}. */
export function decodeJpeg(bytes: Uint8Array, limits: ImageLimits): RgbImage {
  const header = readJpegHeader(bytes, limits);
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: limits.maxPixels / 1e6,
      maxMemoryUsageInMB: limits.maxMemoryMB,
    });
  } catch (err) {
    const message = errorMessage(err);
    if (message.includes("maxMemoryUsageInMB")) {
      throw new ImageError(
        `JPEG image ${header.width}x${header.height} needs more than the ` +
          `${limits.maxMemoryMB} MiB decoder memory limit; raise limits.maxMemoryMB to decode it`,
      );
    }
    throw new ImageError(`Corrupt JPEG: ${message}`);
  }
  const { width, height, data } = decoded;
  if (width !== header.width || height !== header.height || data.length !== width * height * 3) {
    throw new ImageError(
      `Corrupt JPEG: decoded ${width}x${height} (${data.length} bytes) but the frame header ` +
        `says ${header.width}x${header.height}`,
    );
  }
  const orientation = header.exif ? readExifOrientation(header.exif) : 1;
  return applyOrientation({ width, height, data }, orientation);
}
