/**
 * The int8 NHWC convolution QLinearConvNhwc (dense) on the WebAssembly SIMD integer matrix
 * product: per image, one product of the packed weights W [Mp, kh*kw*Cp] and the patches
 * [kh*kw*Cp, pixels] with both operands as i16 pairs ("i16-pairs" in gemm_kernel.ts:
 * `i32x4.dot_i16x8_s`, 8 exact multiply-adds per two instructions), then the exact
 * requantization in WebAssembly (qconv_kernel.ts):
 *
 * 1. The image's bytes are copied into the heap inside a copy padded with the pad byte
 *    (`x_pad`, the input zero point), so padding taps need no bounds checks.
 * 2. `gather_<dtype>` writes the patches straight into the product's panel layout, each
 *    output pixel a lane and each tap Cp contiguous bytes (NHWC), converted to x' (i8) pairs.
 * 3. The weights are packed once per array (PackCache) as i16 pairs in `mr`-row panels; with
 *    weight zero points, 4 more rows hold ones and zeros so that the product also yields
 *    each pixel's window sum of x' for the `Z[m] * sum x'` term.
 * 4. `requant_<dtype>` adds the bias, subtracts the zero-point term and requantizes;
 *    `residual_<role>` applies a fused QLinearAdd table; one `set` copies the bytes out.
 *
 * 3x3 stride-1 convs large enough (`qconvWinogradApplies`) run as exact integer Winograd
 * F(2x2, 3x3) instead (qwinograd_kernel.ts): 16 products of depth C instead of one of 9C.
 *
 * Depthwise convs (without weight zero points) skip the product: after the same staging,
 * `depthwise_<dtype>` sums each output pixel's taps 8 channels at a time
 * (`i32x4.extmul_*_i16x8_s` with the weights widened to i16 once, cached), then steps 4.
 *
 * The int32 sums are exact (wrapping like the reference), so the result equals
 * qlinear_conv_nhwc.ts's reference byte for byte.
 *
 * @module
 */

import type { Nhwc4ConvShape } from "../ops/nhwc4.ts";
import type { NhwcConvGeometry } from "../ops/qlinear_conv_nhwc.ts";
import { GATHER_OVERREAD, type Int8Type, qconvKernelModule } from "./qconv_kernel.ts";
import { importLimits } from "./heap.ts";
import { paddedExtent, windowOffsets } from "./stage_kernel.ts";
import { cpuThreads } from "./cpu_threads.ts";
import { resultRows } from "./gemm_blocks.ts";
import { WasmGemm } from "./wasm_gemm.ts";
import { simdKernelOrNull } from "./simd_support.ts";
import { quantRange } from "../ops/quant_math.ts";
import { WINOGRAD_F2 } from "../ops/winograd_algorithms.ts";

/** The shape of an int8 NHWC4 conv the kernels compute: dense (OHWI weights) or depthwise. */
export type QConvShape = Nhwc4ConvShape & { dtype: Int8Type; depthwise: boolean };

/** The operands the int32 sums need. */
export interface QConvOperands {
  /** Input bytes, NHWC4 [n, h, w, cp]. */
  x: Uint8Array | Int8Array;
  /** Weights [mp, kh, kw, cp] (depthwise: [kh, kw, cp]): packed once per array (keep it unchanged). */
  w: Int8Array;
  /** Weight zero points [mp], when any is nonzero (dense convs only). */
  zeroPoints?: Int32Array;
}

/** One image's int32 sums in the heap: output pixel j's mp sums at `r + j * ldcBytes`. */
interface Sums {
  r: number;
  ldcBytes: number;
}

/** The tensors of one QLinearConvNhwc node (see qlinear_conv_nhwc.ts). */
export interface QConvTensors extends QConvOperands {
  /** Per output channel int32 constant [mp]. */
  bias: Int32Array;
  /** Per output channel requantization multiplier [mp]. */
  scale: Float32Array;
  /** Residual bytes (the output's shape) and the 64K table of a fused QLinearAdd. */
  residual?: { r: Uint8Array | Int8Array; table: Uint8Array };
}

type GatherFn = (
  base: number,
  offsets: number,
  deltas: number,
  taps: number,
  chunks: number,
  pairsPerTap: number,
  dst: number,
  panels: number,
) => void;
type RequantFn = (
  r: number,
  ldc: number,
  cols: number,
  groups: number,
  dst: number,
  dstStride: number,
  bias: number,
  scale: number,
  zeroPoints: number,
  sumOffset: number,
  lo: number,
  hi: number,
  yZero: number,
) => void;
type ResidualFn = (y: number, r: number, table: number, count: number) => void;
type WinogradInputFn = (
  src: number,
  rowBytes: number,
  tilesH: number,
  tilesW: number,
  chunks: number,
  pairs: number,
  dst: number,
  xiBytes: number,
) => void;
type WinogradOutputFn = (
  r: number,
  ldc: number,
  xiBytes: number,
  tilesH: number,
  tilesW: number,
  groups: number,
  dst: number,
  outRows: number,
  outCols: number,
  pixelBytes: number,
) => void;
type DepthwiseFn = (
  src: number,
  rowStep: number,
  colStep: number,
  outRows: number,
  outCols: number,
  deltas: number,
  taps: number,
  weights: number,
  chunks: number,
  dst: number,
) => void;

/** The bytes of any 8-bit array, as unsigned bytes (same memory). */
function bytesOf(a: Uint8Array | Int8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * Dense int8 NHWC conv on a `WasmGemm` with "i16-pairs" arithmetic.
 *
 * @example
 * ```ts
 * const qconv = new WasmQConv(new WasmGemm(INT8_KERNEL));
 * qconv.conv(nhwcConvGeometry(node, types), { x, w, bias, scale }, y);
 * ```
 */
export class WasmQConv {
  /** The integer product and the heap this conv runs on. */
  readonly gemm: WasmGemm;
  readonly #gather: Record<Int8Type, GatherFn>;
  readonly #requant: Record<Int8Type, RequantFn>;
  readonly #residual: Record<"first" | "second", ResidualFn>;
  readonly #depthwise: Record<Int8Type, DepthwiseFn>;
  readonly #winogradInput: Record<Int8Type, WinogradInputFn>;
  readonly #winogradOutput: WinogradOutputFn;

  /** Which 3x3 convs take integer Winograd: by size (`qconvWinogradApplies`) or all it can. */
  readonly winograd: "auto" | "always";

  /** Compiles the helpers for `gemm`'s panel width over its memory. */
  constructor(gemm: WasmGemm, options: { winograd?: "auto" | "always" } = {}) {
    this.winograd = options.winograd ?? "auto";
    if (gemm.config.arithmetic !== "i16-pairs") {
      throw new Error(`WasmQConv needs an "i16-pairs" product, got "${gemm.config.arithmetic}"`);
    }
    this.gemm = gemm;
    const module = new WebAssembly.Module(
      qconvKernelModule(gemm.config.nr, importLimits(gemm.heap.memory)),
    );
    const exports = new WebAssembly.Instance(module, { env: { memory: gemm.heap.memory } })
      .exports;
    this.#gather = { u8: exports.gather_u8 as GatherFn, i8: exports.gather_i8 as GatherFn };
    this.#requant = { u8: exports.requant_u8 as RequantFn, i8: exports.requant_i8 as RequantFn };
    this.#residual = {
      first: exports.residual_first as ResidualFn,
      second: exports.residual_second as ResidualFn,
    };
    this.#depthwise = {
      u8: exports.depthwise_u8 as DepthwiseFn,
      i8: exports.depthwise_i8 as DepthwiseFn,
    };
    this.#winogradInput = {
      u8: exports.winograd_input_u8 as WinogradInputFn,
      i8: exports.winograd_input_i8 as WinogradInputFn,
    };
    this.#winogradOutput = exports.winograd_output as WinogradOutputFn;
  }

  /**
   * Writes the conv `g` (from `nhwcConvGeometry`) of `t` into `y` [n, oh, ow, mp]: dense, or
   * depthwise without weight zero points.
   */
  conv(g: NhwcConvGeometry, t: QConvTensors, y: Uint8Array | Int8Array): void {
    const bytes = bytesOf(y);
    this.#eachImage(g, t, (n, sums, alloc) => {
      this.#finish(g, t, bytes, n, sums.r, sums.ldcBytes, alloc);
    });
  }

  /**
   * Writes the int32 sums of conv `g` (taps outside the image read `xPad`; no bias, no
   * requantization) of `t` into `out` [n, oh, ow, mp]: the same products as `conv`, for ops
   * with their own epilogue (TflConv).
   */
  sums(g: QConvShape, t: QConvOperands, out: Int32Array): void {
    const pixels = g.oh * g.ow;
    this.#eachImage(g, t, (n, sums) => {
      const buffer = this.gemm.heap.memory.buffer;
      if (sums.ldcBytes === g.mp * 4) {
        // Columns back to back (the dense product and Winograd): one copy.
        out.set(new Int32Array(buffer, sums.r, pixels * g.mp), n * pixels * g.mp);
        return;
      }
      for (let j = 0; j < pixels; j++) {
        const column = new Int32Array(buffer, sums.r + j * sums.ldcBytes, g.mp);
        out.set(column, (n * pixels + j) * g.mp);
      }
    });
  }

  /**
   * Runs `each` on every image's int32 sums inside the image's heap scratch: depthwise
   * (`#depthwiseSums`), integer Winograd where it applies (`#winogradSums`), else the dense
   * product (`#denseSums`).
   */
  #eachImage(
    g: QConvShape,
    t: QConvOperands,
    each: (n: number, sums: Sums, alloc: (bytes: number) => number) => void,
  ): void {
    if (g.depthwise && t.zeroPoints) {
      throw new Error("WasmQConv runs depthwise convolutions without weight zero points only");
    }
    this.gemm.cache.trim();
    const winograd = this.winograd === "always"
      ? qconvWinogradComputes(g, t)
      : qconvWinogradApplies(g, t);
    for (let n = 0; n < g.n; n++) {
      this.gemm.heap.withScratch((alloc) => {
        const sums = g.depthwise
          ? this.#depthwiseSums(g, t, n, alloc)
          : winograd
          ? this.#winogradSums(g, t, n, alloc)
          : this.#denseSums(g, t, n, alloc);
        each(n, sums, alloc);
      });
    }
  }

  /**
   * The 16 Winograd weight matrices U_xi = (2G) g (2G)^T [mp, cp] of a 3x3 conv, each as i16
   * pairs in `mr`-row panels like `#packedWeights`, one after another; cached. Per filter, the
   * products run over its channels (contiguous in OHWI), rows of (2G) g first, then columns.
   */
  #winogradWeights(g: QConvShape, w: Int8Array, pairs: number): number {
    const { cache, heap } = this.gemm;
    const { mr } = this.gemm.config;
    const block = Math.ceil(g.mp / mr) * mr * pairs;
    const { t, g: gMatrix } = WINOGRAD_F2;
    const g2 = gMatrix.map((row) => row.map((v) => 2 * v));
    return cache.getOrAdd(w, `qconv winograd ${mr}`, t * t * block * 4, (ptr) => {
      // Pair (2p, 2p + 1) of a row is one i32, low half first: i16 element 2 * word + (c & 1).
      const packed = new Int16Array(heap.memory.buffer, ptr, 2 * t * t * block);
      packed.fill(0);
      const rows = Array.from({ length: t * 3 }, () => new Int32Array(g.cp));
      const u = new Int32Array(g.cp);
      for (let m = 0; m < g.mp; m++) {
        const taps = Array.from({ length: 9 }, (_, k) => w.subarray((m * 9 + k) * g.cp));
        for (let i = 0; i < t; i++) {
          for (let b = 0; b < 3; b++) {
            const row = rows[i * 3 + b];
            row.fill(0);
            for (let a = 0; a < 3; a++) {
              const coeff = g2[i][a], tap = taps[a * 3 + b];
              if (coeff !== 0) { for (let c = 0; c < g.cp; c++) row[c] += coeff * tap[c]; }
            }
          }
        }
        const panel = 2 * (Math.floor(m / mr) * mr * pairs + (m % mr));
        for (let i = 0; i < t; i++) {
          for (let j = 0; j < t; j++) {
            u.fill(0);
            for (let b = 0; b < 3; b++) {
              const coeff = g2[j][b], row = rows[i * 3 + b];
              if (coeff !== 0) { for (let c = 0; c < g.cp; c++) u[c] += coeff * row[c]; }
            }
            const at = 2 * (i * t + j) * block + panel;
            for (let c = 0; c < g.cp; c++) packed[at + 2 * (c >> 1) * mr + (c & 1)] = u[c];
          }
        }
      }
    });
  }

  /**
   * The int32 sums of image `n` of a 3x3 stride-1 conv as exact integer Winograd F(2x2, 3x3)
   * (qwinograd_kernel.ts): the image staged with room for whole tiles, its 16 transformed
   * inputs written into the product's panels, 16 products (`multiplyMany`), then the output
   * transform into int32 sums per output pixel.
   */
  #winogradSums(
    g: QConvShape,
    t: QConvOperands,
    n: number,
    alloc: (bytes: number) => number,
  ): Sums {
    const { nr, mr } = this.gemm.config;
    const positions = WINOGRAD_F2.t * WINOGRAD_F2.t;
    const tilesH = Math.ceil(g.oh / 2), tilesW = Math.ceil(g.ow / 2);
    const tiles = tilesH * tilesW;
    const pairs = g.cp / 2;
    const panels = Math.ceil(tiles / nr);
    const ldc = resultRows(g.mp);
    const hp = Math.max(paddedExtent(g.h, g.padT, g.oh, 1, 3, 1), 2 * tilesH + 2);
    const wp = Math.max(paddedExtent(g.w, g.padL, g.ow, 1, 3, 1), 2 * tilesW + 2);
    const xiBytes = panels * pairs * nr * 4;
    const rXiBytes = tiles * ldc * 4;
    const weightBlock = Math.ceil(g.mp / mr) * mr * pairs * 4;
    const weights = this.#winogradWeights(g, t.w, pairs);
    const input = this.#stage(g, t, n, hp, wp, alloc);
    const patches = alloc(positions * xiBytes);
    const r = alloc(positions * rXiBytes);
    const sums = alloc(g.oh * g.ow * g.mp * 4);
    const chunks = g.cp / 8;
    this.#winogradInput[g.dtype](input, wp * g.cp, tilesH, tilesW, chunks, pairs, patches, xiBytes);
    this.gemm.multiplyMany(
      Array.from({ length: positions }, (_, xi) => ({
        v: weights + xi * weightBlock,
        s: patches + xi * xiBytes,
        r: r + xi * rXiBytes,
        cols: tiles,
      })),
      g.mp,
      pairs,
    );
    const pixelBytes = g.mp * 4;
    this.#winogradOutput(
      r,
      ldc * 4,
      rXiBytes,
      tilesH,
      tilesW,
      g.mp / 4,
      sums,
      g.oh,
      g.ow,
      pixelBytes,
    );
    return { r: sums, ldcBytes: pixelBytes };
  }

  /** Depthwise weights [kh, kw, cp] as i16 [taps][cp rounded up to 8], cached. */
  #depthwiseWeights(g: QConvShape, w: Int8Array): number {
    const { cache, heap } = this.gemm;
    const taps = g.kh * g.kw;
    const cp8 = Math.ceil(g.cp / 8) * 8;
    return cache.getOrAdd(w, `qconv depthwise ${cp8}`, taps * cp8 * 2, (ptr) => {
      const packed = new Int16Array(heap.memory.buffer, ptr, taps * cp8);
      packed.fill(0);
      for (let tap = 0; tap < taps; tap++) {
        packed.set(w.subarray(tap * g.cp, (tap + 1) * g.cp), tap * cp8);
      }
    });
  }

  /**
   * The int32 sums of image `n` of depthwise conv `g`: staged into a padded copy like the dense
   * conv, then `depthwise_<dtype>` sums every pixel's taps, 8 channels at a time.
   */
  #depthwiseSums(
    g: QConvShape,
    t: QConvOperands,
    n: number,
    alloc: (bytes: number) => number,
  ): Sums {
    const pixels = g.oh * g.ow;
    const taps = g.kh * g.kw;
    const chunks = Math.ceil(g.cp / 8);
    const hp = paddedExtent(g.h, g.padT, g.oh, g.strideH, g.kh, g.dilH);
    const wp = paddedExtent(g.w, g.padL, g.ow, g.strideW, g.kw, g.dilW);
    const weights = this.#depthwiseWeights(g, t.w);
    const input = this.#stage(g, t, n, hp, wp, alloc);
    const deltas = alloc(taps * 4);
    const r = alloc(pixels * chunks * 32);
    this.#tapDeltas(g, wp, new Int32Array(this.gemm.heap.memory.buffer), deltas);
    this.#depthwise[g.dtype](
      input,
      g.strideH * wp * g.cp,
      g.strideW * g.cp,
      g.oh,
      g.ow,
      deltas,
      taps,
      weights,
      chunks,
      r,
    );
    return { r, ldcBytes: chunks * 32 };
  }

  /** The weights as i16 pairs in `mr`-row panels (plus the window-sum rows), cached. */
  #packedWeights(g: QConvShape, t: QConvOperands, rows: number, pairs: number): number {
    const { cache, heap } = this.gemm;
    const { mr } = this.gemm.config;
    const words = Math.ceil(rows / mr) * mr * pairs;
    return cache.getOrAdd(t.w, `qconv ${mr} ${rows}`, words * 4, (ptr) => {
      const packed = new Int32Array(heap.memory.buffer, ptr, words);
      packed.fill(0);
      const depth = pairs * 2;
      for (let m = 0; m < rows; m++) {
        let dst = Math.floor(m / mr) * mr * pairs + (m % mr);
        if (m >= g.mp) {
          // Window-sum rows: row mp multiplies every value by 1, the others by 0.
          if (m === g.mp) { for (let p = 0; p < pairs; p++, dst += mr) packed[dst] = 0x10001; }
          continue;
        }
        for (let k = m * depth; k < (m + 1) * depth; k += 2, dst += mr) {
          packed[dst] = (t.w[k] & 0xffff) | (t.w[k + 1] << 16);
        }
      }
    });
  }

  /** The heap address of a residual table, copied once per array (PackCache). */
  #table(table: Uint8Array): number {
    const { cache, heap } = this.gemm;
    return cache.getOrAdd(table, "table", table.length, (ptr) => {
      new Uint8Array(heap.memory.buffer).set(table, ptr);
    });
  }

  /**
   * The int32 sums of image `n` of dense conv `g` (with weight zero points, its window sums
   * too, in 4 extra rows): patches gathered from a padded copy, one product.
   */
  #denseSums(g: QConvShape, t: QConvOperands, n: number, alloc: (bytes: number) => number): Sums {
    const { nr } = this.gemm.config;
    const pixels = g.oh * g.ow;
    const taps = g.kh * g.kw;
    const pairsPerTap = g.cp / 2;
    const pairs = taps * pairsPerTap;
    const rows = g.mp + (t.zeroPoints ? 4 : 0);
    const ldc = resultRows(rows);
    const panels = Math.ceil(pixels / nr);
    const hp = paddedExtent(g.h, g.padT, g.oh, g.strideH, g.kh, g.dilH);
    const wp = paddedExtent(g.w, g.padL, g.ow, g.strideW, g.kw, g.dilW);
    const weights = this.#packedWeights(g, t, rows, pairs);
    const input = this.#stage(g, t, n, hp, wp, alloc);
    const offsets = alloc(panels * nr * 4);
    const deltas = alloc(taps * 4);
    const patches = alloc((panels * pairs + 2) * nr * 4);
    const r = alloc(pixels * ldc * 4);
    const i32 = new Int32Array(this.gemm.heap.memory.buffer);
    windowOffsets(i32, offsets / 4, panels * nr, g, wp, g.cp);
    this.#tapDeltas(g, wp, i32, deltas);
    const chunks = Math.ceil(g.cp / 8);
    this.#gather[g.dtype](input, offsets, deltas, taps, chunks, pairsPerTap, patches, panels);
    this.gemm.multiply(weights, patches, r, rows, pixels, pairs);
    return { r, ldcBytes: ldc * 4 };
  }

  /**
   * Copies image `n` into the heap inside an `hp` x `wp` frame of the pad byte (`x_pad`, the
   * input zero point), so that padding taps need no bounds checks; returns its address (4
   * readable bytes follow it).
   */
  #stage(
    g: QConvShape,
    t: QConvOperands,
    n: number,
    hp: number,
    wp: number,
    alloc: (bytes: number) => number,
  ): number {
    const input = alloc(hp * wp * g.cp + GATHER_OVERREAD);
    const bytes = new Uint8Array(this.gemm.heap.memory.buffer);
    const x = bytesOf(t.x);
    const rowBytes = g.w * g.cp;
    const image = n * g.h * rowBytes;
    if (hp === g.h && wp === g.w) bytes.set(x.subarray(image, image + g.h * rowBytes), input);
    else {
      bytes.fill(g.xPad & 0xff, input, input + hp * wp * g.cp);
      for (let iy = 0; iy < g.h; iy++) {
        const from = image + iy * rowBytes;
        bytes.set(
          x.subarray(from, from + rowBytes),
          input + ((iy + g.padT) * wp + g.padL) * g.cp,
        );
      }
    }
    return input;
  }

  /** Writes each tap's byte distance from its window's origin in the staged image. */
  #tapDeltas(g: QConvShape, wp: number, i32: Int32Array, deltas: number): void {
    for (let ky = 0; ky < g.kh; ky++) {
      for (let kx = 0; kx < g.kw; kx++) {
        i32[deltas / 4 + ky * g.kw + kx] = (ky * g.dilH * wp + kx * g.dilW) * g.cp;
      }
    }
  }

  /**
   * From the int32 sums at `r` (one column of `ldcBytes` per output pixel): bias, zero-point
   * term, requantization, residual table, and the bytes of image `n` into `y`.
   */
  #finish(
    g: NhwcConvGeometry,
    t: QConvTensors,
    y: Uint8Array,
    n: number,
    r: number,
    ldcBytes: number,
    alloc: (bytes: number) => number,
  ): void {
    const pixels = g.oh * g.ow;
    const outBytes = pixels * g.mp;
    const constants = alloc(g.mp * 4 * 3);
    const out = alloc(outBytes);
    const residual = t.residual ? alloc(outBytes) : 0;
    const table = t.residual ? this.#table(t.residual.table) : 0;
    const buffer = this.gemm.heap.memory.buffer;
    const bytes = new Uint8Array(buffer);
    const i32 = new Int32Array(buffer);
    const [bias, scale, zeroPoints] = [0, 1, 2].map((i) => constants + i * g.mp * 4);
    i32.set(t.bias, bias / 4);
    new Float32Array(buffer).set(t.scale, scale / 4);
    if (t.zeroPoints) i32.set(t.zeroPoints, zeroPoints / 4);
    const [qmin, qmax] = quantRange(g.dtype);
    this.#requant[g.dtype](
      r,
      ldcBytes,
      pixels,
      g.mp / 4,
      out,
      g.mp,
      bias,
      scale,
      t.zeroPoints ? zeroPoints : 0,
      g.mp * 4,
      qmin - g.yZero,
      qmax - g.yZero,
      g.yZero,
    );
    const yFrom = n * outBytes;
    if (t.residual) {
      bytes.set(bytesOf(t.residual.r).subarray(yFrom, yFrom + outBytes), residual);
      this.#residual[g.residual === "first" ? "first" : "second"](out, residual, table, outBytes);
    }
    y.set(bytes.subarray(out, out + outBytes), yFrom);
  }
}

/** Multiply-adds per image from which a 3x3 conv takes integer Winograd on the CPU. */
const MIN_WINOGRAD_MACS = 2 ** 22;

/**
 * True when dense conv `g` runs as integer Winograd F(2x2, 3x3) on the CPU by default: where it
 * can (`qconvWinogradComputes`), with at least 32 channels and 2^22 multiply-adds per image. Measured against the direct product (one / two
 * threads, ms): 64 @56 1.69 / 1.23 against 2.93 / 1.88, 128 @28 1.37 / 0.88 against 2.67 /
 * 1.57, 256 @14 1.25 / 0.78 against 2.66 / 1.44, 512 @7 1.68 / 0.98 against 2.63 / 1.47; the
 * small layers it leaves out were slower (16 channels @32 0.22 against 0.14) or even (64 @8).
 */
export function qconvWinogradApplies(g: QConvShape, t: { zeroPoints?: unknown }): boolean {
  return qconvWinogradComputes(g, t) && g.cp >= 32 &&
    g.oh * g.ow * g.mp * g.cp * 9 >= MIN_WINOGRAD_MACS;
}

/**
 * True when integer Winograd can compute dense conv `g` at all: 3x3, stride 1, no dilation,
 * channels in whole chunks of 8, no weight zero points.
 */
export function qconvWinogradComputes(g: QConvShape, t: { zeroPoints?: unknown }): boolean {
  return !g.depthwise && g.kh === 3 && g.kw === 3 && g.strideH === 1 && g.strideW === 1 &&
    g.dilH === 1 && g.dilW === 1 && g.cp % 8 === 0 && !t.zeroPoints;
}

/**
 * The int8 product's tile, 8 output channels (2 vectors) x 5 pixels: 10 i32x4 sums. On the
 * development machine (x64, V8 in Deno 2.9) ResNet-50's int8 convs took 105-114 ms per image
 * with it, against 112-120 ms for 8x4, 127-140 ms for 8x6 (15 live vectors spill) and 156 ms
 * for 4x6. Integer sums need no two-level summation: `chunk` equals the depth block.
 */
export const INT8_KERNEL = { mr: 8, nr: 5, chunk: 512, arithmetic: "i16-pairs" } as const;

let shared: WasmQConv | null | undefined;

/**
 * The process-wide int8 conv (`INT8_KERNEL`, its own memory, `cpuThreads()` threads; rebuilt
 * when that changes), or null when the engine lacks WebAssembly SIMD or refuses to compile WebAssembly
 * at run time: QLinearConvNhwc then stays in TypeScript.
 *
 * @example
 * ```ts
 * const qconv = sharedWasmQConv();
 * if (qconv && !(g.depthwise && g.zeroPoints)) qconv.conv(g, tensors, y);
 * ```
 */
export function sharedWasmQConv(): WasmQConv | null {
  const threads = cpuThreads();
  if (shared === undefined || (shared && shared.gemm.requestedThreads !== threads)) {
    shared?.gemm.dispose();
    shared = simdKernelOrNull(() => new WasmQConv(new WasmGemm(INT8_KERNEL, { threads })));
  }
  return shared;
}
