/**
 * Generates the WebAssembly SIMD helpers that turn the integer matrix product of
 * gemm_kernel.ts ("i16-pairs") into the int8 NHWC convolution QLinearConvNhwc
 * (wasm_qconv.ts drives them): gathering the patches of an 8-bit NHWC input as i16 pairs in
 * the product's packed panel layout, requantizing the int32 sums to 8 bits exactly as
 * onnxruntime does, and the residual table lookup.
 *
 * Layouts, addresses in bytes:
 * - `gather_<dtype>(base, offsets, deltas, taps, chunks, pairsPerTap, dst, panels)` writes
 *   `panels` panels of W lanes (W = the product's `nr`, one lane per output pixel) of
 *   `taps * pairsPerTap` pairs each: pair p of lane l of panel t is the i32 at
 *   `dst + 4 * ((t * taps * pairsPerTap + p) * W + l)`, holding input values 2p' and 2p' + 1
 *   of tap p / pairsPerTap (p' = p % pairsPerTap) as i16, low half first. A tap's values are
 *   the bytes at `base + offsets[t * W + l] + deltas[tap]` (i32 byte distances), read 8 at a
 *   time (`chunks` loads per tap) with `v128.load8x8_s` (i8) or `v128.load8x8_u` minus 128
 *   (u8: the offset view x' of qlinear_conv_nhwc.ts). A tap whose pairs are not a multiple
 *   of 4 writes 2 pairs past its end, which the next tap overwrites: the last tap of the last
 *   panel needs 2 * W pairs of room after the patches, and every tap 4 readable bytes after
 *   its values.
 * - `requant_<dtype>(r, ldc, cols, groups, dst, dstStride, bias, scale, zeroPoints, sumOffset,
 *   lo, hi, yZero)`: for each column j < cols of the int32 result R (column j at
 *   `r + j * ldc`) and each group q < groups of 4 rows, `acc = R + bias` (int32 vectors at
 *   `bias + 16q`), minus `zeroPoints[4q..] * R[sumOffset]` when `zeroPoints` is not 0 (the
 *   column's window sum, an extra row of the product), then MLAS `MlasRequantizeOutput`:
 *   `f32(acc) * scale` (f32, rounding half to even), clamped to [lo, hi] = [qmin - zp,
 *   qmax - zp], rounded half to even (`f32x4.nearest`), plus `yZero`, narrowed to bytes and
 *   stored as 4 bytes at `dst + j * dstStride + 4q`. Every step is one IEEE operation, as in
 *   quant_math.ts's `requantize`.
 * - `residual_<role>(y, r, table, count)`: for each of `count` bytes, `y = table[(r << 8) | y]`
 *   (role "first") or `table[(y << 8) | r]` ("second"): QLinearAdd fused as a 64K table.
 * - `depthwise_<dtype>(src, rowStep, colStep, outRows, outCols, deltas, taps, weights, chunks,
 *   dst)`: the int32 sums of a depthwise conv, one output pixel (oy, ox) after another, its
 *   window at `src + oy * rowStep + ox * colStep` (a padded image, no bounds tests) and tap t
 *   at `deltas[t]` bytes from there; per chunk c of 8 channels, for each tap, the 8 input bytes
 *   at `8c` (as x', like `gather`) times the tap's 8 i16 weights at
 *   `weights + 16 * (t * chunks + c)` (`i32x4.extmul_*_i16x8_s`, exact), summed in two i32x4
 *   and stored at `dst + 32 * (pixel * chunks + c)`: `requant_<dtype>` then reads them as
 *   columns of `32 * chunks` bytes. The last chunk may read 4 bytes past a pixel's channels.
 *
 * @module
 */

import { advance, beginCountingLoop, endCountingLoop, range } from "./emit_loops.ts";
import type { FunctionBody, ValType } from "./function_body.ts";
import { type MemoryLimits, ModuleBuilder } from "./module_builder.ts";
import { addQWinogradFunctions } from "./qwinograd_kernel.ts";

/** 8-bit activation types. */
export type Int8Type = "u8" | "i8";

/** Bytes one gathered tap may read past its values. */
export const GATHER_OVERREAD = 4;

const GATHER_PARAMS: ValType[] = new Array(8).fill("i32");
const REQUANT_PARAMS: ValType[] = [...new Array<ValType>(10).fill("i32"), "f32", "f32", "i32"];
const RESIDUAL_PARAMS: ValType[] = new Array(4).fill("i32");
const DEPTHWISE_PARAMS: ValType[] = new Array(10).fill("i32");

/**
 * The int8 conv helper module for panels of `width` lanes: imports `env.memory`, exports
 * `gather_u8`, `gather_i8`, `requant_u8`, `requant_i8`, `depthwise_u8`, `depthwise_i8`,
 * `residual_first` and `residual_second` (see the module doc), and the integer Winograd
 * transforms of qwinograd_kernel.ts.
 *
 * @example
 * ```ts
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const bytes = qconvKernelModule(6);
 * const helpers = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
 * ```
 */
export function qconvKernelModule(
  width: number,
  limits: MemoryLimits = { minPages: 1 },
): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(width) || width < 1) {
    throw new RangeError(`Int8 conv kernel panel width ${width} must be an integer >= 1`);
  }
  const mod = new ModuleBuilder();
  mod.importMemory("env", "memory", limits);
  for (const dtype of ["u8", "i8"] as const) {
    const gather = mod.addFunction(GATHER_PARAMS, []);
    emitGather(gather.body, width, dtype);
    mod.exportFunction(`gather_${dtype}`, gather.index);
    const requant = mod.addFunction(REQUANT_PARAMS, []);
    emitRequant(requant.body, dtype);
    mod.exportFunction(`requant_${dtype}`, requant.index);
    const depthwise = mod.addFunction(DEPTHWISE_PARAMS, []);
    emitDepthwise(depthwise.body, dtype);
    mod.exportFunction(`depthwise_${dtype}`, depthwise.index);
  }
  addQWinogradFunctions(mod, width);
  for (const role of ["first", "second"] as const) {
    const residual = mod.addFunction(RESIDUAL_PARAMS, []);
    emitResidual(residual.body, role);
    mod.exportFunction(`residual_${role}`, residual.index);
  }
  return mod.encode();
}

/** `gather_<dtype>`: per panel, per lane, per tap, `chunks` loads of 8 values as 4 pairs. */
function emitGather(f: FunctionBody, width: number, dtype: Int8Type) {
  const [base, offsets, deltas, taps, chunks, pairsPerTap, dst, panels] = range(8);
  const [lane, laneSrc, laneDst, tp, tEnd, src, out, left, tapBytes, panelBytes] = range(10).map(
    () => f.addLocal("i32"),
  );
  const values = f.addLocal("v128");
  const stepBytes = width * 4;
  f.localGet(pairsPerTap).i32Const(stepBytes).op("i32.mul").localSet(tapBytes);
  f.localGet(tapBytes).localGet(taps).op("i32.mul").localSet(panelBytes);
  f.localGet(deltas).localGet(taps).i32Const(4).op("i32.mul").op("i32.add").localSet(tEnd);
  f.loop();
  f.i32Const(0).localSet(lane);
  f.loop();
  f.localGet(offsets).localGet(lane).i32Const(4).op("i32.mul").op("i32.add");
  f.memory("i32.load").localGet(base).op("i32.add").localSet(laneSrc);
  f.localGet(dst).localGet(lane).i32Const(4).op("i32.mul").op("i32.add").localSet(laneDst);
  f.localGet(deltas).localSet(tp);
  f.loop();
  f.localGet(tp).memory("i32.load").localGet(laneSrc).op("i32.add").localSet(src);
  f.localGet(laneDst).localSet(out);
  f.localGet(chunks).localSet(left);
  f.loop();
  f.localGet(src).memory(dtype === "u8" ? "v128.load8x8_u" : "v128.load8x8_s");
  if (dtype === "u8") f.i32Const(128).op("i16x8.splat").op("i16x8.sub");
  f.localSet(values);
  for (let pair = 0; pair < 4; pair++) {
    f.localGet(out).localGet(values).memoryLane("v128.store32_lane", pair * stepBytes, pair);
  }
  advance(f, src, { const: 8 });
  advance(f, out, { const: 4 * stepBytes });
  f.localGet(left).i32Const(1).op("i32.sub").localTee(left).brIf(0);
  f.end();
  advance(f, laneDst, { local: tapBytes });
  advance(f, tp, { const: 4 });
  f.localGet(tp).localGet(tEnd).op("i32.lt_u").brIf(0);
  f.end();
  f.localGet(lane).i32Const(1).op("i32.add").localTee(lane).i32Const(width).op("i32.lt_u");
  f.brIf(0);
  f.end();
  advance(f, offsets, { const: stepBytes });
  advance(f, dst, { local: panelBytes });
  f.localGet(panels).i32Const(1).op("i32.sub").localTee(panels).brIf(0);
  f.end();
}

/** `requant_<dtype>`: per column, per group of 4 rows, the exact MLAS requantization. */
function emitRequant(f: FunctionBody, dtype: Int8Type) {
  const [r, ldc, cols, groups, dst, dstStride, bias, scale, zeroPoints, sumOffset] = range(10);
  const [lo, hi, yZero] = [10, 11, 12];
  const [j, rp, dp, bp, sp, zp, q] = range(7).map(() => f.addLocal("i32"));
  const [vlo, vhi, vzero, vsum, vout] = range(5).map(() => f.addLocal("v128"));
  f.localGet(lo).op("f32x4.splat").localSet(vlo);
  f.localGet(hi).op("f32x4.splat").localSet(vhi);
  f.localGet(yZero).op("i32x4.splat").localSet(vzero);
  f.loop();
  f.localGet(r).localGet(j).localGet(ldc).op("i32.mul").op("i32.add").localSet(rp);
  f.localGet(dst).localGet(j).localGet(dstStride).op("i32.mul").op("i32.add").localSet(dp);
  f.localGet(bias).localSet(bp);
  f.localGet(scale).localSet(sp);
  f.localGet(zeroPoints).localSet(zp);
  f.localGet(groups).localSet(q);
  /** The column's groups, with or without the zero-point correction. */
  const column = (zeroPointTerm: boolean) => {
    if (zeroPointTerm) {
      f.localGet(rp).localGet(sumOffset).op("i32.add").memory("i32.load");
      f.op("i32x4.splat").localSet(vsum);
    }
    f.loop();
    f.localGet(dp);
    f.localGet(rp).memory("v128.load").localGet(bp).memory("v128.load").op("i32x4.add");
    if (zeroPointTerm) {
      f.localGet(zp).memory("v128.load").localGet(vsum).op("i32x4.mul").op("i32x4.sub");
    }
    f.op("f32x4.convert_i32x4_s").localGet(sp).memory("v128.load").op("f32x4.mul");
    f.localGet(vlo).op("f32x4.max").localGet(vhi).op("f32x4.min").op("f32x4.nearest");
    f.op("i32x4.trunc_sat_f32x4_s").localGet(vzero).op("i32x4.add");
    // Both narrowings are exact: the values are already inside the 8-bit range.
    f.localTee(vout).localGet(vout).op("i16x8.narrow_i32x4_s").localTee(vout).localGet(vout);
    f.op(dtype === "u8" ? "i8x16.narrow_i16x8_u" : "i8x16.narrow_i16x8_s");
    f.memoryLane("v128.store32_lane", 0, 0);
    for (const p of [rp, bp, sp, zp]) advance(f, p, { const: 16 });
    advance(f, dp, { const: 4 });
    f.localGet(q).i32Const(1).op("i32.sub").localTee(q).brIf(0);
    f.end();
  };
  f.localGet(zeroPoints).if();
  column(true);
  f.else();
  column(false);
  f.end();
  f.localGet(j).i32Const(1).op("i32.add").localTee(j).localGet(cols).op("i32.lt_u").brIf(0);
  f.end();
}

/** `depthwise_<dtype>`: per output pixel, per chunk of 8 channels, the sum over the taps. */
function emitDepthwise(f: FunctionBody, dtype: Int8Type) {
  const [src, rowStep, colStep, outRows, outCols] = range(5);
  const [deltas, taps, weights, chunks, dst] = [5, 6, 7, 8, 9];
  const [y, x, base, c, chunkBase, tp, tEnd, wp, tapWeights] = range(9).map(() =>
    f.addLocal("i32")
  );
  const [acc0, acc1, values, w] = range(4).map(() => f.addLocal("v128"));
  f.localGet(deltas).localGet(taps).i32Const(4).op("i32.mul").op("i32.add").localSet(tEnd);
  f.localGet(chunks).i32Const(16).op("i32.mul").localSet(tapWeights);
  beginCountingLoop(f, y);
  beginCountingLoop(f, x);
  f.localGet(src).localGet(y).localGet(rowStep).op("i32.mul").op("i32.add");
  f.localGet(x).localGet(colStep).op("i32.mul").op("i32.add").localSet(base);
  beginCountingLoop(f, c);
  f.localGet(base).localGet(c).i32Const(8).op("i32.mul").op("i32.add").localSet(chunkBase);
  f.localGet(weights).localGet(c).i32Const(16).op("i32.mul").op("i32.add").localSet(wp);
  f.i32Const(0).op("i32x4.splat").localTee(acc0).localSet(acc1);
  f.localGet(deltas).localSet(tp);
  f.loop();
  f.localGet(tp).memory("i32.load").localGet(chunkBase).op("i32.add");
  f.memory(dtype === "u8" ? "v128.load8x8_u" : "v128.load8x8_s");
  if (dtype === "u8") f.i32Const(128).op("i16x8.splat").op("i16x8.sub");
  f.localSet(values);
  f.localGet(wp).memory("v128.load").localSet(w);
  f.localGet(acc0).localGet(values).localGet(w).op("i32x4.extmul_low_i16x8_s");
  f.op("i32x4.add").localSet(acc0);
  f.localGet(acc1).localGet(values).localGet(w).op("i32x4.extmul_high_i16x8_s");
  f.op("i32x4.add").localSet(acc1);
  advance(f, wp, { local: tapWeights });
  advance(f, tp, { const: 4 });
  f.localGet(tp).localGet(tEnd).op("i32.lt_u").brIf(0);
  f.end();
  f.localGet(dst).localGet(acc0).memory("v128.store");
  f.localGet(dst).localGet(acc1).memory("v128.store", 16);
  advance(f, dst, { const: 32 });
  endCountingLoop(f, c, chunks);
  endCountingLoop(f, x, outCols);
  endCountingLoop(f, y, outRows);
}

/** `residual_<role>`: one table lookup per byte. */
function emitResidual(f: FunctionBody, role: "first" | "second") {
  const [y, r, table, count] = range(4);
  const end = f.addLocal("i32");
  f.localGet(y).localGet(count).op("i32.add").localSet(end);
  f.loop();
  f.localGet(y);
  f.localGet(table);
  const [high, low] = role === "first" ? [r, y] : [y, r];
  f.localGet(high).memory("i32.load8_u").i32Const(8).op("i32.shl");
  f.localGet(low).memory("i32.load8_u").op("i32.or").op("i32.add").memory("i32.load8_u");
  f.memory("i32.store8");
  advance(f, y, { const: 1 });
  advance(f, r, { const: 1 });
  f.localGet(y).localGet(end).op("i32.lt_u").brIf(0);
  f.end();
}
