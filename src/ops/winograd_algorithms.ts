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

/**
 * F(4x4, 3x3) with interpolation points 0, 1, -1, 1/2, -2 and infinity (B^T scaled to integer
 * rows, the scales moved into G). Against Lavin's 0, +-1, +-2 its float32 rounding error is
 * about 0.65x (a simulated 256-channel layer at 14x14: 8.4e-7 against 1.3e-6 relative L2, F(2x2)
 * 1.8e-7): the points 1/2 and -2 are reciprocals, so the transformed values stay closer in
 * magnitude to the outputs they cancel into (Barabasz et al., "Error Analysis and Improving the
 * Accuracy of Winograd Convolution for Deep Neural Networks", 2020).
 */
export const WINOGRAD_F4: WinogradAlgorithm = {
  name: "f4",
  m: 4,
  t: 6,
  bt: [
    [2, -3, -4, 3, 2, 0],
    [0, -2, 1, 5, 2, 0],
    [0, -2, 5, -1, -2, 0],
    [0, 2, 1, -2, -1, 0],
    [0, 1, -2, -1, 2, 0],
    [0, 2, -3, -4, 3, 2],
  ],
  g: [
    [1 / 2, 0, 0],
    [1 / 6, 1 / 6, 1 / 6],
    [1 / 6, -1 / 6, 1 / 6],
    [16 / 15, 8 / 15, 4 / 15],
    [1 / 30, -1 / 15, 2 / 15],
    [0, 0, 1 / 2],
  ],
  at: [
    [1, 1, 1, 1, 1, 0],
    [0, 1, -1, 1 / 2, -2, 0],
    [0, 1, 1, 1 / 4, 4, 0],
    [0, 1, -1, 1 / 8, -8, 1],
  ],
};

/** The number of positions of `alg`'s transformed tile: its GEMMs. */
export function winogradPositions(alg: WinogradAlgorithm): number {
  return alg.t * alg.t;
}
