/**
 * Winograd F(m x m, 3x3) algorithms as data (Lavin and Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2016): each m x m block of outputs ("tile") of one channel is
 * Y = A^T [ (G g G^T) * (B^T d B) ] A for the t x t input patch d under it (t = m + 2) and the
 * 3x3 kernel g. The GPU (src/shaders/winograd.ts) and the CPU (src/wasm/winograd_kernel.ts)
 * generate their transforms from these matrices; winograd_test.ts checks them in float64.
 *
 * @module
 */

/** A matrix as rows. */
export type Matrix = readonly (readonly number[])[];

/** A Winograd algorithm F(m x m, 3x3): the output tile side and the three transforms. */
export interface WinogradAlgorithm {
  /** Name used in pipeline keys. */
  readonly name: string;
  /** Outputs per tile side. */
  readonly m: number;
  /** Input patch side, m + 2; t^2 positions (GEMMs). */
  readonly t: number;
  /** B^T (t x t): input patch d to B^T d B. */
  readonly bt: Matrix;
  /** G (t x 3): 3x3 kernel g to G g G^T. */
  readonly g: Matrix;
  /** A^T (m x t): products M to A^T M A. */
  readonly at: Matrix;
}

/** F(2x2, 3x3) (interpolation points 0, 1, -1, infinity). */
export const WINOGRAD_F2: WinogradAlgorithm = {
  name: "f2",
  m: 2,
  t: 4,
  bt: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
  g: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
  at: [[1, 1, 1, 0], [0, 1, -1, -1]],
};

/** F(4x4, 3x3) (points 0, 1, -1, 2, -2, infinity). */
export const WINOGRAD_F4: WinogradAlgorithm = {
  name: "f4",
  m: 4,
  t: 6,
  bt: [
    [4, 0, -5, 0, 1, 0],
    [0, -4, -4, 1, 1, 0],
    [0, 4, -4, -1, 1, 0],
    [0, -2, -1, 2, 1, 0],
    [0, 2, -1, -2, 1, 0],
    [0, 4, 0, -5, 0, 1],
  ],
  g: [
    [1 / 4, 0, 0],
    [-1 / 6, -1 / 6, -1 / 6],
    [-1 / 6, 1 / 6, -1 / 6],
    [1 / 24, 1 / 12, 1 / 6],
    [1 / 24, -1 / 12, 1 / 6],
    [0, 0, 1],
  ],
  at: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
};

/** The number of positions of `alg`'s transformed tile: its GEMMs. */
export function winogradPositions(alg: WinogradAlgorithm): number {
  return alg.t * alg.t;
}
