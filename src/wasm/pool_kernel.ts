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
 * Four outputs of a row at a time when the column stride is 1 (one v128 load per tap) or 2
 * (two loads, the even lanes kept with a shuffle, reading up to 4 bytes past the last tap);
 * the other outputs, and every output at larger strides, one at a time.
 *
 * @module
 */

import { advance, range, whileBelow } from "./emit_loops.ts";
import type { FunctionBody, ValType } from "./function_body.ts";
import { type MemoryLimits, ModuleBuilder } from "./module_builder.ts";
import { emitStage, STAGE_PARAMS } from "./stage_kernel.ts";

/** `max_pool`'s parameters (see the module doc). */
const MAX_POOL_PARAMS: ValType[] = new Array(13).fill("i32");

/**
 * The pooling module: imports `env.memory`, exports `stage` and `max_pool`.
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
  return mod.encode();
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
