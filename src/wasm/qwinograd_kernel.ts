/**
 * Generates the WebAssembly SIMD transforms of an exact integer Winograd F(2x2, 3x3) for the
 * int8 NHWC convolution (wasm_qconv.ts drives them, around the "i16-pairs" product of
 * gemm_kernel.ts). With x' the input as i8 values (u8 bytes minus 128) and U = (2G) g (2G)^T
 * the weights scaled by 4 (integers: src/ops/winograd_algorithms.ts has G with halves), every
 * step is integer arithmetic: B^T d B of 8-bit values fits i16 (|V| <= 512), |U| <= 1152 fits
 * i16, the products sum exactly in wrapping int32, and A^T M A is 4 times the conv's sum, which
 * fits int32, so an arithmetic shift by 2 gives it exactly.
 *
 * Layouts, addresses in bytes:
 * - `winograd_input_<dtype>(src, rowBytes, tilesH, tilesW, chunks, pairs, dst, xiBytes)`: the
 *   4x4 patch of tile (ty, tx) starts at `src + 2ty * rowBytes + 2tx * 8 * chunks` (a padded
 *   NHWC image of `8 * chunks` channels, no bounds tests); per chunk of 8 channels its 16
 *   transformed values V_xi go to the product's panel layout of `width` lanes, like `gather`
 *   (qconv_kernel.ts): tile t is lane t % width of panel t / width, pair p of V_xi at
 *   `dst + xi * xiBytes + 4 * ((panel * pairs + p) * width + lane)`.
 * - `winograd_output(r, ldc, xiBytes, tilesH, tilesW, groups, dst, outRows, outCols,
 *   pixelBytes)`: the products M_xi column-major (tile t's column at `r + xi * xiBytes +
 *   t * ldc`), per group q of 4 output channels the 2x2 outputs A^T M A / 4 as int32 vectors
 *   at `dst + (oy * outCols + ox) * pixelBytes + 16q`, for the outputs inside
 *   outRows x outCols.
 *
 * @module
 */

import { WINOGRAD_F2 } from "../ops/winograd_algorithms.ts";
import { advance, beginCountingLoop, endCountingLoop, range } from "./emit_loops.ts";
import type { FunctionBody, ValType } from "./function_body.ts";
import type { ModuleBuilder } from "./module_builder.ts";
import type { Int8Type } from "./qconv_kernel.ts";
import { sandwich } from "./winograd_kernel.ts";

const INPUT_PARAMS: ValType[] = new Array(8).fill("i32");
const OUTPUT_PARAMS: ValType[] = new Array(10).fill("i32");

/**
 * Adds `winograd_input_u8`, `winograd_input_i8` (panels of `width` lanes) and
 * `winograd_output` to `mod` and exports them.
 */
export function addQWinogradFunctions(mod: ModuleBuilder, width: number): void {
  for (const dtype of ["u8", "i8"] as const) {
    const input = mod.addFunction(INPUT_PARAMS, []);
    emitInput(input.body, width, dtype);
    mod.exportFunction(`winograd_input_${dtype}`, input.index);
  }
  const output = mod.addFunction(OUTPUT_PARAMS, []);
  emitOutput(output.body);
  mod.exportFunction("winograd_output", output.index);
}

/** `winograd_input_<dtype>`: per tile and chunk of 8 channels, B^T d B into the panels. */
function emitInput(f: FunctionBody, width: number, dtype: Int8Type) {
  const { t, bt } = WINOGRAD_F2;
  const [src, rowBytes, tilesH, tilesW, chunks, pairs, dst, xiBytes] = range(8);
  const [ty, tx, tile, patch, lane, c, at, pixelBytes] = range(8).map(() => f.addLocal("i32"));
  const patchValues = range(t).map(() => range(t).map(() => f.addLocal("v128")));
  const laneStep = width * 4;
  f.localGet(chunks).i32Const(8).op("i32.mul").localSet(pixelBytes);
  f.i32Const(0).localSet(tile);
  beginCountingLoop(f, ty);
  beginCountingLoop(f, tx);
  f.localGet(src).localGet(ty).i32Const(2).op("i32.mul").localGet(rowBytes).op("i32.mul");
  f.op("i32.add").localGet(tx).i32Const(2).op("i32.mul").localGet(pixelBytes).op("i32.mul");
  f.op("i32.add").localSet(patch);
  // The tile's lane in the panels of the first chunk: panel * pairs * width + lane, in bytes.
  f.localGet(dst);
  f.localGet(tile).i32Const(width).op("i32.div_u").localGet(pairs).op("i32.mul");
  f.i32Const(width).op("i32.mul");
  f.localGet(tile).i32Const(width).op("i32.rem_u").op("i32.add").i32Const(4).op("i32.mul");
  f.op("i32.add").localSet(lane);
  beginCountingLoop(f, c);
  for (const [a, row] of patchValues.entries()) {
    for (const [b, local] of row.entries()) {
      f.localGet(patch).localGet(rowBytes).i32Const(a).op("i32.mul").op("i32.add");
      f.localGet(pixelBytes).i32Const(b).op("i32.mul").op("i32.add");
      f.localGet(c).i32Const(8).op("i32.mul").op("i32.add");
      f.memory(dtype === "u8" ? "v128.load8x8_u" : "v128.load8x8_s");
      if (dtype === "u8") f.i32Const(128).op("i16x8.splat").op("i16x8.sub");
      f.localSet(local);
    }
  }
  const v = sandwich(f, bt, patchValues, { add: "i16x8.add", sub: "i16x8.sub" });
  for (const [i, row] of v.entries()) {
    for (const [j, local] of row.entries()) {
      f.localGet(xiBytes).i32Const(i * t + j).op("i32.mul").localGet(lane).op("i32.add");
      f.localSet(at);
      for (let p = 0; p < 4; p++) {
        f.localGet(at).localGet(local).memoryLane("v128.store32_lane", p * laneStep, p);
      }
    }
  }
  advance(f, lane, { const: 4 * laneStep });
  endCountingLoop(f, c, chunks);
  advance(f, tile, { const: 1 });
  endCountingLoop(f, tx, tilesW);
  endCountingLoop(f, ty, tilesH);
}

/** `winograd_output`: per tile and group of 4 channels, A^T M A / 4 into its outputs. */
function emitOutput(f: FunctionBody) {
  const { m, t, at: atMatrix } = WINOGRAD_F2;
  const [r, ldc, xiBytes, tilesH, tilesW, groups, dst, outRows, outCols, pixelBytes] = range(10);
  const [ty, tx, column, q, out] = range(5).map(() => f.addLocal("i32"));
  const products = range(t).map(() => range(t).map(() => f.addLocal("v128")));
  beginCountingLoop(f, ty);
  beginCountingLoop(f, tx);
  f.localGet(r).localGet(ty).localGet(tilesW).op("i32.mul").localGet(tx).op("i32.add");
  f.localGet(ldc).op("i32.mul").op("i32.add").localSet(column);
  beginCountingLoop(f, q);
  for (const [i, row] of products.entries()) {
    for (const [j, local] of row.entries()) {
      f.localGet(column).localGet(xiBytes).i32Const(i * t + j).op("i32.mul").op("i32.add");
      f.localGet(q).i32Const(16).op("i32.mul").op("i32.add").memory("v128.load").localSet(local);
    }
  }
  const y = sandwich(f, atMatrix, products, { add: "i32x4.add", sub: "i32x4.sub" });
  for (const [i, row] of y.entries()) {
    for (const [j, local] of row.entries()) {
      // Output (m * ty + i, m * tx + j) when it is inside the image.
      f.localGet(ty).i32Const(m).op("i32.mul").i32Const(i).op("i32.add").localGet(outRows);
      f.op("i32.lt_u");
      f.localGet(tx).i32Const(m).op("i32.mul").i32Const(j).op("i32.add").localGet(outCols);
      f.op("i32.lt_u").op("i32.and").if();
      f.localGet(ty).i32Const(m).op("i32.mul").i32Const(i).op("i32.add").localGet(outCols);
      f.op("i32.mul").localGet(tx).i32Const(m).op("i32.mul").i32Const(j).op("i32.add");
      f.op("i32.add").localGet(pixelBytes).op("i32.mul").localGet(dst).op("i32.add");
      f.localGet(q).i32Const(16).op("i32.mul").op("i32.add").localSet(out);
      f.localGet(out).localGet(local).i32Const(2).op("i32x4.shr_s").memory("v128.store");
      f.end();
    }
  }
  endCountingLoop(f, q, groups);
  endCountingLoop(f, tx, tilesW);
  endCountingLoop(f, ty, tilesH);
}
