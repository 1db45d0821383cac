/**
 * Dense int8 convolution on NHWC4 tensors as a register-kernel GEMM (src/shaders/tiled_matmul.ts)
 * for CPU-like adapters, shared by QLinearConvNhwc and TflConv: rows = output pixels (n, oy,
 * ox), columns = output channels, depth = (kernel row, kernel column, input channel) = the
 * weights' OHWI row layout. Both operands are packed int8 words (`operands: "i8x4"`): one u32
 * holds 4 depths (4 channels of one input pixel; 4 input channels of one filter), multiplied
 * with `dot4I8Packed` into int32 accumulators. The op stores through its own
 * `fn conv_store(pixel: u32, m4: u32, acc: vec4<i32>, c: ConvColumn)` (bias, requantization,
 * residual), one output word per call, with `struct ConvColumn` the per-channel values of
 * output word m4 from its `fn conv_column(m4: u32) -> ConvColumn`, loaded once per column
 * quad of a register block (the kernel's `mm_column`).
 *
 * Why on llvmpipe: every loaded element costs a per-lane loop (see tiled_matmul.ts), and a
 * packed word carries 4 depths, so a 16 x 16 block loads 32 words per 1024 multiply-adds, the
 * direct kernel (one invocation per 4 pixels x 4 channels) 8 per 64. ResNet-50 int8's convs:
 * 569 ms direct, 186-192 ms here (llvmpipe, `deno task bench:profile`).
 *
 * @module
 */

import type { DType } from "../graph/types.ts";
import { i8Offset } from "../shaders/int8_pack.ts";
import {
  CELLS_16X16,
  MATMUL_UNIFORMS,
  matmulDispatch,
  registerTileFor,
  tiledMatmulWgsl,
} from "../shaders/tiled_matmul.ts";
import { NHWC4_CONV_UNIFORMS, type Nhwc4ConvShape, nhwc4ConvUniforms } from "./nhwc4.ts";

/** What the GEMM needs of a dense int8 NHWC4 conv. */
export interface Int8ConvShape extends Nhwc4ConvShape {
  /** Activation byte type: u8 bytes are read as x - 128 (the weights' bias accounts for it). */
  dtype: Extract<DType, "u8" | "i8">;
}

/** Uniform fields the GEMM reads; the op's `Params` struct must include them. */
export const INT8_CONV_GEMM_UNIFORMS = {
  ...MATMUL_UNIFORMS,
  ...NHWC4_CONV_UNIFORMS,
  filter_words: "u32",
} as const;

/** The GEMM's program parts for `g`: its tile name, uniform values, grid and WGSL. */
export interface Int8ConvGemm {
  /** Names the compiled tile and byte type, for pipeline keys. */
  readonly key: string;
  /** Values of `INT8_CONV_GEMM_UNIFORMS`. */
  readonly uniforms: { [K in keyof typeof INT8_CONV_GEMM_UNIFORMS]: number };
  /** The workgroup grid. */
  readonly workgroups: [number, number, number];
  /**
   * The kernel's WGSL around the op's `decls`: `params`, bindings `x` and `w` (both
   * `array<u32>`), `ConvColumn`, `conv_column` and `conv_store`.
   */
  wgsl(decls: string): string;
}

/**
 * The hooks: the depth cursor walks words (4 depths) of one filter: c4 fastest, then the tap;
 * `off` is the tap's word offset from the window's origin in the input, (dy, dx) its offset in
 * pixels. A row's setup decodes its output pixel once.
 */
function hooks(dtype: Int8ConvShape["dtype"]): string {
  const { mask } = i8Offset(dtype);
  return /* wgsl */ `
struct MmDepth { word: u32, c4: u32, kx: u32, dy: i32, dx: i32, off: i32 }
fn mm_depth(k: u32) -> MmDepth {
  let word = k / 4u;
  let tap = word / params.cw;
  let ky = tap / params.kw;
  let kx = tap % params.kw;
  let c4 = word % params.cw;
  let dy = i32(ky * params.dil_h);
  let dx = i32(kx * params.dil_w);
  return MmDepth(word, c4, kx, dy, dx, (dy * i32(params.w) + dx) * i32(params.cw) + i32(c4));
}
fn mm_depth_next4(d: MmDepth) -> MmDepth {
  var e = MmDepth(d.word + 1u, d.c4 + 1u, d.kx, d.dy, d.dx, d.off + 1);
  if (e.c4 == params.cw) {
    e.c4 = 0u;
    e.kx += 1u;
    e.dx += i32(params.dil_w);
    if (e.kx == params.kw) {
      e.kx = 0u;
      e.dx = 0;
      e.dy += i32(params.dil_h);
    }
    e.off = (e.dy * i32(params.w) + e.dx) * i32(params.cw);
  }
  return e;
}
struct MmASetup { base: i32, iy: i32, ix: i32 }
fn mm_a_setup(batch: u32, row: u32) -> MmASetup {
  let p = min(row, params.mm_rows - 1u);
  let ox = p % params.ow;
  let rest = p / params.ow;
  let iy = i32((rest % params.oh) * params.stride_h) - params.pad_t;
  let ix = i32(ox * params.stride_w) - params.pad_l;
  let n = i32(rest / params.oh);
  return MmASetup(((n * i32(params.h) + iy) * i32(params.w) + ix) * i32(params.cw), iy, ix);
}
fn mm_load_a(s: MmASetup, d: MmDepth) -> u32 {
  let inside = u32(s.iy + d.dy) < params.h && u32(s.ix + d.dx) < params.w;
  let word = x[select(0u, u32(s.base + d.off), inside)];
  return select(params.x_pad, word, inside) ^ ${mask};
}
struct MmBSetup { base: u32 }
fn mm_b_setup(batch: u32, col: u32) -> MmBSetup {
  return MmBSetup(min(col, params.mm_cols - 1u) * params.filter_words);
}
fn mm_load_b(s: MmBSetup, d: MmDepth) -> u32 {
  return w[s.base + d.word];
}
alias MmColumn = ConvColumn;
fn mm_column(batch: u32, col: u32) -> ConvColumn {
  return conv_column(min(col, params.mm_cols - 1u) / 4u);
}
fn mm_store(batch: u32, row: u32, col: u32, v: vec4<i32>, c: ConvColumn) {
  if (col < params.mm_cols) { conv_store(row, col / 4u, v, c); }
}`;
}

/**
 * The register GEMM of dense int8 conv `g` (module doc), on a device allowing
 * `maxPerDimension` workgroups per grid dimension.
 *
 * @example
 * ```ts
 * const gemm = int8ConvGemm(g, limits.maxComputeWorkgroupsPerDimension);
 * const wgsl = gemm.wgsl(`${PARAMS.struct} ... fn conv_store(pixel: u32, m4: u32, acc: vec4<i32>, c: ConvColumn) {...}`);
 * ```
 */
export function int8ConvGemm(g: Int8ConvShape, maxPerDimension: number): Int8ConvGemm {
  const rows = g.n * g.oh * g.ow;
  const depth = g.kh * g.kw * g.cp;
  // 32 x 16 blocks ran ResNet-50 int8 1.4x slower (230 against 162 ms interleaved).
  const tile = registerTileFor(
    { rows, cols: g.mp, batches: 1, depthsPerElement: 4 },
    "k4",
    "k4",
    CELLS_16X16,
  );
  const { uniforms, workgroups } = matmulDispatch(tile, rows, g.mp, depth, 1, maxPerDimension);
  return {
    key: `int8_conv_gemm_${tile.name}_${g.dtype}`,
    uniforms: { ...uniforms, ...nhwc4ConvUniforms(g), filter_words: depth / 4 },
    workgroups,
    wgsl: (decls) =>
      tiledMatmulWgsl({
        tile,
        aOrder: "k",
        bOrder: "k",
        operands: "i8x4",
        decls: `${decls}\n${hooks(g.dtype)}`,
      }),
  };
}
