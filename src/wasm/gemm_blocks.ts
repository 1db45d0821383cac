/**
 * The cache-blocked loop around the generated `gemm_block` kernel (gemm_kernel.ts), shared by
 * the thread that owns a WasmGemm and its worker threads (gemm_threads.ts): depths in blocks
 * of KC, V rows in blocks of MC, each call sweeping all of the given S columns.
 *
 * @module
 */

/** `gemm_block`'s signature (see gemm_kernel.ts). */
export type BlockFn = (
  v: number,
  s: number,
  r: number,
  rows: number,
  cols: number,
  kc: number,
  vPanelBytes: number,
  sPanelBytes: number,
  ldc: number,
  accumulate: number,
) => void;

/** The kernel's tile and the cache blocking around it. */
export interface BlockPlan {
  /** Rows of a V panel and columns of an S panel (the kernel's tile). */
  mr: number;
  nr: number;
  /** V rows per block (a multiple of `mr`) and depths per block. */
  mc: number;
  kc: number;
}

/** Floats (or int32 sums) per column of the product's result R for `rows` rows. */
export function resultRows(rows: number): number {
  return Math.ceil(rows / 4) * 4;
}

/**
 * R = V S block by block, for V [rows, k] packed in `mr`-lane panels at `v`, S [k, cols] in
 * `nr`-lane panels at `s` and R column-major at `r` with `resultRows(rows)` elements per
 * column (addresses in bytes, elements 4 bytes).
 *
 * @example
 * ```ts
 * multiplyBlocks(exports.gemm_block as BlockFn, { mr: 8, nr: 6, mc: 128, kc: 512 }, v, s, r, 64, 100, 576);
 * ```
 */
export function multiplyBlocks(
  block: BlockFn,
  plan: BlockPlan,
  v: number,
  s: number,
  r: number,
  rows: number,
  cols: number,
  k: number,
): void {
  const { mr, nr, mc, kc } = plan;
  const ldc = resultRows(rows);
  for (let p0 = 0; p0 < k; p0 += kc) {
    const depth = Math.min(kc, k - p0);
    for (let i0 = 0; i0 < ldc; i0 += mc) {
      block(
        v + (i0 * k + p0 * mr) * 4,
        s + p0 * nr * 4,
        r + i0 * 4,
        Math.min(mc, ldc - i0),
        cols,
        depth,
        mr * k * 4,
        nr * k * 4,
        ldc * 4,
        p0 > 0 ? 1 : 0,
      );
    }
  }
}
