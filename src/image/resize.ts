/**
 * Resize and centre crop in one pass: each output pixel is sampled straight from the source,
 * in float64, without antialiasing. This reproduces the reference preprocessing of the ONNX
 * Runtime outputs in ../shared/models (README, "Preprocessing used").
 *
 * Geometry, per axis (source length L, output index o):
 * - scale s: `size / min(W, H)` for "shorter_side" (both axes), `width / W` and `height / H`
 *   for "exact"; the resized length is `round(L * s)` ("shorter_side") or the exact size;
 * - crop offset `o0 = floor((resized - crop) / 2)`, 0 without a crop;
 * - bilinear: source position `p = (o + o0 + 0.5) / s - 0.5` clamped to [0, L - 1], mixing
 *   `floor(p)` and `min(floor(p) + 1, L - 1)` with weight `p - floor(p)`;
 * - nearest (half-pixel centres, as PIL and TF2 `tf.image.resize`): index
 *   `min(floor((o + o0 + 0.5) / s), L - 1)`, computed in exact integer arithmetic because
 *   `s` is the ratio of two integers.
 *
 * @module
 */

import type { ImageResize } from "../weights/preprocess.ts";
import type { RgbImage } from "./image.ts";

/** An RGB image with float64 samples (interleaved, row-major), before normalisation. */
export interface FloatRgbImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** `width * height * 3` samples on the 0..255 scale. */
  data: Float64Array;
}

/** The source samples of one output axis: mix `lo` and `hi` with weight `frac` on `hi`. */
interface AxisSamples {
  lo: Int32Array;
  hi: Int32Array;
  frac: Float64Array;
}

/** One axis: source length, scale `num / den`, resized length, output length, crop offset. */
interface Axis {
  length: number;
  num: number;
  den: number;
  resized: number;
  out: number;
  offset: number;
}

function sampleAxis(axis: Axis, filter: ImageResize["filter"]): AxisSamples {
  const { length, num, den, out, offset } = axis;
  const samples: AxisSamples = {
    lo: new Int32Array(out),
    hi: new Int32Array(out),
    frac: new Float64Array(out),
  };
  const s = num / den;
  for (let o = 0; o < out; o++) {
    if (filter === "nearest") {
      // floor((o + offset + 0.5) * den / num), exactly: a / b with integers a, b.
      const a = (2 * (o + offset) + 1) * den;
      const b = 2 * num;
      const i = Math.min((a - (a % b)) / b, length - 1);
      samples.lo[o] = i;
      samples.hi[o] = i;
    } else {
      const p = Math.min(Math.max((o + offset + 0.5) / s - 0.5, 0), length - 1);
      const i = Math.floor(p);
      samples.lo[o] = i;
      samples.hi[o] = Math.min(i + 1, length - 1);
      samples.frac[o] = p - i;
    }
  }
  return samples;
}

function axis(length: number, num: number, den: number, resized: number, out: number): Axis {
  return { length, num, den, resized, out, offset: Math.floor((resized - out) / 2) };
}

/** The two axes of a resize (and optional centre crop) of a `width` x `height` source. */
function axes(
  width: number,
  height: number,
  resize: ImageResize,
  crop: { width: number; height: number } | undefined,
): [Axis, Axis] {
  let x: Axis;
  let y: Axis;
  if (resize.mode === "shorter_side") {
    const short = Math.min(width, height);
    const s = resize.size / short;
    const [w, h] = [Math.round(width * s), Math.round(height * s)];
    x = axis(width, resize.size, short, w, crop?.width ?? w);
    y = axis(height, resize.size, short, h, crop?.height ?? h);
  } else {
    x = axis(width, resize.width, width, resize.width, crop?.width ?? resize.width);
    y = axis(height, resize.height, height, resize.height, crop?.height ?? resize.height);
  }
  if (x.out > x.resized || y.out > y.resized) {
    throw new Error(
      `Centre crop ${x.out}x${y.out} is larger than the ${x.resized}x${y.resized} resized image`,
    );
  }
  return [x, y];
}

/**
 * Resizes `image` as `resize` says, then takes the centre `crop` (the whole resized image
 * without one), sampling each output pixel once from the source in float64.
 */
export function resizeAndCrop(
  image: RgbImage,
  resize: ImageResize,
  crop?: { width: number; height: number },
): FloatRgbImage {
  const [ax, ay] = axes(image.width, image.height, resize, crop);
  const sx = sampleAxis(ax, resize.filter);
  const sy = sampleAxis(ay, resize.filter);
  const outW = ax.out;
  const outH = ay.out;
  const src = image.data;
  const rowBytes = image.width * 3;
  const out = new Float64Array(outW * outH * 3);
  let o = 0;
  for (let y = 0; y < outH; y++) {
    const top = sy.lo[y] * rowBytes;
    const bottom = sy.hi[y] * rowBytes;
    const fy = sy.frac[y];
    for (let x = 0; x < outW; x++) {
      const left = sx.lo[x] * 3;
      const right = sx.hi[x] * 3;
      const fx = sx.frac[x];
      for (let c = 0; c < 3; c++) {
        const t = src[top + left + c] * (1 - fx) + src[top + right + c] * fx;
        const b = src[bottom + left + c] * (1 - fx) + src[bottom + right + c] * fx;
        out[o++] = t * (1 - fy) + b * fy;
      }
    }
  }
  return { width: outW, height: outH, data: out };
}
