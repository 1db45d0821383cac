import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { gemmF32, gemmF32Blocked, type MatrixView } from "./cpu_gemm.ts";

/** Element (i, j) of a view. */
const at = (v: MatrixView, i: number, j: number) =>
  v.data[v.offset + i * v.rowStride + j * v.colStride];

/** A random matrix of rows x cols in a larger array, row-major or transposed, at an offset. */
function randomView(seed: number, rows: number, cols: number, transposed: boolean): MatrixView {
  const offset = 5;
  const data = randomTensor(seededRandom(seed), "f32", [offset + rows * cols]).data as Float32Array;
  return transposed
    ? { data, offset, rowStride: 1, colStride: rows }
    : { data, offset, rowStride: cols, colStride: 1 };
}

/** gemmF32 (the WebAssembly kernel where the engine has SIMD) and the TypeScript product. */
const PRODUCTS = { gemmF32, gemmF32Blocked };

for (const [name, product] of Object.entries(PRODUCTS)) {
  Deno.test(`${name} matches float64 dot products on odd shapes, strides and block edges`, () => {
    productMatchesReference(product);
  });
}

/** Runs `product` on every shape and operand orientation against float64 sums. */
function productMatchesReference(product: typeof gemmF32): void {
  // Sizes straddle the 4-row/4-depth micro-kernel and the 128-depth, 256-column blocks.
  const shapes = [[1, 1, 1], [3, 7, 5], [7, 3, 1], [5, 257, 130], [17, 300, 129], [64, 49, 9]];
  shapes.forEach(([m, n, k], s) => {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      const a = randomView(s * 4 + 1, m, k, ta);
      const b = randomView(s * 4 + 2, k, n, tb);
      // C is a column slice of a wider matrix: elements outside it must stay untouched.
      const sentinel = 1234.5;
      const c: MatrixView = {
        data: new Float32Array(3 + m * (n + 2)).fill(sentinel),
        offset: 3,
        rowStride: n + 2,
        colStride: 1,
      };
      product(m, n, k, a, b, c);
      const expected = new Float32Array(c.data.length).fill(sentinel);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let sum = 0;
          for (let p = 0; p < k; p++) sum += at(a, i, p) * at(b, p, j);
          expected[c.offset + i * c.rowStride + j] = sum;
        }
      }
      assertClose(c.data, expected, TOLERANCES.f32Kernel, `[${m}, ${n}, ${k}] ta ${ta} tb ${tb}`);
    }
  });
}
