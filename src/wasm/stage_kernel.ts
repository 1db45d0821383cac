/**
 * Emits `stage`, the function that copies an image's channels into WebAssembly memory's
 * padded layout for the conv and pooling kernels (conv_kernel.ts, pool_kernel.ts):
 *
 * `stage(src, dst, channels, rows, cols, dstRows, dstCols, top, left, scale, shift, lo)`
 * reads `src` [channels, rows, cols] and writes element (c, y, x) to
 * `dst` [channels, dstRows, dstCols] at (c, top + y, left + x), as `max(v * scale[c] +
 * shift[c], lo)` (f32 multiply, then add) when `scale` is not 0, else unchanged; the rest of
 * `dst` (the padding, filled by the caller) is not touched. `dst` may equal `src` when the
 * shapes match (in place). Addresses in bytes; each row is one f32x4 walk with a scalar tail.
 *
 * @module
 */

import type { FunctionBody, ValType } from "./function_body.ts";
import { range, walkRun } from "./emit_loops.ts";

/** `stage`'s parameters: 11 i32, then the f32 lower bound. */
export const STAGE_PARAMS: ValType[] = [...new Array<ValType>(11).fill("i32"), "f32"];

/** `stage` as exported to JavaScript (see the module doc). */
export type StageFn = (
  src: number,
  dst: number,
  channels: number,
  rows: number,
  cols: number,
  dstRows: number,
  dstCols: number,
  top: number,
  left: number,
  scale: number,
  shift: number,
  lo: number,
) => void;

/**
 * The length of one axis of `stage`'s padded layout: the input after its leading padding, or
 * further when a window's last tap (`kernel` taps `dilation` apart, windows `stride` apart,
 * `out` of them) reaches past it.
 *
 * @example
 * ```ts
 * paddedExtent(224, 3, 112, 2, 7, 1); // 229: conv1's rows 0..228 with 3 rows of padding
 * ```
 */
export function paddedExtent(
  size: number,
  padBegin: number,
  out: number,
  stride: number,
  kernel: number,
  dilation: number,
): number {
  return Math.max(size + padBegin, (out - 1) * stride + (kernel - 1) * dilation + 1);
}

/**
 * Writes the byte offset of each output pixel's window (its top-left tap) in a padded input
 * `wp` pixels wide, `pixelBytes` bytes per pixel step, for `lanes` lanes from `out[at]` on:
 * the lane table of the conv gathers. Lanes past the last pixel repeat it (their results land
 * where nobody reads).
 *
 * @example
 * ```ts
 * windowOffsets(i32, offsets / 4, panels * nr, g, wp, g.cp);
 * ```
 */
export function windowOffsets(
  out: Int32Array,
  at: number,
  lanes: number,
  g: { oh: number; ow: number; strideH: number; strideW: number },
  wp: number,
  pixelBytes: number,
): void {
  const pixels = g.oh * g.ow;
  for (let q = 0; q < lanes; q++) {
    const pixel = Math.min(q, pixels - 1);
    const oy = Math.floor(pixel / g.ow), ox = pixel - oy * g.ow;
    out[at + q] = (oy * g.strideH * wp + ox * g.strideW) * pixelBytes;
  }
}

/** `stage`: per channel and row, one run of `cols` floats, pre-activated when `scale` != 0. */
export function emitStage(f: FunctionBody) {
  const [src, dst, channels, rows, cols, dstRows, dstCols] = range(7);
  const [top, left, scale, shift, lo] = range(5).map((i) => 7 + i);
  const [c, y, sp, dp, end, vecEnd] = range(6).map(() => f.addLocal("i32"));
  const [s, t] = range(2).map(() => f.addLocal("f32"));
  const [vs, vt, vlo] = range(3).map(() => f.addLocal("v128"));
  f.localGet(lo).op("f32x4.splat").localSet(vlo);
  f.loop();
  f.localGet(scale).if();
  f.localGet(scale).localGet(c).i32Const(4).op("i32.mul").op("i32.add").memory("f32.load");
  f.localTee(s).op("f32x4.splat").localSet(vs);
  f.localGet(shift).localGet(c).i32Const(4).op("i32.mul").op("i32.add").memory("f32.load");
  f.localTee(t).op("f32x4.splat").localSet(vt);
  f.end();
  f.i32Const(0).localSet(y);
  f.loop();
  // sp = src + ((c * rows + y) * cols) * 4
  // dp = dst + ((c * dstRows + top + y) * dstCols + left) * 4
  f.localGet(c).localGet(rows).op("i32.mul").localGet(y).op("i32.add").localGet(cols);
  f.op("i32.mul").i32Const(4).op("i32.mul").localGet(src).op("i32.add").localSet(sp);
  f.localGet(c).localGet(dstRows).op("i32.mul").localGet(top).op("i32.add").localGet(y);
  f.op("i32.add").localGet(dstCols).op("i32.mul").localGet(left).op("i32.add");
  f.i32Const(4).op("i32.mul").localGet(dst).op("i32.add").localSet(dp);
  f.localGet(scale).if();
  walkRun(f, [dp, sp], cols, end, vecEnd, () => {
    f.localGet(sp).memory("v128.load").localGet(vs).op("f32x4.mul").localGet(vt);
    f.op("f32x4.add").localGet(vlo).op("f32x4.max");
  }, () => {
    f.localGet(sp).memory("f32.load").localGet(s).op("f32.mul").localGet(t).op("f32.add");
    f.localGet(lo).op("f32.max");
  });
  f.else();
  walkRun(
    f,
    [dp, sp],
    cols,
    end,
    vecEnd,
    () => f.localGet(sp).memory("v128.load"),
    () => f.localGet(sp).memory("f32.load"),
  );
  f.end();
  f.localGet(y).i32Const(1).op("i32.add").localTee(y).localGet(rows).op("i32.lt_u").brIf(0);
  f.end();
  f.localGet(c).i32Const(1).op("i32.add").localTee(c).localGet(channels).op("i32.lt_u").brIf(0);
  f.end();
}
