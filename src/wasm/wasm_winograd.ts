/**
 * Winograd F(2x2, 3x3) convolution on the CPU path, for 3x3 stride-1 convs with one group: 16
 * multiply-adds per input channel and 2x2 outputs instead of 36, on the WebAssembly SIMD
 * matrix product (wasm_gemm.ts). Per image:
 *
 * 1. `stage` copies the image into a zero-padded layout with the pre-activation applied
 *    (winograd_kernel.ts), so that padding stays exactly 0;
 * 2. `winograd_input` writes the 16 transformed inputs V_xi [tiles, c] straight into the
 *    product's packed `mr`-lane panels, the tiles as the product's SIMD lanes;
 * 3. the transformed weights U_xi = G g G^T (`winograd_weights`, f32; made and packed once per
 *    weight array, cached with it like the direct conv's packed weights, 16/9 their size) are
 *    the other operand: 16 products M_xi = V_xi U_xi^T [tiles, m], shared out between the
 *    threads a whole product at a time (`WasmGemm.multiplyMany`: one hand-off per worker and
 *    image instead of one per product);
 * 4. `winograd_output` computes the 2x2 outputs of 4 tiles at once and writes them with bias,
 *    residual and activation applied.
 *
 * Tile columns are padded to a multiple of 4 per tile row (14 -> 16 at 28x28, 7 -> 8 at
 * 14x14), so every f32x4 of 4 tiles lies in one tile row.
 *
 * @module
 */

import type { ConvGeometry } from "../ops/conv.ts";
import { WINOGRAD_F2 } from "../ops/winograd_algorithms.ts";
import { activationBounds } from "../shaders/activation.ts";
import { resultRows } from "./gemm_blocks.ts";
import { importLimits } from "./heap.ts";
import type { StageFn } from "./stage_kernel.ts";
import type { ConvTensors } from "./wasm_conv.ts";
import { sharedWasmGemm, type WasmGemm } from "./wasm_gemm.ts";
import { winogradKernelModule } from "./winograd_kernel.ts";

type WeightsFn = (
  w: number,
  quads: number,
  channels: number,
  dst: number,
  planeBytes: number,
) => void;
type InputFn = (
  src: number,
  channels: number,
  rowBytes: number,
  planeBytes: number,
  tilesH: number,
  quadsW: number,
  dst: number,
  xiBytes: number,
  firstTile: number,
) => void;
type OutputFn = (
  r: number,
  ldcBytes: number,
  rBytes: number,
  channels: number,
  tilesH: number,
  quadsW: number,
  dst: number,
  oh: number,
  ow: number,
  bias: number,
  z: number,
  lo: number,
  hi: number,
) => void;

const POSITIONS = 16;
/** Bytes `winograd_output` may read past the residual (whole f32x4s of a row's end). */
const OVERREAD = 32;

/**
 * Winograd conv on a `WasmGemm`'s kernel and memory.
 *
 * @example
 * ```ts
 * const winograd = new WasmWinograd(sharedWasmGemm()!);
 * if (winogradOnCpu(g)) winograd.conv(g, { x, w, bias }, y);
 * ```
 */
export class WasmWinograd {
  /** The product and the heap this conv runs on. */
  readonly gemm: WasmGemm;
  readonly #stage: StageFn;
  readonly #weights: WeightsFn;
  readonly #input: InputFn;
  readonly #output: OutputFn;

  readonly #batchBytes: number;

  /**
   * Compiles the transforms for `gemm`'s V panel width over its memory. `batchBytes` bounds
   * the transformed inputs and products of one set of products: a batch's images share a set
   * until theirs would pass it (one image at least); default 32 MiB.
   */
  constructor(gemm: WasmGemm, batchBytes = 2 ** 25) {
    this.gemm = gemm;
    this.#batchBytes = batchBytes;
    const bytes = winogradKernelModule(
      gemm.config.mr,
      WINOGRAD_F2,
      importLimits(gemm.heap.memory),
    );
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
      env: { memory: gemm.heap.memory },
    });
    this.#stage = instance.exports.stage as StageFn;
    this.#weights = instance.exports.winograd_weights as WeightsFn;
    this.#input = instance.exports.winograd_input as InputFn;
    this.#output = instance.exports.winograd_output as OutputFn;
  }

  /** Writes conv `g` of `t` (3x3, stride 1, dilation 1, one group) into `y` [n, m, oh, ow]. */
  conv(g: ConvGeometry, t: ConvTensors, y: Float32Array): void {
    this.gemm.cache.trim();
    // The transformed weights live in the heap only while they are packed (on the first run),
    // and are packed from there: no copy out to JavaScript and back (ResNet-50's first run on
    // one thread 23 ms shorter: 152 -> 129 ms more than the next, three runs each).
    const lanes = Math.ceil(g.m / 4) * 4;
    const { heap } = this.gemm;
    let u: number | undefined;
    let weights: number[];
    try {
      weights = Array.from({ length: POSITIONS }, (_, xi) =>
        this.gemm.packDerived(
          t.w,
          `winograd ${xi}`,
          () => {
            u ??= this.#transformWeights(t.w, g.m, g.c);
            const data = new Float32Array(heap.memory.buffer);
            return { data, offset: u / 4 + xi * lanes * g.c, rowStride: 1, colStride: lanes };
          },
          g.m,
          g.c,
          this.gemm.config.nr,
        ));
    } finally {
      if (u !== undefined) heap.free(u);
    }
    const { tiles } = winogradSizes(g);
    const perImage = POSITIONS * tiles * (g.c + g.m) * 4;
    const batch = Math.max(1, Math.floor(this.#batchBytes / perImage));
    for (let n = 0; n < g.n; n += batch) {
      this.#convImages(g, t, weights, y, n, Math.min(batch, g.n - n));
    }
  }

  /**
   * U_xi = G g G^T of `w` [m, c, 3, 3] (`winograd_weights`), as f32 [16][c][m rounded up to
   * 4] in a heap block the caller frees: each position's output channels contiguous, as the
   * product packs them.
   */
  #transformWeights(w: Float32Array, m: number, c: number): number {
    const { heap } = this.gemm;
    const quads = Math.ceil(m / 4);
    const plane = c * quads * 4;
    const u = heap.alloc(POSITIONS * plane * 4);
    heap.withScratch((alloc) => {
      const kernels = alloc(quads * 4 * c * 36);
      const f32 = new Float32Array(heap.memory.buffer);
      f32.set(w.subarray(0, m * c * 9), kernels / 4);
      f32.fill(0, kernels / 4 + m * c * 9, kernels / 4 + quads * 4 * c * 9);
      this.#weights(kernels, quads, c, u, plane * 4);
    });
    return u;
  }

  /**
   * Images `first`..`first + count - 1`: each staged and transformed into its own tiles of the
   * 16 V operands, one set of 16 products for them all (fewer, larger products on the threads),
   * then each image's outputs.
   */
  #convImages(
    g: ConvGeometry,
    t: ConvTensors,
    weights: number[],
    y: Float32Array,
    first: number,
    count: number,
  ) {
    const { heap } = this.gemm;
    const { mr } = this.gemm.config;
    const s = winogradSizes(g);
    const tiles = s.tiles * count;
    const xiBytes = Math.ceil(tiles / mr) * mr * g.c * 4;
    const ldc = resultRows(tiles);
    const rBytes = g.m * ldc * 4;
    const outFloats = g.m * g.oh * g.ow;

    heap.withScratch((alloc) => {
      const staged = alloc(s.inputFloats * 4);
      const input = alloc(s.paddedFloats * 4);
      const pre = g.pre === "none" ? 0 : alloc(g.c * 8);
      const v = alloc(POSITIONS * xiBytes);
      const r = alloc(POSITIONS * rBytes);
      const bias = alloc(g.m * 4);
      const z = t.z ? alloc(outFloats * 4 + OVERREAD) : 0;
      const out = alloc(outFloats * 4);

      const f32 = new Float32Array(heap.memory.buffer);
      if (pre) {
        f32.set(t.preScale!, pre / 4);
        f32.set(t.preShift!, pre / 4 + g.c);
      }
      const lo = g.pre === "bn_relu" ? 0 : -Infinity;
      const shift = pre && pre + g.c * 4;
      for (let i = 0; i < count; i++) {
        const xFrom = (first + i) * s.inputFloats;
        f32.set(t.x.subarray(xFrom, xFrom + s.inputFloats), staged / 4);
        f32.fill(0, input / 4, input / 4 + s.paddedFloats);
        this.#stage(staged, input, g.c, g.h, g.w, s.hp, s.wp, g.padT, g.padL, pre, shift, lo);
        const { wp, hp, tilesH, quadsW } = s;
        this.#input(input, g.c, wp * 4, hp * wp * 4, tilesH, quadsW, v, xiBytes, i * s.tiles);
      }
      const products = weights.map((w, xi) => ({
        v: v + xi * xiBytes,
        s: w,
        r: r + xi * rBytes,
        cols: g.m,
      }));
      this.gemm.multiplyMany(products, tiles, g.c);
      if (t.bias) f32.set(t.bias, bias / 4);
      else f32.fill(0, bias / 4, bias / 4 + g.m);
      const [clipLo, clipHi] = activationBounds(g.act);
      for (let i = 0; i < count; i++) {
        const yFrom = (first + i) * outFloats;
        if (t.z) f32.set(t.z.subarray(yFrom, yFrom + outFloats), z / 4);
        const image = r + i * s.tiles * 4;
        this.#output(
          image,
          ldc * 4,
          rBytes,
          g.m,
          s.tilesH,
          s.quadsW,
          out,
          g.oh,
          g.ow,
          bias,
          z,
          clipLo,
          clipHi,
        );
        y.set(f32.subarray(out / 4, out / 4 + outFloats), yFrom);
      }
    });
  }
}

/** The tile grid and padded input of one image of `g` (module doc). */
function winogradSizes(g: ConvGeometry) {
  const tilesH = Math.ceil(g.oh / 2), quadsW = Math.ceil(Math.ceil(g.ow / 2) / 4);
  const hp = 2 * tilesH + 2, wp = 8 * quadsW + 2;
  return {
    tilesH,
    quadsW,
    tiles: tilesH * quadsW * 4,
    hp,
    wp,
    inputFloats: g.c * g.h * g.w,
    paddedFloats: g.c * hp * wp,
  };
}

/**
 * Multiply-adds of one image's direct conv below which Winograd is not used on the CPU: the
 * transforms and the hand-offs to the worker threads then cost about what the products save.
 * Measured (Winograd / direct time, one thread and two): ResNet's layers (29-116 M) 0.58-0.62x
 * and 0.57-0.73x; PreResNet-18 a0.25's (7.2 M) 0.58-0.80x and 0.71-1.14x; CIFAR ResNets' (2.4 M)
 * 0.68-0.93x and 0.69-0.99x, where a tenth of a millisecond is within the noise.
 */
const MIN_WINOGRAD_MACS = 2 ** 21;

/**
 * True when the CPU path runs `g` as Winograd: 3x3, stride 1, no dilation, one group, and
 * at least `MIN_WINOGRAD_MACS` multiply-adds per image.
 */
export function winogradOnCpu(g: ConvGeometry): boolean {
  return g.kh === 3 && g.kw === 3 && g.strideH === 1 && g.strideW === 1 && g.dilH === 1 &&
    g.dilW === 1 && g.group === 1 && g.m * g.c * 9 * g.oh * g.ow >= MIN_WINOGRAD_MACS;
}

let shared: WasmWinograd | null | undefined;

/**
 * The process-wide Winograd conv on `sharedWasmGemm()`'s kernel and memory, or null where that
 * is null (no WebAssembly SIMD, or no run-time compilation).
 */
export function sharedWasmWinograd(): WasmWinograd | null {
  const gemm = sharedWasmGemm();
  if (shared === undefined || shared?.gemm !== gemm) shared = gemm && new WasmWinograd(gemm);
  return shared;
}
