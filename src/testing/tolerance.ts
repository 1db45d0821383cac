/**
 * The one tolerance module: every numeric comparison in the tests goes through here, so the
 * thresholds are written once per dtype with their reason.
 *
 * @module
 */

/** Absolute and relative tolerance: |a - e| <= atol + rtol * |e| must hold elementwise. */
export interface Tolerance {
  /** Absolute tolerance. */
  atol: number;
  /** Relative tolerance. */
  rtol: number;
}

/**
 * Tolerances per kind of comparison, with the reason.
 * - `f32Kernel`: a GPU or fast CPU f32 kernel against the float64-accumulating reference.
 *   Sums of up to ~5000 products in f32 in a different order differ by a few ulps of the
 *   running sum, hence rtol 1e-4 with a small atol for results that cancel to near zero.
 * - `exact`: integer kernels must match bit for bit.
 */
export const TOLERANCES = {
  f32Kernel: { atol: 1e-4, rtol: 1e-4 },
  exact: { atol: 0, rtol: 0 },
} as const satisfies Record<string, Tolerance>;

/** Relative L2 error ||a - e|| / ||e|| (0 when both are zero; Infinity on NaN). */
export function relativeL2(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) {
    throw new Error(`Length mismatch: ${actual.length} vs ${expected.length}`);
  }
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = actual[i] - expected[i];
    if (Number.isNaN(d)) return Infinity;
    diff += d * d;
    norm += expected[i] * expected[i];
  }
  if (norm === 0) return diff === 0 ? 0 : Infinity;
  return Math.sqrt(diff / norm);
}

/**
 * Asserts `actual` and `expected` agree elementwise within `tol`; NaN anywhere fails.
 * The error lists the first mismatches with their indices and the overall max error.
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
  label = "values",
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${label}: length ${actual.length}, expected ${expected.length}`);
  }
  const mismatches: string[] = [];
  let count = 0;
  let maxAbs = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const err = Math.abs(a - e);
    const ok = !Number.isNaN(a) && !Number.isNaN(e) && err <= tol.atol + tol.rtol * Math.abs(e);
    if (!Number.isNaN(err)) maxAbs = Math.max(maxAbs, err);
    if (!ok) {
      count++;
      if (mismatches.length < 8) mismatches.push(`[${i}] got ${a}, expected ${e}`);
    }
  }
  if (count > 0) {
    throw new Error(
      `${label}: ${count} of ${actual.length} elements differ beyond atol ${tol.atol}, ` +
        `rtol ${tol.rtol} (max abs error ${maxAbs}); first: ${mismatches.join("; ")}`,
    );
  }
}

/**
 * Relative error bound of one product of two values each stored as f16 (opt-in f16 storage):
 * each rounding errs by at most 2^-10 relative (2^-11 rounding to nearest; 2^-10 allows for
 * either rounding direction, which WGSL's pack2x16float leaves open), so the product errs by
 * at most (1 + 2^-10)^2 - 1 < 2^-9.
 */
export const F16_PRODUCT_ERROR = 2 ** -9;

/**
 * Asserts |actual[i] - expected[i]| <= bounds[i] elementwise; NaN anywhere fails. The error
 * lists the first violations with their bounds.
 */
export function assertWithinBounds(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  bounds: ArrayLike<number>,
  label = "values",
): void {
  if (actual.length !== expected.length || bounds.length !== expected.length) {
    throw new Error(
      `${label}: lengths ${actual.length}, ${expected.length} (expected), ${bounds.length} (bounds)`,
    );
  }
  const violations: string[] = [];
  let count = 0;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    if (!(err <= bounds[i])) {
      count++;
      if (violations.length < 8) {
        violations.push(`[${i}] got ${actual[i]}, expected ${expected[i]} +- ${bounds[i]}`);
      }
    }
  }
  if (count > 0) {
    throw new Error(
      `${label}: ${count} of ${actual.length} elements outside their bounds; first: ${
        violations.join("; ")
      }`,
    );
  }
}
