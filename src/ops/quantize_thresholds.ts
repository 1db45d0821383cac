/**
 * Exact QuantizeLinear on the GPU without division: for a positive scale, the quantized value
 * `q(x)` is a non-decreasing step function of x, so it equals `qmin` plus the number of steps
 * at or below x. The host finds each step (the smallest f32 where `q` reaches `qmin + k`,
 * k = 1..255) by binary search over f32 values with the exact reference `quantize`; the kernel
 * then counts thresholds with integer comparisons. WGSL division is only accurate to 2.5 ulp,
 * so dividing on the GPU could round differently from onnxruntime's correctly rounded `divps`.
 *
 * Floats are compared through their order-preserving u32 keys (`orderedKey`), which also
 * sidesteps compilers that assume no NaN or infinity in float comparisons.
 *
 * @module
 */

import { quantize } from "./quant_math.ts";

const bits = new DataView(new ArrayBuffer(4));

/** The order-preserving u32 key of an f32: a < b (as floats) iff key(a) < key(b). */
export function orderedKey(x: number): number {
  bits.setFloat32(0, x, true);
  const b = bits.getUint32(0, true);
  return (b & 0x80000000 ? ~b : b | 0x80000000) >>> 0;
}

/** The f32 whose ordered key is `key`. */
export function keyValue(key: number): number {
  bits.setUint32(0, key & 0x80000000 ? key & 0x7fffffff : ~key >>> 0, true);
  return bits.getFloat32(0, true);
}

/** The key above every non-NaN f32: a threshold no finite or infinite input reaches. */
export const UNREACHABLE_KEY = 0xffffffff;

const LOWEST_KEY = orderedKey(-Infinity);
const HIGHEST_KEY = orderedKey(Infinity);

/**
 * The 256 step keys of `quantize(x, scale, zp, qmin, qmax)` for `scale > 0`: entry 0 is the
 * lowest key (every input reaches `qmin`), entry k the smallest key whose value quantizes to
 * at least `qmin + k`, or `UNREACHABLE_KEY`. `q(x) = qmin + max{k : key(x) >= entry k}` for
 * every non-NaN x.
 */
export function quantizeThresholds(
  scale: number,
  zp: number,
  qmin: number,
  qmax: number,
): Uint32Array {
  if (!(scale > 0)) throw new Error(`Quantization thresholds need a positive scale, got ${scale}`);
  const q = (key: number) => quantize(keyValue(key), scale, zp, qmin, qmax);
  const table = new Uint32Array(256).fill(UNREACHABLE_KEY);
  table[0] = LOWEST_KEY;
  for (let k = 1; k <= qmax - qmin; k++) {
    const target = qmin + k;
    if (q(HIGHEST_KEY) < target) break;
    let lo = LOWEST_KEY;
    let hi = HIGHEST_KEY;
    while (lo < hi) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (q(mid) >= target) hi = mid;
      else lo = mid + 1;
    }
    table[k] = lo;
  }
  return table;
}
