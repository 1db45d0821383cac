/**
 * Generates the WebAssembly SIMD kernel of the CPU matrix product (wasm_gemm.ts packs the
 * operands and drives it).
 *
 * Layouts, all f32 in the imported memory, addresses in bytes:
 * - V, the vector operand, packed in panels of `mr` rows: row `i`, depth `p` of a panel at
 *   `p * mr + i`; panels `vPanelBytes` apart. Rows are the SIMD lanes.
 * - S, the broadcast operand, packed in panels of `nr` columns: depth `p`, column `j` at
 *   `p * nr + j`; panels `sPanelBytes` apart.
 * - R, the result, column-major: row `i`, column `j` at `j * ldc + i` (`ldc` in bytes).
 *
 * `gemm_block(v, s, r, rows, cols, kc, vPanelBytes, sPanelBytes, ldc, accumulate)` computes
 * R[0..rows, 0..cols] (+)= V[0..rows, 0..kc] S[0..kc, 0..cols] for `rows` a multiple of 4,
 * `cols` >= 1 and `kc` >= 1; `v` and `s` point at the first panels' depth 0 of this block.
 * It walks the `nr`-column panels of S, and for each the `mr`-row panels of V, calling one
 * micro-kernel per tile through a table indexed by the tile's size, so edge tiles compute
 * only their real columns and real 4-row groups.
 *
 * `pack_W(src, srcRowBytes, dst, depth, panels)`, for W = `mr` and W = `nr`, packs `panels`
 * panels of W lanes from a matrix whose lanes are contiguous (lane l, depth p at
 * `src + p * srcRowBytes + 4 * l`) into the layout above, copying W floats per depth with
 * `v128`, `i64` and `f32` moves.
 *
 * The micro-kernel for an `m x n` tile (m a multiple of 4 up to `mr`, n up to `nr`) keeps the
 * tile's m/4 x n f32x4 sums in locals (registers), and per depth loads m/4 vectors of V and
 * broadcasts n scalars of S (`v128.load32_splat`): m/4 x n multiply-adds per m/4 + n loads,
 * instead of one per load as in a dot-product loop. The `arithmetic` decides the elements:
 * - "f32": f32 elements, `f32x4.mul` then `f32x4.add`;
 * - "f32-fma": f32 elements, `f32x4.relaxed_madd` (one fused instruction where the CPU has
 *   FMA);
 * - "i16-pairs": each 4-byte element is a pair of i16 values (depth 2p and 2p + 1 of the
 *   int8 product, low half first) and each sum an i32: `i32x4.dot_i16x8_s` of a V vector
 *   (4 rows' pairs) and a broadcast S pair gives the 4 rows' two products added, then
 *   `i32x4.add` (x64 `pmaddwd` + `paddd`: 8 multiply-adds in two instructions). Integer sums
 *   are exact (wrapping at 2^32 like the int32 reference), so `chunk` only bounds register
 *   pressure.
 *
 * f32 sums: the registers sum `chunk` depths from zero, then are added to the tile in R (which
 * stays in L1), a two-level summation whose rounding error grows with chunk + depth/chunk
 * instead of depth (as in the GPU's tiled matmul), for one load, add and store per sum vector
 * and chunk. Results differ from the float64-accumulating TypeScript path by about 1e-6
 * relative, well inside `TOLERANCES.f32Kernel`.
 *
 * @module
 */

import { copyMoves, range } from "./emit_loops.ts";
import type { FunctionBody, ValType } from "./function_body.ts";
import { type MemoryLimits, ModuleBuilder } from "./module_builder.ts";

/** The micro-kernel's elements and multiply-add (see the module doc). */
export type GemmArithmetic = "f32" | "f32-fma" | "i16-pairs";

/** Shape of the micro-kernel's register tile and the multiply-add it uses. */
export interface GemmKernelConfig {
  /** Rows of a tile: SIMD lanes of V, a multiple of 4. */
  mr: number;
  /** Columns of a tile: broadcast scalars of S. */
  nr: number;
  /** Elements and multiply-add. */
  arithmetic: GemmArithmetic;
  /** Depths summed in registers before the sums are added to R (two-level summation). */
  chunk: number;
}

/** Parameters of every micro-kernel: v, s, r, kc, ldc, accumulate. */
const KERNEL_PARAMS: ValType[] = new Array(6).fill("i32");
/** Parameters of `gemm_block`: v, s, r, rows, cols, kc, vPanelBytes, sPanelBytes, ldc, acc. */
const BLOCK_PARAMS: ValType[] = new Array(10).fill("i32");
/** Parameters of `pack_W`: src, srcRowBytes, dst, depth, panels. */
const PACK_PARAMS: ValType[] = new Array(5).fill("i32");

/**
 * The kernel module for `config`: imports `env.memory`, exports `gemm_block`, `pack_<mr>` and
 * `pack_<nr>` (see the module doc).
 *
 * @example
 * ```ts
 * const bytes = gemmKernelModule({ mr: 8, nr: 6, arithmetic: "f32", chunk: 32 });
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const kernel = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
 * ```
 */
export function gemmKernelModule(
  config: GemmKernelConfig,
  limits: MemoryLimits = { minPages: 1 },
): Uint8Array<ArrayBuffer> {
  const { mr, nr } = config;
  if (!Number.isInteger(mr) || mr < 4 || mr % 4 !== 0 || !Number.isInteger(nr) || nr < 1) {
    throw new RangeError(
      `Gemm kernel tile ${mr}x${nr} must have rows a multiple of 4 and cols >= 1`,
    );
  }
  if (!Number.isInteger(config.chunk) || config.chunk < 1) {
    throw new RangeError(`Gemm kernel chunk ${config.chunk} must be an integer >= 1`);
  }
  const mod = new ModuleBuilder();
  mod.importMemory("env", "memory", limits);
  // Table slot (m/4 - 1) * nr + (n - 1) holds the micro-kernel of an m x n tile.
  const table: number[] = [];
  for (let m = 4; m <= mr; m += 4) {
    for (let n = 1; n <= nr; n++) {
      const fn = mod.addFunction(KERNEL_PARAMS, []);
      emitMicroKernel(fn.body, config, m / 4, n);
      table.push(fn.index);
    }
  }
  mod.setTable(table);
  const block = mod.addFunction(BLOCK_PARAMS, []);
  emitBlockLoop(block.body, config, mod.addType(KERNEL_PARAMS, []));
  mod.exportFunction("gemm_block", block.index);
  for (const width of new Set([mr, nr])) {
    const pack = mod.addFunction(PACK_PARAMS, []);
    emitPackPanels(pack.body, width);
    mod.exportFunction(`pack_${width}`, pack.index);
  }
  return mod.encode();
}

/**
 * One tile of `vectors` x 4 rows and `cols` columns: sums start at zero or at R's values,
 * then one pass over the depths, then the sums are stored to R.
 */
function emitMicroKernel(f: FunctionBody, config: GemmKernelConfig, vectors: number, cols: number) {
  const [v, s, r, kc, ldc, accumulate] = [0, 1, 2, 3, 4, 5];
  const sums = Array.from({ length: cols }, () => range(vectors).map(() => f.addLocal("v128")));
  const a = range(vectors).map(() => f.addLocal("v128"));
  const b = f.addLocal("v128");
  const column = f.addLocal("i32");
  const sEnd = f.addLocal("i32");
  const chunkEnd = f.addLocal("i32");
  const stepBytes = config.nr * 4;
  const integer = config.arithmetic === "i16-pairs";
  const product = integer ? "i32x4.dot_i16x8_s" : "f32x4.mul";
  const add = integer ? "i32x4.add" : "f32x4.add";

  /** Runs `each(j, q)` for the tile's vectors with `column` at R's column j. */
  const overTile = (each: (j: number, q: number) => void) => {
    f.localGet(r).localSet(column);
    for (let j = 0; j < cols; j++) {
      if (j > 0) f.localGet(column).localGet(ldc).op("i32.add").localSet(column);
      for (let q = 0; q < vectors; q++) each(j, q);
    }
  };

  f.localGet(accumulate).op("i32.eqz").if();
  overTile((_, q) => f.localGet(column).v128Zero().memory("v128.store", q * 16));
  f.end();
  f.localGet(s).localGet(kc).i32Const(stepBytes).op("i32.mul").op("i32.add").localSet(sEnd);
  f.loop();
  for (const sum of sums.flat()) f.v128Zero().localSet(sum);
  // chunkEnd = min(s + chunk depths, sEnd)
  f.localGet(s).i32Const(config.chunk * stepBytes).op("i32.add").localTee(chunkEnd);
  f.localGet(sEnd).localGet(chunkEnd).localGet(sEnd).op("i32.lt_u").op("select").localSet(
    chunkEnd,
  );
  f.loop();
  for (let q = 0; q < vectors; q++) f.localGet(v).memory("v128.load", q * 16).localSet(a[q]);
  for (let j = 0; j < cols; j++) {
    f.localGet(s).memory("v128.load32_splat", j * 4).localSet(b);
    for (let q = 0; q < vectors; q++) {
      if (config.arithmetic === "f32-fma") {
        f.localGet(a[q]).localGet(b).localGet(sums[j][q]).op("f32x4.relaxed_madd");
      } else {
        f.localGet(sums[j][q]).localGet(a[q]).localGet(b).op(product).op(add);
      }
      f.localSet(sums[j][q]);
    }
  }
  f.localGet(v).i32Const(config.mr * 4).op("i32.add").localSet(v);
  f.localGet(s).i32Const(stepBytes).op("i32.add").localTee(s);
  f.localGet(chunkEnd).op("i32.lt_u").brIf(0);
  f.end();
  overTile((j, q) => {
    f.localGet(column).localGet(column).memory("v128.load", q * 16).localGet(sums[j][q]);
    f.op(add).memory("v128.store", q * 16);
  });
  f.localGet(s).localGet(sEnd).op("i32.lt_u").brIf(0);
  f.end();
}

/**
 * `gemm_block`: for each `nr`-column panel of S (column j), for each `mr`-row panel of V
 * (row i), calls the micro-kernel of the tile min(mr, rows - i) x min(nr, cols - j).
 */
function emitBlockLoop(f: FunctionBody, config: GemmKernelConfig, kernelType: number) {
  const [v, s, r, rows, cols, kc, vPanelBytes, sPanelBytes, ldc, accumulate] = range(10);
  const [i, j, vp, rp, rColumn, tileCols] = range(6).map(() => f.addLocal("i32"));
  /** Pushes min(limit - counter, tile). */
  const remaining = (limit: number, counter: number, tile: number) => {
    f.localGet(limit).localGet(counter).op("i32.sub").i32Const(tile);
    f.localGet(limit).localGet(counter).op("i32.sub").i32Const(tile).op("i32.lt_u").op("select");
  };

  f.localGet(r).localSet(rColumn);
  f.loop();
  remaining(cols, j, config.nr);
  f.localSet(tileCols);
  f.i32Const(0).localSet(i);
  f.localGet(v).localSet(vp);
  f.localGet(rColumn).localSet(rp);
  f.loop();
  for (const arg of [vp, s, rp, kc, ldc, accumulate]) f.localGet(arg);
  // Table slot: (min(mr, rows - i) / 4 - 1) * nr + tileCols - 1.
  remaining(rows, i, config.mr);
  f.i32Const(2).op("i32.shr_u").i32Const(1).op("i32.sub").i32Const(config.nr).op("i32.mul");
  f.localGet(tileCols).op("i32.add").i32Const(1).op("i32.sub");
  f.callIndirect(kernelType);
  f.localGet(vp).localGet(vPanelBytes).op("i32.add").localSet(vp);
  f.localGet(rp).i32Const(config.mr * 4).op("i32.add").localSet(rp);
  f.localGet(i).i32Const(config.mr).op("i32.add").localTee(i);
  f.localGet(rows).op("i32.lt_u").brIf(0);
  f.end();
  f.localGet(s).localGet(sPanelBytes).op("i32.add").localSet(s);
  f.localGet(rColumn).localGet(ldc).i32Const(config.nr).op("i32.mul").op("i32.add").localSet(
    rColumn,
  );
  f.localGet(j).i32Const(config.nr).op("i32.add").localTee(j);
  f.localGet(cols).op("i32.lt_u").brIf(0);
  f.end();
}

/** `pack_W`: for each panel, for each depth, copies W floats in 16-, 8- and 4-byte moves. */
function emitPackPanels(f: FunctionBody, width: number) {
  const [src, srcRowBytes, dst, depth, panels] = range(5);
  const [row, left] = range(2).map(() => f.addLocal("i32"));
  const moves = copyMoves(width);
  f.loop();
  f.localGet(src).localSet(row);
  f.localGet(depth).localSet(left);
  f.loop();
  for (const [load, store, offset] of moves) {
    f.localGet(dst).localGet(row).memory(load, offset).memory(store, offset);
  }
  f.localGet(dst).i32Const(width * 4).op("i32.add").localSet(dst);
  f.localGet(row).localGet(srcRowBytes).op("i32.add").localSet(row);
  f.localGet(left).i32Const(1).op("i32.sub").localTee(left).brIf(0);
  f.end();
  f.localGet(src).i32Const(width * 4).op("i32.add").localSet(src);
  f.localGet(panels).i32Const(1).op("i32.sub").localTee(panels).brIf(0);
  f.end();
}
