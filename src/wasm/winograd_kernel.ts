/**
 * Generates the WebAssembly SIMD transforms of Winograd F(2x2, 3x3) for the CPU path
 * (wasm_winograd.ts drives them around the matrix product of gemm_kernel.ts), from the
 * algorithm's matrices (src/ops/winograd_algorithms.ts). Each f32x4 holds 4 horizontally
 * adjacent tiles of one channel, or 4 output channels' kernels. Addresses in bytes.
 *
 * - `winograd_weights(w, quads, channels, dst, planeBytes)`: for the kernels w [4 quads,
 *   channels, 3, 3] writes G g G^T, position xi of kernel (o, k) at `dst + xi * planeBytes +
 *   4 (k * 4 quads + o)`: each position's output channels contiguous, as the product packs
 *   its constant operand.
 * - `stage(...)` (stage_kernel.ts) copies the image into a zero-padded layout [c, hp, wp]
 *   with the pre-activation applied; wp = 8 quadsW + 2 and hp = 2 tilesH + 2, so that every
 *   tile's 4x4 patch, of tile columns padded to a multiple of 4, lies inside it.
 * - `winograd_input(src, channels, rowBytes, planeBytes, tilesH, quadsW, dst, xiBytes,
 *   firstTile)`: for every tile T = firstTile + (row * quadsW + quad) * 4 + lane (an image's
 *   tiles follow the previous images') and channel c, writes B^T d B, position xi of it to the
 *   product's V operand xi (`dst + xi * xiBytes`) in `mr`-lane panels (lane T of panel T / mr
 *   at depth c). A row of 4 tiles' patches is 4 f32x4 loads (columns 0-3, 4-7,
 *   2-5, 6-9) and 4 shuffles (their even and odd lanes): columns 2q..2q+3 of the 4 tiles.
 * - `winograd_output(r, ldcBytes, rBytes, channels, tilesH, quadsW, dst, oh, ow, bias, z, lo,
 *   hi)`: reads the 16 products (position xi column-major at `r + xi * rBytes`, tile T of
 *   channel j at `+ j * ldcBytes + 4 T`), computes A^T M A for 4 tiles at once, interleaves
 *   each output row's two columns into 8 consecutive outputs and writes
 *   `min(max(y + bias[j] + z, lo), hi)` to `dst` [channels, oh, ow] (z at the same place from
 *   `z`, left out when `z` is 0; read as whole f32x4s, so `z` needs 32 readable bytes past
 *   its end). Outputs past the plane (odd oh or ow, padded tile columns) are not written.
 *
 * @module
 */

import type { Matrix, WinogradAlgorithm } from "../ops/winograd_algorithms.ts";
import { advance, beginCountingLoop, endCountingLoop, range } from "./emit_loops.ts";
import type { FunctionBody, PlainOp, ValType } from "./function_body.ts";
import { type MemoryLimits, ModuleBuilder } from "./module_builder.ts";
import { emitStage, STAGE_PARAMS } from "./stage_kernel.ts";

/** `winograd_weights`' parameters. */
const WEIGHTS_PARAMS: ValType[] = new Array(5).fill("i32");
/** `winograd_input`'s parameters. */
const INPUT_PARAMS: ValType[] = new Array(9).fill("i32");
/** `winograd_output`'s parameters: 11 i32, then the f32 bounds. */
const OUTPUT_PARAMS: ValType[] = [...new Array<ValType>(11).fill("i32"), "f32", "f32"];

/** Byte indices of `i8x16.shuffle` picking f32 lanes `lanes` of two v128s (0-7). */
const pick = (lanes: number[]) => lanes.flatMap((l) => [0, 1, 2, 3].map((b) => 4 * l + b));
const EVEN = pick([0, 2, 4, 6]);
const ODD = pick([1, 3, 5, 7]);
const INTERLEAVE_LOW = pick([0, 4, 1, 5]);
const INTERLEAVE_HIGH = pick([2, 6, 3, 7]);

/**
 * The Winograd module for V panels of `mr` lanes over F(2x2, 3x3) `alg`: imports
 * `env.memory`, exports `stage`, `winograd_weights`, `winograd_input` and `winograd_output`
 * (see the module doc).
 *
 * @example
 * ```ts
 * const bytes = winogradKernelModule(8, WINOGRAD_F2);
 * ```
 */
export function winogradKernelModule(
  mr: number,
  alg: WinogradAlgorithm,
  limits: MemoryLimits = { minPages: 1 },
): Uint8Array<ArrayBuffer> {
  if (mr % 4 !== 0) throw new RangeError(`Winograd V panels of ${mr} lanes: not whole f32x4s`);
  if (alg.m !== 2) {
    throw new RangeError("The CPU Winograd kernel is F(2x2, 3x3) (4x4 patches, 2x2 outputs)");
  }
  const mod = new ModuleBuilder();
  mod.importMemory("env", "memory", limits);
  const stage = mod.addFunction(STAGE_PARAMS, []);
  emitStage(stage.body);
  mod.exportFunction("stage", stage.index);
  const weights = mod.addFunction(WEIGHTS_PARAMS, []);
  emitWeights(weights.body, alg.g);
  mod.exportFunction("winograd_weights", weights.index);
  const input = mod.addFunction(INPUT_PARAMS, []);
  emitInput(input.body, mr, alg.bt);
  mod.exportFunction("winograd_input", input.index);
  const output = mod.addFunction(OUTPUT_PARAMS, []);
  emitOutput(output.body, alg.at);
  mod.exportFunction("winograd_output", output.index);
  return mod.encode();
}

/**
 * The lane-wise arithmetic a transform is emitted in: `add` and `sub`, and `scale` for
 * coefficients other than +-1 (absent for integer transforms, whose matrices hold 0 and +-1).
 */
export interface LaneArithmetic {
  add: PlainOp;
  sub: PlainOp;
  scale?: (f: FunctionBody, c: number) => void;
}

/** f32x4 lanes: a coefficient other than +-1 multiplies its term by a splat constant. */
const F32X4: LaneArithmetic = {
  add: "f32x4.add",
  sub: "f32x4.sub",
  scale: (f, c) => f.f32Const(c).op("f32x4.splat").op("f32x4.mul"),
};

/**
 * Pushes the lane-wise sum of `coeffs[k]` times local `terms[k]` (at least one coefficient
 * nonzero), positive terms first, a row of only negative ones subtracted from zero.
 */
function combination(
  f: FunctionBody,
  coeffs: readonly number[],
  terms: readonly number[],
  lanes: LaneArithmetic,
) {
  const used = coeffs.map((c, k) => [c, terms[k]]).filter(([c]) => c !== 0);
  if (used.length === 0) throw new RangeError("A Winograd transform row of zeros");
  used.sort((a, b) => b[0] - a[0]);
  if (used[0][0] < 0) f.v128Zero();
  used.forEach(([c, local], i) => {
    f.localGet(local);
    if (Math.abs(c) !== 1) {
      if (!lanes.scale) throw new RangeError(`Coefficient ${c} in an integer Winograd transform`);
      lanes.scale(f, Math.abs(c));
    }
    if (i > 0 || c < 0) f.op(c > 0 ? lanes.add : lanes.sub);
  });
}

/**
 * `local = l X l^T` into fresh v128 locals for the grid of v128 locals `x`, in `lanes`
 * arithmetic (default f32x4).
 */
export function sandwich(
  f: FunctionBody,
  l: Matrix,
  x: readonly (readonly number[])[],
  lanes: LaneArithmetic = F32X4,
): number[][] {
  const half = l.map((row) =>
    x[0].map((_, j) => {
      const local = f.addLocal("v128");
      combination(f, row, x.map((r) => r[j]), lanes);
      f.localSet(local);
      return local;
    })
  );
  return half.map((h) =>
    l.map((row) => {
      const local = f.addLocal("v128");
      combination(f, row, h, lanes);
      f.localSet(local);
      return local;
    })
  );
}

/** `winograd_weights` (module doc): 4 output channels' kernels per f32x4. */
function emitWeights(f: FunctionBody, g: Matrix) {
  const [w, quads, channels, dst, planeBytes] = range(5);
  const [k, oq, base, kernelBytes, at] = range(5).map(() => f.addLocal("i32"));
  const taps = range(3).map(() => range(3).map(() => f.addLocal("v128")));
  // kernelBytes: from one output channel's kernel to the next one's (channels * 9 floats).
  f.localGet(channels).i32Const(36).op("i32.mul").localSet(kernelBytes);
  beginCountingLoop(f, k);
  beginCountingLoop(f, oq);
  // base = w + (4 oq * channels + k) * 36: lane 0's kernel.
  f.localGet(oq).i32Const(4).op("i32.mul").localGet(channels).op("i32.mul").localGet(k)
    .op("i32.add").i32Const(36).op("i32.mul").localGet(w).op("i32.add").localSet(base);
  taps.flat().forEach((local, tap) => {
    f.localGet(base).memory("v128.load32_splat", 4 * tap);
    for (let lane = 1; lane < 4; lane++) {
      f.localGet(base).localGet(kernelBytes).i32Const(lane).op("i32.mul").op("i32.add")
        .memory("f32.load", 4 * tap).lane("f32x4.replace_lane", lane);
    }
    f.localSet(local);
  });
  const u = sandwich(f, g, taps);
  // at = dst + (k * 4 quads + 4 oq) * 4
  f.localGet(k).localGet(quads).op("i32.mul").localGet(oq).op("i32.add").i32Const(16)
    .op("i32.mul").localGet(dst).op("i32.add").localSet(at);
  for (const local of u.flat()) {
    f.localGet(at).localGet(local).memory("v128.store");
    advance(f, at, { local: planeBytes });
  }
  endCountingLoop(f, oq, quads);
  endCountingLoop(f, k, channels);
}

/** `winograd_input` (module doc). */
function emitInput(f: FunctionBody, mr: number, bt: Matrix) {
  const [src, channels, rowBytes, planeBytes, tilesH, quadsW, dst, xiBytes, firstTile] = range(9);
  const [tr, q, c, tile, s, dc, row, at] = range(8).map(() => f.addLocal("i32"));
  const loads = range(4).map(() => f.addLocal("v128"));
  const d = range(4).map(() => range(4).map(() => f.addLocal("v128")));

  beginCountingLoop(f, tr);
  beginCountingLoop(f, q);
  // tile = firstTile + (tr * quadsW + q) * 4;
  // dc = dst + ((tile / mr) * channels * mr + tile % mr) * 4
  f.localGet(tr).localGet(quadsW).op("i32.mul").localGet(q).op("i32.add").i32Const(4)
    .op("i32.mul").localGet(firstTile).op("i32.add").localSet(tile);
  f.localGet(tile).i32Const(mr).op("i32.div_u").localGet(channels).op("i32.mul").i32Const(mr)
    .op("i32.mul").localGet(tile).i32Const(mr).op("i32.rem_u").op("i32.add").i32Const(4)
    .op("i32.mul").localGet(dst).op("i32.add").localSet(dc);
  // s = src + 2 tr rowBytes + 32 q
  f.localGet(tr).i32Const(2).op("i32.mul").localGet(rowBytes).op("i32.mul")
    .localGet(q).i32Const(32).op("i32.mul").op("i32.add").localGet(src).op("i32.add")
    .localSet(s);
  beginCountingLoop(f, c);
  f.localGet(s).localSet(row);
  for (const patchRow of d) {
    [0, 16, 8, 24].forEach((offset, i) => {
      f.localGet(row).memory("v128.load", offset).localSet(loads[i]);
    });
    [[0, 1, EVEN], [0, 1, ODD], [2, 3, EVEN], [2, 3, ODD]].forEach(([a, b, bytes], j) => {
      f.localGet(loads[a as number]).localGet(loads[b as number]).shuffle(bytes as number[]);
      f.localSet(patchRow[j]);
    });
    advance(f, row, { local: rowBytes });
  }
  const v = sandwich(f, bt, d);
  f.localGet(dc).localSet(at);
  for (const local of v.flat()) {
    f.localGet(at).localGet(local).memory("v128.store");
    advance(f, at, { local: xiBytes });
  }
  advance(f, s, { local: planeBytes });
  advance(f, dc, { const: mr * 4 });
  endCountingLoop(f, c, channels);
  endCountingLoop(f, q, quadsW);
  endCountingLoop(f, tr, tilesH);
}

/** `winograd_output` (module doc). */
function emitOutput(f: FunctionBody, at: Matrix) {
  const [r, ldcBytes, rBytes, channels, tilesH, quadsW, dst, oh, ow, bias, z] = range(11);
  const [lo, hi] = [11, 12];
  const [j, tr, q, rj, outJ, zJ, ptr, oy, offset, col] = range(10).map(() => f.addLocal("i32"));
  const [biasV, loV, hiV, value] = range(4).map(() => f.addLocal("v128"));
  const m = range(4).map(() => range(4).map(() => f.addLocal("v128")));

  f.localGet(lo).op("f32x4.splat").localSet(loV);
  f.localGet(hi).op("f32x4.splat").localSet(hiV);
  beginCountingLoop(f, j);
  f.localGet(bias).localGet(j).i32Const(4).op("i32.mul").op("i32.add")
    .memory("v128.load32_splat").localSet(biasV);
  f.localGet(j).localGet(ldcBytes).op("i32.mul").localGet(r).op("i32.add").localSet(rj);
  // outJ, zJ: channel j's plane of dst and z.
  f.localGet(j).localGet(oh).op("i32.mul").localGet(ow).op("i32.mul").i32Const(4).op("i32.mul")
    .localSet(offset);
  f.localGet(dst).localGet(offset).op("i32.add").localSet(outJ);
  f.localGet(z).localGet(offset).op("i32.add").localSet(zJ);
  beginCountingLoop(f, tr);
  beginCountingLoop(f, q);
  // ptr = rj + 16 (tr * quadsW + q): the 4 tiles' products at position 0.
  f.localGet(tr).localGet(quadsW).op("i32.mul").localGet(q).op("i32.add").i32Const(16)
    .op("i32.mul").localGet(rj).op("i32.add").localSet(ptr);
  for (const local of m.flat()) {
    f.localGet(ptr).memory("v128.load").localSet(local);
    advance(f, ptr, { local: rBytes });
  }
  const y = sandwich(f, at, m);
  y.forEach(([left, right], dy) => {
    // oy = 2 tr + dy; rows past the plane are not written.
    f.localGet(tr).i32Const(2).op("i32.mul").i32Const(dy).op("i32.add").localTee(oy);
    f.localGet(oh).op("i32.lt_u").if();
    // offset = (oy * ow + 8 q) * 4; col = 8 q
    f.localGet(q).i32Const(8).op("i32.mul").localSet(col);
    f.localGet(oy).localGet(ow).op("i32.mul").localGet(col).op("i32.add").i32Const(4)
      .op("i32.mul").localSet(offset);
    [INTERLEAVE_LOW, INTERLEAVE_HIGH].forEach((bytes, half) => {
      f.localGet(left).localGet(right).shuffle(bytes).localGet(biasV).op("f32x4.add")
        .localSet(value);
      f.localGet(z).if();
      f.localGet(value).localGet(zJ).localGet(offset).op("i32.add").memory("v128.load", 16 * half)
        .op("f32x4.add").localSet(value);
      f.end();
      f.localGet(value).localGet(loV).op("f32x4.max").localGet(hiV).op("f32x4.min")
        .localSet(value);
      // Whole when the 8 outputs fit the row, else lane by lane.
      f.localGet(col).i32Const(8).op("i32.add").localGet(ow).op("i32.le_u").if();
      f.localGet(outJ).localGet(offset).op("i32.add").localGet(value)
        .memory("v128.store", 16 * half);
      f.else();
      for (let lane = 0; lane < 4; lane++) {
        f.localGet(col).i32Const(4 * half + lane).op("i32.add").localGet(ow).op("i32.lt_u").if();
        f.localGet(outJ).localGet(offset).op("i32.add").localGet(value)
          .memoryLane("v128.store32_lane", 16 * half + 4 * lane, lane);
        f.end();
      }
      f.end();
    });
    f.end();
  });
  endCountingLoop(f, q, quadsW);
  endCountingLoop(f, tr, tilesH);
  endCountingLoop(f, j, channels);
}
