/**
 * Applies an EXIF orientation to decoded pixels, so that the result is upright.
 *
 * Each orientation is a transpose (5 to 8 swap width and height) followed by optional flips.
 * Output pixel (x, y) takes source pixel (sx, sy) with, for 1 to 4, (a, b) = (x, y) and for
 * 5 to 8, (a, b) = (y, x); then sx = flipX ? W - 1 - a : a and sy = flipY ? H - 1 - b : b.
 *
 * @module
 */

import type { Orientation } from "./exif.ts";
import type { RgbImage } from "./image.ts";

interface Transform {
  transpose: boolean;
  flipX: boolean;
  flipY: boolean;
}

const TRANSFORMS: Readonly<Record<Orientation, Transform>> = {
  1: { transpose: false, flipX: false, flipY: false },
  2: { transpose: false, flipX: true, flipY: false }, // mirrored left-right
  3: { transpose: false, flipX: true, flipY: true }, // rotated 180
  4: { transpose: false, flipX: false, flipY: true }, // mirrored top-bottom
  5: { transpose: true, flipX: false, flipY: false }, // transposed
  6: { transpose: true, flipX: false, flipY: true }, // needs 90 degrees clockwise
  7: { transpose: true, flipX: true, flipY: true }, // transversed
  8: { transpose: true, flipX: true, flipY: false }, // needs 90 degrees counter-clockwise
};

/** Returns `image` turned upright for EXIF `orientation` (the same object for 1). */
export function applyOrientation(image: RgbImage, orientation: Orientation): RgbImage {
  if (orientation === 1) return image;
  const { transpose, flipX, flipY } = TRANSFORMS[orientation];
  const { width: w, height: h, data: src } = image;
  const outW = transpose ? h : w;
  const outH = transpose ? w : h;
  const out = new Uint8Array(src.length);
  let o = 0;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const a = transpose ? y : x;
      const b = transpose ? x : y;
      const s = ((flipY ? h - 1 - b : b) * w + (flipX ? w - 1 - a : a)) * 3;
      out[o++] = src[s];
      out[o++] = src[s + 1];
      out[o++] = src[s + 2];
    }
  }
  return { width: outW, height: outH, data: out };
}
