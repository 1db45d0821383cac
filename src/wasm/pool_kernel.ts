/**
 * Generates the WebAssembly SIMD max pooling kernel (wasm_pool.ts drives it). The module
 * exports `stage` (stage_kernel.ts), which copies the planes into a padded layout whose
 * padding the caller fills with -Infinity, and:
 *
 * `max_pool(src, dst, planes, rows, cols, outRows, outCols, kh, kw, sh, sw, dh, dw)` reads
 * `planes` padded planes [rows, cols] at `src` and writes [planes, outRows, outCols] at `dst`,
 * output (y, x) being the max of the kh x kw taps at (y*sh + i*dh, x*sw + j*dw): no bounds
 * tests, the padding holds -Infinity, which never wins (`f32x4.max` keeps NaN and orders -0
 * below +0 as `Math.max` does). Sizes in floats, addresses in bytes.
 *
 * `max_pool_nhwc_<u8|i8>(src, dst, n, h, w, cp, oh, ow, kh, kw, sh, sw, dh, dw, padT, padL)`
 * pools 8-bit NHWC [n, h, w, cp] at `src` (cp a multiple of 16, in bytes) into [n, oh, ow, cp]
 * at `dst` under the same window, 16 channels per vector (`i8x16.max_u` / `max_s`), skipping
 * the taps outside the input.
 *
 * Four outputs of a row at a time when the column stride is 1 (one v128 load per tap) or 2
 * (two loads, the even lanes kept with a shuffle, reading up to 4 bytes past the last tap);
 * the other outputs, and every output at larger strides, one at a time.
 *
 * @module
 */

import { advance, beginCountingLoop, endCountingLoop, range, whileBelow } from "./emit_loops.ts";
import type { FunctionBody, ValType } from "./function_body.ts";
import { type MemoryLimits, ModuleBuilder } from "./module_builder.ts";
import { emitStage, STAGE_PARAMS } from "./stage_kernel.ts";

/** `max_pool`'s parameters (see the module doc). */
const MAX_POOL_PARAMS: ValType[] = new Array(13).fill("i32");

/** `max_pool_nhwc_<type>`'s parameters (see the module doc). */
const MAX_POOL_NHWC_PARAMS: ValType[] = new Array(16).fill("i32");

/** The 8-bit element types of `max_pool_nhwc_<type>`. */
export type PoolByteType = "u8" | "i8";

/**
 * The pooling module: imports `env.memory`, exports `stage`, `max_pool`, `max_pool_nhwc_u8`
 * and `max_pool_nhwc_i8`.
 *
 * @example
 * ```ts
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const bytes = poolKernelModule();
 * const pool = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
 * ```
 */
export function poolKernelModule(
  limits: MemoryLimits = { minPages: 1 },
): Uint8Array<ArrayBuffer> {
  const mod = new ModuleBuilder();
  mod.importMemory("env", "memory", limits);
  const stage = mod.addFunction(STAGE_PARAMS, []);
  emitStage(stage.body);
  mod.exportFunction("stage", stage.index);
  const maxPool = mod.addFunction(MAX_POOL_PARAMS, []);
  emitMaxPool(maxPool.body);
  mod.exportFunction("max_pool", maxPool.index);
  for (const type of ["u8", "i8"] as const) {
    const nhwc = mod.addFunction(MAX_POOL_NHWC_PARAMS, []);
    emitMaxPoolNhwc(nhwc.body, type);
    mod.exportFunction(`max_pool_nhwc_${type}`, nhwc.index);
  }
  return mod.encode();
}

/**
 * `max_pool_nhwc_<type>`: per output pixel and 16 channels, the byte-wise max over the window's
 * in-bounds taps (an unsigned compare of the row and column rejects both edges), starting from
 * the type's lowest value, which any tap equals or beats.
 */
function emitMaxPoolNhwc(f: FunctionBody, type: PoolByteType) {
  const [src, dst, n, h, w, cp, oh, ow, kh, kw, sh, sw, dh, dw, padT, padL] = range(16);
  const [image, oy, ox, c, ky, kx, iy0, ix0, iy, ix, rowAt] = range(11).map(() =>
    f.addLocal("i32")
  );
  const [lowest, acc] = range(2).map(() => f.addLocal("v128"));
  f.i32Const(type === "u8" ? 0 : -128).op("i8x16.splat").localSet(lowest);
  beginCountingLoop(f, image);
  beginCountingLoop(f, oy);
  f.localGet(oy).localGet(sh).op("i32.mul").localGet(padT).op("i32.sub").localSet(iy0);
  beginCountingLoop(f, ox);
  f.localGet(ox).localGet(sw).op("i32.mul").localGet(padL).op("i32.sub").localSet(ix0);
  f.i32Const(0).localSet(c);
  f.loop();
  f.localGet(lowest).localSet(acc);
  beginCountingLoop(f, ky);
  f.localGet(iy0).localGet(ky).localGet(dh).op("i32.mul").op("i32.add").localTee(iy);
  f.localGet(h).op("i32.lt_u").if();
  // rowAt: the byte address of channel c at (iy, 0).
  f.localGet(image).localGet(h).op("i32.mul").localGet(iy).op("i32.add");
  f.localGet(w).op("i32.mul").localGet(cp).op("i32.mul").localGet(src).op("i32.add");
  f.localGet(c).op("i32.add").localSet(rowAt);
  beginCountingLoop(f, kx);
  f.localGet(ix0).localGet(kx).localGet(dw).op("i32.mul").op("i32.add").localTee(ix);
  f.localGet(w).op("i32.lt_u").if();
  f.localGet(acc).localGet(ix).localGet(cp).op("i32.mul").localGet(rowAt).op("i32.add");
  f.memory("v128.load").op(type === "u8" ? "i8x16.max_u" : "i8x16.max_s").localSet(acc);
  f.end();
  endCountingLoop(f, kx, kw);
  f.end();
  endCountingLoop(f, ky, kh);
  f.localGet(dst).localGet(acc).memory("v128.store");
  advance(f, dst, { const: 16 });
  advance(f, c, { const: 16 });
  f.localGet(c).localGet(cp).op("i32.lt_u").brIf(0);
  f.end();
  endCountingLoop(f, ox, ow);
  endCountingLoop(f, oy, oh);
  endCountingLoop(f, image, n);
}

/** `max_pool`: per plane and output row, the vector loop for stride 1 or 2, then the scalars. */
function emitMaxPool(f: FunctionBody) {
  const [src, dst, planes, rows, cols, outRows, outCols, kh, kw, sh, sw, dh, dw] = range(13);
  const [rowStep, tapRow, tapCol, colStep, planeBytes] = range(5).map(() => f.addLocal("i32"));
  const [plane, y, rowAt, at, tap, i, j, outEnd, vecEnd] = range(9).map(() => f.addLocal("i32"));
  const acc = f.addLocal("v128");
  const max = f.addLocal("f32");

  /**
   * For each tap of the window at `at`: `tap` set to its address, then `each()`. The first
   * tap is visited again after `first()` so that every tap takes the same path.
   */
  const overTaps = (first: () => void, each: () => void) => {
    f.localGet(at).localSet(tap);
    first();
    f.i32Const(0).localSet(i);
    f.loop();
    f.localGet(at).localGet(i).localGet(tapRow).op("i32.mul").op("i32.add").localSet(tap);
    f.i32Const(0).localSet(j);
    f.loop();
    each();
    advance(f, tap, { local: tapCol });
    f.localGet(j).i32Const(1).op("i32.add").localTee(j).localGet(kw).op("i32.lt_u").brIf(0);
    f.end();
    f.localGet(i).i32Const(1).op("i32.add").localTee(i).localGet(kh).op("i32.lt_u").brIf(0);
    f.end();
  };
  /** Four outputs at a time while `dst` < `vecEnd`, `load()` reading 4 outputs' tap at `tap`. */
  const vectorLoop = (load: () => void) => {
    whileBelow(f, dst, vecEnd, () => {
      overTaps(() => (load(), f.localSet(acc)), () => {
        f.localGet(acc);
        load();
        f.op("f32x4.max").localSet(acc);
      });
      f.localGet(dst).localGet(acc).memory("v128.store");
      advance(f, dst, { const: 16 });
      f.localGet(at).localGet(colStep).i32Const(4).op("i32.mul").op("i32.add").localSet(at);
    });
  };

  f.localGet(sh).localGet(cols).op("i32.mul").i32Const(4).op("i32.mul").localSet(rowStep);
  f.localGet(dh).localGet(cols).op("i32.mul").i32Const(4).op("i32.mul").localSet(tapRow);
  f.localGet(dw).i32Const(4).op("i32.mul").localSet(tapCol);
  f.localGet(sw).i32Const(4).op("i32.mul").localSet(colStep);
  f.localGet(rows).localGet(cols).op("i32.mul").i32Const(4).op("i32.mul").localSet(planeBytes);
  f.loop();
  f.localGet(src).localGet(plane).localGet(planeBytes).op("i32.mul").op("i32.add");
  f.localSet(rowAt);
  f.i32Const(0).localSet(y);
  f.loop();
  f.localGet(rowAt).localSet(at);
  // outEnd: this row's end in dst; vecEnd: the end of its whole groups of 4 (none if sw > 2).
  f.localGet(dst).localGet(outCols).i32Const(4).op("i32.mul").op("i32.add").localSet(outEnd);
  f.localGet(dst).localGet(outCols).i32Const(-4).op("i32.and").i32Const(4).op("i32.mul");
  f.op("i32.add").localGet(dst).localGet(sw).i32Const(2).op("i32.le_u").op("select");
  f.localSet(vecEnd);
  f.localGet(sw).i32Const(1).op("i32.eq").if();
  vectorLoop(() => f.localGet(tap).memory("v128.load"));
  f.else();
  vectorLoop(() => {
    f.localGet(tap).memory("v128.load").localGet(tap).memory("v128.load", 16);
    f.shuffle([0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27]);
  });
  f.end();
  whileBelow(f, dst, outEnd, () => {
    overTaps(() => f.localGet(tap).memory("f32.load").localSet(max), () => {
      f.localGet(max).localGet(tap).memory("f32.load").op("f32.max").localSet(max);
    });
    f.localGet(dst).localGet(max).memory("f32.store");
    advance(f, dst, { const: 4 });
    advance(f, at, { local: colStep });
  });
  advance(f, rowAt, { local: rowStep });
  f.localGet(y).i32Const(1).op("i32.add").localTee(y).localGet(outRows).op("i32.lt_u").brIf(0);
  f.end();
  f.localGet(plane).i32Const(1).op("i32.add").localTee(plane).localGet(planes).op("i32.lt_u");
  f.brIf(0);
  f.end();
}
