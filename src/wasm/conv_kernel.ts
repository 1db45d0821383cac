/**
 * Generates the WebAssembly SIMD helpers that turn the matrix product of gemm_kernel.ts into a
 * convolution (wasm_conv.ts drives them): staging the input with its pre-activation and zero
 * padding, building the im2col patches directly in the product's packed panel layout, and
 * the epilogue that copies the result out with bias, residual and activation applied.
 *
 * Layouts, all f32 in the imported memory, addresses in bytes:
 * - `stage(...)` (stage_kernel.ts) copies the image into a padded layout, pre-activating it.
 * - `gather_W(base, offsets, deltas, depth, dst, panels)`, for each panel width W the module
 *   is built for, writes `panels` panels of W lanes and `depth` depths in the layout of
 *   gemm_kernel.ts (lane l, depth p of panel t at `dst + 4 * ((t * depth + p) * W + l)`):
 *   the value is the f32 at `base + offsets[t * W + l] + deltas[p]` (offsets and deltas are
 *   i32 byte distances). For a conv, a lane is an output pixel, its offset the top-left tap
 *   of its window in the padded input, and a delta the distance of tap (c, i, j) from it.
 *   A panel whose offsets step by 4 bytes (one row of pixels at stride 1) copies each depth
 *   with v128 moves; by 8 bytes (stride 2), loads two v128 per 4 lanes and keeps the even
 *   lanes with a shuffle (reading up to 4 bytes past the last lane's tap); any other panel
 *   (one that wraps to the next row, or at the edge) gathers lane by lane.
 * - `store_cols(r, ldc, rows, cols, dst, colBytes, bias, z, lo, hi)` reads the column-major
 *   product R (row i, column j at `r + j * ldc + 4 * i`) and writes
 *   `min(max(R + bias[j] + z, lo), hi)` to `dst + j * colBytes + 4 * i`, with z the f32 at
 *   the same distance from `z` (left out when `z` is 0): the epilogue when R's columns are
 *   output channels and its rows pixels.
 * - `store_rows(r, ldc, rows, cols, dst, rowBytes, bias, z, lo, hi)` writes
 *   `min(max(R + bias[i] + z, lo), hi)` to `dst + i * rowBytes + 4 * j`: the epilogue when
 *   R's rows are output channels and its columns pixels.
 *
 * The loops walk each contiguous run with f32x4 moves and finish it with scalars; the bias
 * is added before the residual (as the float64 reference orders them), and the activation
 * `max` then `min` equals relu (lo 0, hi +Infinity), clip, and none (-Infinity, +Infinity)
 * exactly, NaN included.
 *
 * @module
 */

import { advance, copyMoves, multiplyAdd, range, walkRun } from "./emit_loops.ts";
import type { FunctionBody, ValType } from "./function_body.ts";
import { type MemoryLimits, ModuleBuilder } from "./module_builder.ts";
import { emitStage, STAGE_PARAMS } from "./stage_kernel.ts";

/** `gather_W`'s parameters: base, offsets, deltas, depth, dst, panels. */
const GATHER_PARAMS: ValType[] = new Array(6).fill("i32");
/** `store_cols` / `store_rows` parameters: 8 i32, then the f32 bounds. */
const STORE_PARAMS: ValType[] = [...new Array<ValType>(8).fill("i32"), "f32", "f32"];

/**
 * The conv helper module for panel widths `widths` (the product's `mr` and `nr`): imports
 * `env.memory`, exports `stage`, `gather_<W>` per width, `store_cols` and `store_rows` (see
 * the module doc).
 *
 * @example
 * ```ts
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const bytes = convKernelModule([8, 6]);
 * const helpers = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
 * ```
 */
export function convKernelModule(
  widths: readonly number[],
  limits: MemoryLimits = { minPages: 1 },
): Uint8Array<ArrayBuffer> {
  for (const w of widths) {
    if (!Number.isInteger(w) || w < 1) {
      throw new RangeError(`Conv kernel panel width ${w} must be an integer >= 1`);
    }
  }
  const mod = new ModuleBuilder();
  mod.importMemory("env", "memory", limits);
  const stage = mod.addFunction(STAGE_PARAMS, []);
  emitStage(stage.body);
  mod.exportFunction("stage", stage.index);
  for (const width of new Set(widths)) {
    const gather = mod.addFunction(GATHER_PARAMS, []);
    emitGather(gather.body, width);
    mod.exportFunction(`gather_${width}`, gather.index);
  }
  const cols = mod.addFunction(STORE_PARAMS, []);
  emitStoreCols(cols.body);
  mod.exportFunction("store_cols", cols.index);
  const rows = mod.addFunction(STORE_PARAMS, []);
  emitStoreRows(rows.body);
  mod.exportFunction("store_rows", rows.index);
  return mod.encode();
}

/** `gather_W`: per panel, the lane offsets, the panel's kind, then one pass over the depths. */
function emitGather(f: FunctionBody, width: number) {
  const [base, offsets, deltas, depth, dst, panels] = range(6);
  const lane = range(width).map(() => f.addLocal("i32"));
  const [dp, dEnd, delta, at] = range(4).map(() => f.addLocal("i32"));

  /** Pushes 1 when every lane's offset is lane 0's plus `step` bytes per lane. */
  const stepsBy = (step: number) => {
    f.i32Const(1);
    for (let l = 1; l < width; l++) {
      f.localGet(lane[l]).localGet(lane[0]).op("i32.sub").i32Const(step * l).op("i32.eq");
      f.op("i32.and");
    }
  };
  /** One pass over the depths: `at` = lane 0's tap; `each()` writes W floats at dst. */
  const overDepths = (each: () => void) => {
    f.localGet(deltas).localSet(dp);
    f.loop();
    f.localGet(dp).memory("i32.load").localTee(delta).localGet(lane[0]).op("i32.add").localSet(at);
    each();
    advance(f, dst, { const: width * 4 });
    advance(f, dp, { const: 4 });
    f.localGet(dp).localGet(dEnd).op("i32.lt_u").brIf(0);
    f.end();
  };

  f.localGet(deltas).localGet(depth).i32Const(4).op("i32.mul").op("i32.add").localSet(dEnd);
  f.loop();
  for (let l = 0; l < width; l++) {
    f.localGet(offsets).memory("i32.load", l * 4).localGet(base).op("i32.add").localSet(lane[l]);
  }
  advance(f, offsets, { const: width * 4 });
  stepsBy(4);
  f.if();
  overDepths(() => {
    for (const [load, store, offset] of copyMoves(width)) {
      f.localGet(dst).localGet(at).memory(load, offset).memory(store, offset);
    }
  });
  f.else();
  if (width % 4 === 0) {
    stepsBy(8);
    f.if();
    overDepths(() => {
      for (let g = 0; g < width / 4; g++) {
        f.localGet(dst).localGet(at).memory("v128.load", g * 32);
        f.localGet(at).memory("v128.load", g * 32 + 16);
        f.shuffle([0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27]);
        f.memory("v128.store", g * 16);
      }
    });
    f.else();
  }
  overDepths(() => {
    const tap = (l: number) => f.localGet(lane[l]).localGet(delta).op("i32.add").memory("f32.load");
    for (let g = 0; g + 4 <= width; g += 4) {
      f.localGet(dst);
      tap(g);
      f.op("f32x4.splat");
      for (let l = 1; l < 4; l++) {
        tap(g + l);
        f.lane("f32x4.replace_lane", l);
      }
      f.memory("v128.store", g * 4);
    }
    for (let l = width - width % 4; l < width; l++) {
      f.localGet(dst);
      tap(l);
      f.memory("f32.store", l * 4);
    }
  });
  if (width % 4 === 0) f.end();
  f.end();
  f.localGet(panels).i32Const(1).op("i32.sub").localTee(panels).brIf(0);
  f.end();
}

/** `store_cols`: per column j, one run of `rows` floats with bias[j] and, if given, z. */
function emitStoreCols(f: FunctionBody) {
  const [r, ldc, rows, cols, dst, colBytes, bias, z, lo, hi] = range(10);
  const [j, rp, dp, zp, end, vecEnd] = range(6).map(() => f.addLocal("i32"));
  const b = f.addLocal("f32");
  const [vb, vlo, vhi] = range(3).map(() => f.addLocal("v128"));
  f.localGet(lo).op("f32x4.splat").localSet(vlo);
  f.localGet(hi).op("f32x4.splat").localSet(vhi);
  f.loop();
  f.localGet(bias).localGet(j).i32Const(4).op("i32.mul").op("i32.add").memory("f32.load");
  f.localTee(b).op("f32x4.splat").localSet(vb);
  multiplyAdd(f, rp, j, ldc, r);
  multiplyAdd(f, zp, j, colBytes, z);
  multiplyAdd(f, dp, j, colBytes, dst);
  /** The epilogue of one run, with or without the residual. */
  const run = (residual: boolean) =>
    walkRun(f, residual ? [dp, rp, zp] : [dp, rp], rows, end, vecEnd, () => {
      f.localGet(rp).memory("v128.load").localGet(vb).op("f32x4.add");
      if (residual) f.localGet(zp).memory("v128.load").op("f32x4.add");
      f.localGet(vlo).op("f32x4.max").localGet(vhi).op("f32x4.min");
    }, () => {
      f.localGet(rp).memory("f32.load").localGet(b).op("f32.add");
      if (residual) f.localGet(zp).memory("f32.load").op("f32.add");
      f.localGet(lo).op("f32.max").localGet(hi).op("f32.min");
    });
  f.localGet(z).if();
  run(true);
  f.else();
  run(false);
  f.end();
  f.localGet(j).i32Const(1).op("i32.add").localTee(j).localGet(cols).op("i32.lt_u").brIf(0);
  f.end();
}

/** `store_rows`: per column j, per row i, one scalar with bias[i] and, if given, z. */
function emitStoreRows(f: FunctionBody) {
  const [r, ldc, rows, cols, dst, rowBytes, bias, z, lo, hi] = range(10);
  const [j, i, rp, dp, bp] = range(5).map(() => f.addLocal("i32"));
  const v = f.addLocal("f32");
  f.loop();
  multiplyAdd(f, rp, j, ldc, r);
  f.localGet(j).i32Const(4).op("i32.mul").localSet(dp);
  f.localGet(bias).localSet(bp);
  f.i32Const(0).localSet(i);
  f.loop();
  f.localGet(rp).memory("f32.load").localGet(bp).memory("f32.load").op("f32.add").localSet(v);
  f.localGet(z).if();
  f.localGet(v).localGet(dp).localGet(z).op("i32.add").memory("f32.load").op("f32.add");
  f.localSet(v);
  f.end();
  f.localGet(dp).localGet(dst).op("i32.add");
  f.localGet(v).localGet(lo).op("f32.max").localGet(hi).op("f32.min").memory("f32.store");
  advance(f, rp, { const: 4 });
  advance(f, bp, { const: 4 });
  advance(f, dp, { local: rowBytes });
  f.localGet(i).i32Const(1).op("i32.add").localTee(i).localGet(rows).op("i32.lt_u").brIf(0);
  f.end();
  f.localGet(j).i32Const(1).op("i32.add").localTee(j).localGet(cols).op("i32.lt_u").brIf(0);
  f.end();
}
