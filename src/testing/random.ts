/**
 * Seeded random data for tests: deterministic, non-trivial values (never all zeros).
 *
 * @module
 */

import { type DType, makeTensor, sizeOf, type Tensor } from "../graph/types.ts";

/** A small, fast, seeded PRNG (mulberry32). Returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fills a tensor of `shape` with uniform values in [lo, hi) (integers for integer dtypes). */
export function randomTensor(
  rand: () => number,
  dtype: DType,
  shape: number[],
  lo = -1,
  hi = 1,
): Tensor {
  if (dtype === "f16") throw new Error("randomTensor does not make f16 tensors");
  const n = sizeOf(shape);
  const values = new Array<number>(n);
  const integer = dtype !== "f32";
  for (let i = 0; i < n; i++) {
    const v = lo + (hi - lo) * rand();
    values[i] = integer ? Math.floor(v) : v;
  }
  return makeTensor(dtype, shape, values);
}
