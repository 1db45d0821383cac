/**
 * The f32 matrix product of the CPU kernels of Gemm and MatMul, and of Conv's TypeScript path
 * (conv_cpu.ts; its WebAssembly path drives the same kernel through src/wasm/wasm_conv.ts).
 * `gemmF32` runs the generated WebAssembly SIMD kernel (src/wasm/wasm_gemm.ts) when the
 * engine has WebAssembly SIMD, else `gemmF32Blocked`, the TypeScript product below. The
 * kernel sums in f32 (two-level: 32-depth chunks, then the chunk sums), so its results differ
 * from `gemmF32Blocked`'s float64 sums by about 1e-6 relative, inside
 * `TOLERANCES.f32Kernel`; it runs 5-8x faster (bench/cpu_gemm_bench.ts).
 *
 * `gemmF32Blocked` (GotoBLAS in miniature): A is packed once into panels of 4 rows
 * (zero-padded to a multiple of 4 rows and 4 depths); for each block of NC columns and KC
 * depths, B is packed into a contiguous KC x NC buffer; a micro-kernel then updates 4 rows of
 * the product with 4 depths at a time in one pass over the packed B row block (16
 * multiply-adds per 4 loads of B and 4 loads/stores of C). Packing converts to float64, so the
 * accumulation is float64 and only the final store rounds to f32.
 *
 * @module
 */

import { sharedWasmGemm } from "../wasm/wasm_gemm.ts";

/** A strided matrix inside a Float32Array: element (i, j) is `data[offset + i*rowStride + j*colStride]`. */
export interface MatrixView {
  /** Backing array. */
  data: Float32Array;
  /** Index of element (0, 0). */
  offset: number;
  /** Distance between rows. */
  rowStride: number;
  /** Distance between columns (1 for row-major, the row length for a transposed view). */
  colStride: number;
  /**
   * True when this view's elements never change while `data` lives (weights): the WebAssembly
   * path then packs them once and keeps the packed copy, keyed by `data`'s identity.
   */
  constant?: boolean;
}

/** A row-major view of `data` with `cols` columns, starting at `offset`. */
export function rowMajor(data: Float32Array, cols: number, offset = 0): MatrixView {
  return { data, offset, rowStride: cols, colStride: 1 };
}

/** Columns per packed B block: 4 rows of the product tile (4 x 256 doubles) stay in L1. */
const NC = 256;
/** Depths per packed B block: KC x NC doubles (256 KiB) stay in L2. */
const KC = 128;

/**
 * Computes C = A B for A [m, k] and B [k, n] (any strides), writing C's m x n elements.
 * C must not overlap A or B. Mark weight operands `constant` so that they are packed once.
 *
 * @example
 * ```ts
 * const c = new Float32Array(m * n);
 * gemmF32(m, n, k, rowMajor(a, k), rowMajor(b, n), rowMajor(c, n));
 * ```
 */
export function gemmF32(
  m: number,
  n: number,
  k: number,
  a: MatrixView,
  b: MatrixView,
  c: MatrixView,
): void {
  const wasm = sharedWasmGemm();
  if (wasm) wasm.gemm(m, n, k, a, b, c);
  else gemmF32Blocked(m, n, k, a, b, c);
}

/**
 * `gemmF32` in TypeScript with float64 sums: the path for engines without WebAssembly SIMD.
 *
 * @example
 * ```ts
 * gemmF32Blocked(m, n, k, rowMajor(a, k), rowMajor(b, n), rowMajor(c, n));
 * ```
 */
export function gemmF32Blocked(
  m: number,
  n: number,
  k: number,
  a: MatrixView,
  b: MatrixView,
  c: MatrixView,
): void {
  const mp = Math.ceil(m / 4) * 4;
  const kp = Math.ceil(k / 4) * 4;
  const packedA = packA(m, k, mp, kp, a);
  const packedB = new Float64Array(Math.min(KC, kp) * Math.min(NC, n));
  const acc = new Float64Array(mp * n);
  for (let j0 = 0; j0 < n; j0 += NC) {
    const nc = Math.min(NC, n - j0);
    for (let p0 = 0; p0 < kp; p0 += KC) {
      const kc = Math.min(KC, kp - p0);
      packB(k, p0, kc, j0, nc, b, packedB);
      for (let i = 0; i < mp; i += 4) {
        microKernel(packedA, i * kp + p0 * 4, packedB, kc, nc, acc, i * n + j0, n);
      }
    }
  }
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      c.data[c.offset + i * c.rowStride + j * c.colStride] = acc[i * n + j];
    }
  }
}

/**
 * Packs A into panels of 4 rows: element (i, p) goes to `(i - i%4) * kp + p * 4 + i%4`, zero
 * beyond m rows or k depths.
 */
function packA(m: number, k: number, mp: number, kp: number, a: MatrixView): Float64Array {
  const out = new Float64Array(mp * kp);
  for (let i = 0; i < m; i++) {
    const panel = (i - (i & 3)) * kp + (i & 3);
    const row = a.offset + i * a.rowStride;
    for (let p = 0; p < k; p++) out[panel + p * 4] = a.data[row + p * a.colStride];
  }
  return out;
}

/** Packs B's depths p0..p0+kc (zero from k on) and columns j0..j0+nc into `out` [kc, nc]. */
function packB(
  k: number,
  p0: number,
  kc: number,
  j0: number,
  nc: number,
  b: MatrixView,
  out: Float64Array,
): void {
  for (let q = 0; q < kc; q++) {
    const p = p0 + q;
    const dst = q * nc;
    if (p >= k) {
      out.fill(0, dst, dst + nc);
      continue;
    }
    const src = b.offset + p * b.rowStride + j0 * b.colStride;
    for (let j = 0; j < nc; j++) out[dst + j] = b.data[src + j * b.colStride];
  }
}

/**
 * acc[4 rows at accOffset, stride n][0..nc) += packed A panel (4 rows, kc depths from
 * aOffset) x packed B [kc, nc].
 */
function microKernel(
  pa: Float64Array,
  aOffset: number,
  pb: Float64Array,
  kc: number,
  nc: number,
  acc: Float64Array,
  accOffset: number,
  n: number,
): void {
  const c0 = accOffset, c1 = c0 + n, c2 = c1 + n, c3 = c2 + n;
  for (let q = 0; q < kc; q += 4) {
    const a = aOffset + q * 4;
    const a00 = pa[a], a10 = pa[a + 1], a20 = pa[a + 2], a30 = pa[a + 3];
    const a01 = pa[a + 4], a11 = pa[a + 5], a21 = pa[a + 6], a31 = pa[a + 7];
    const a02 = pa[a + 8], a12 = pa[a + 9], a22 = pa[a + 10], a32 = pa[a + 11];
    const a03 = pa[a + 12], a13 = pa[a + 13], a23 = pa[a + 14], a33 = pa[a + 15];
    const b0 = q * nc, b1 = b0 + nc, b2 = b1 + nc, b3 = b2 + nc;
    for (let j = 0; j < nc; j++) {
      const v0 = pb[b0 + j], v1 = pb[b1 + j], v2 = pb[b2 + j], v3 = pb[b3 + j];
      acc[c0 + j] += a00 * v0 + a01 * v1 + a02 * v2 + a03 * v3;
      acc[c1 + j] += a10 * v0 + a11 * v1 + a12 * v2 + a13 * v3;
      acc[c2 + j] += a20 * v0 + a21 * v1 + a22 * v2 + a23 * v3;
      acc[c3 + j] += a30 * v0 + a31 * v1 + a32 * v2 + a33 * v3;
    }
  }
}
