/**
 * Convolution on the WebAssembly SIMD matrix product: per image and group, one GEMM of the
 * weights W_g [mg, cg*kh*kw] and the im2col patches [cg*kh*kw, pixels], with every step
 * around the product in WebAssembly (conv_kernel.ts) instead of TypeScript:
 *
 * 1. The image is copied into the heap with one `set`; `stage` applies the pre-activation
 *    BatchNorm(+ReLU) and, when the conv pads, writes it inside a zeroed padded copy, so the
 *    padding stays exactly 0 and no later step checks bounds.
 * 2. `gather_W` builds the patches straight in the product's packed panel layout from two
 *    small tables: per output pixel (a lane) the byte offset of its window's top-left tap in
 *    the padded input, per depth (c, i, j) the tap's distance from it. A 1x1 stride-1 conv
 *    needs no padded copy and its panels are plain row copies: no im2col at all.
 * 3. The weights are packed once per array and view (WasmGemm.packConstant, cached).
 * 4. `store_cols` / `store_rows` copy the column-major result out with bias, residual and
 *    activation applied (the residual is copied in beside it), and one `set` moves the
 *    image's output channels of the group to the output tensor.
 *
 * Against the previous path (im2col and the bias/residual/activation pass in TypeScript
 * around the same product), ResNet-50's convolutions at batch 1 on one thread went from
 * 228 ms to 166 ms: the product runs at 55-59 GFLOP/s on the development machine and
 * everything around it now adds 5-15% per layer instead of 40-100%.
 *
 * Orientation as in wasm_gemm.ts: the pixels are the SIMD lanes (V, `mr`-lane panels, and
 * each output channel comes out as one contiguous run) unless the output channels fill f32x4
 * vectors better (ResNet's 7x7 last stage), when the weights are V and the pixels the
 * broadcast S (`nr`-lane panels).
 *
 * @module
 */

import type { ConvGeometry } from "../ops/conv.ts";
import { activationBounds } from "../shaders/activation.ts";
import { convKernelModule } from "./conv_kernel.ts";
import { importLimits } from "./heap.ts";
import { paddedExtent, type StageFn, windowOffsets } from "./stage_kernel.ts";
import { resultRows } from "./gemm_blocks.ts";
import { sharedWasmGemm, vectorizeColumns, type WasmGemm } from "./wasm_gemm.ts";

/** The f32 tensors of one Conv node (docs/ARCHITECTURE.md, "Fused ops"). */
export interface ConvTensors {
  /** Input [n, c, h, w]. */
  x: Float32Array;
  /** Weights [m, c/group, kh, kw]: packed once per array (keep it unchanged). */
  w: Float32Array;
  /** Bias [m]. */
  bias?: Float32Array;
  /** Residual, the output's shape. */
  z?: Float32Array;
  /** Pre-activation scale and shift per input channel [c] (both or neither). */
  preScale?: Float32Array;
  preShift?: Float32Array;
}

type GatherFn = (
  base: number,
  offsets: number,
  deltas: number,
  depth: number,
  dst: number,
  panels: number,
) => void;
type StoreFn = (
  r: number,
  ldc: number,
  rows: number,
  cols: number,
  dst: number,
  stride: number,
  bias: number,
  z: number,
  lo: number,
  hi: number,
) => void;

/** Bytes read past a tap by `gather_W`'s stride-2 loads, kept allocated after the input. */
const OVERREAD = 16;

/**
 * Conv on a `WasmGemm`'s kernel and memory.
 *
 * @example
 * ```ts
 * const wasmConv = new WasmConv(new WasmGemm({ ...DEFAULT_KERNEL, arithmetic: "f32" }));
 * wasmConv.conv(convGeometry(node, types), { x, w, bias }, y);
 * ```
 */
export class WasmConv {
  /** The product and the heap this conv runs on. */
  readonly gemm: WasmGemm;
  readonly #stage: StageFn;
  readonly #gather = new Map<number, GatherFn>();
  readonly #storeCols: StoreFn;
  readonly #storeRows: StoreFn;

  /** Compiles the conv helpers for `gemm`'s panel widths over its memory. */
  constructor(gemm: WasmGemm) {
    this.gemm = gemm;
    const { mr, nr } = gemm.config;
    const module = new WebAssembly.Module(
      convKernelModule([mr, nr], importLimits(gemm.heap.memory)),
    );
    const instance = new WebAssembly.Instance(module, { env: { memory: gemm.heap.memory } });
    const exports = instance.exports;
    this.#stage = exports.stage as StageFn;
    for (const width of [mr, nr]) this.#gather.set(width, exports[`gather_${width}`] as GatherFn);
    this.#storeCols = exports.store_cols as StoreFn;
    this.#storeRows = exports.store_rows as StoreFn;
  }

  /** Writes conv `g` of `t` (validated by `convGeometry`) into `y` [n, m, oh, ow]. */
  conv(g: ConvGeometry, t: ConvTensors, y: Float32Array): void {
    this.gemm.cache.trim();
    for (let n = 0; n < g.n; n++) {
      for (let grp = 0; grp < g.group; grp++) this.#convGroup(g, t, y, n, grp);
    }
  }

  /** Output channels of group `grp` of image `n`. */
  #convGroup(g: ConvGeometry, t: ConvTensors, y: Float32Array, n: number, grp: number): void {
    const { heap } = this.gemm;
    const { mr, nr } = this.gemm.config;
    const depth = g.cg * g.kh * g.kw;
    const pixels = g.oh * g.ow;
    const swap = vectorizeColumns(g.mg, pixels);
    const width = swap ? mr : nr;
    const [rows, cols] = swap ? [pixels, g.mg] : [g.mg, pixels];
    const panels = Math.ceil(pixels / width);
    const hp = paddedExtent(g.h, g.padT, g.oh, g.strideH, g.kh, g.dilH);
    const wp = paddedExtent(g.w, g.padL, g.ow, g.strideW, g.kw, g.dilW);
    const padded = hp > g.h || wp > g.w;
    const inputFloats = g.cg * g.h * g.w;
    const paddedFloats = g.cg * hp * wp;
    const outFloats = g.mg * pixels;

    heap.withScratch((alloc) => {
      const weights = this.gemm.packConstant(
        { data: t.w, offset: grp * g.mg * depth, rowStride: depth, colStride: 1 },
        g.mg,
        depth,
        swap ? nr : mr,
      );
      const staged = alloc(inputFloats * 4 + OVERREAD);
      const input = padded ? alloc(paddedFloats * 4 + OVERREAD) : staged;
      const pre = g.pre === "none" ? 0 : alloc(g.cg * 8);
      const offsets = alloc(panels * width * 4);
      const deltas = alloc(depth * 4);
      const patches = alloc(panels * width * depth * 4);
      const r = alloc(cols * resultRows(rows) * 4);
      const bias = alloc(g.mg * 4);
      const z = t.z ? alloc(outFloats * 4) : 0;
      const out = alloc(outFloats * 4);

      const f32 = new Float32Array(heap.memory.buffer);
      const i32 = new Int32Array(heap.memory.buffer);
      const xFrom = (n * g.c + grp * g.cg) * g.h * g.w;
      f32.set(t.x.subarray(xFrom, xFrom + inputFloats), staged / 4);
      if (pre) {
        const c0 = grp * g.cg;
        f32.set(t.preScale!.subarray(c0, c0 + g.cg), pre / 4);
        f32.set(t.preShift!.subarray(c0, c0 + g.cg), pre / 4 + g.cg);
      }
      if (padded) f32.fill(0, input / 4, input / 4 + paddedFloats);
      if (padded || pre) {
        const lo = g.pre === "bn_relu" ? 0 : -Infinity;
        const shift = pre && pre + g.cg * 4;
        this.#stage(staged, input, g.cg, g.h, g.w, hp, wp, g.padT, g.padL, pre, shift, lo);
      }
      windowOffsets(i32, offsets / 4, panels * width, g, wp, 4);
      let p = deltas / 4;
      for (let c = 0; c < g.cg; c++) {
        for (let i = 0; i < g.kh; i++) {
          for (let j = 0; j < g.kw; j++) {
            i32[p++] = ((c * hp + i * g.dilH) * wp + j * g.dilW) * 4;
          }
        }
      }
      this.#gather.get(width)!(input, offsets, deltas, depth, patches, panels);
      this.gemm.multiply(swap ? patches : weights, swap ? weights : patches, r, rows, cols, depth);

      const mFrom = grp * g.mg;
      if (t.bias) f32.set(t.bias.subarray(mFrom, mFrom + g.mg), bias / 4);
      else f32.fill(0, bias / 4, bias / 4 + g.mg);
      const yFrom = (n * g.m + mFrom) * pixels;
      if (t.z) f32.set(t.z.subarray(yFrom, yFrom + outFloats), z / 4);
      const [lo, hi] = activationBounds(g.act);
      const store = swap ? this.#storeCols : this.#storeRows;
      store(r, resultRows(rows) * 4, rows, cols, out, pixels * 4, bias, z, lo, hi);
      y.set(f32.subarray(out / 4, out / 4 + outFloats), yFrom);
    });
  }
}

let shared: WasmConv | null | undefined;

/**
 * The process-wide conv on `sharedWasmGemm()`'s kernel and memory, or null where that is
 * null (no WebAssembly SIMD, or no run-time compilation): Conv then stays in TypeScript.
 *
 * @example
 * ```ts
 * const wasmConv = sharedWasmConv();
 * if (wasmConv) wasmConv.conv(g, { x, w }, y);
 * ```
 */
export function sharedWasmConv(): WasmConv | null {
  const gemm = sharedWasmGemm();
  if (shared === undefined || shared?.gemm !== gemm) shared = gemm && new WasmConv(gemm);
  return shared;
}
