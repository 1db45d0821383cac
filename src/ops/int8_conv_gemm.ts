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
 * quad of a register block (the kernel's `mm_column`). Where the op binds the packed weights
 * through `int8ConvGemm`'s `weights`, the kernel reads them from a texture copy made at load
 * (4 output channels' words per texel; `Int8ConvGemm.weights`) where one fits.
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
import { rowKernelMain, workgroupGrid } from "../shaders/grid.ts";
import { TEXEL_OF_WGSL, texelBytes, texelRowsFit } from "../shaders/texel_rows.ts";
import { uniformLayout } from "../shaders/uniform_layout.ts";
import { NHWC4_CONV_UNIFORMS, type Nhwc4ConvShape, nhwc4ConvUniforms } from "./nhwc4.ts";
import type { GpuBindingSource, GpuDerivedBuffer } from "./op.ts";

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

/**
 * How the GEMM's program binds the packed weights: the op's weights themselves (`w`, an
 * `array<u32>`), or their texture copy (`wt`), derived value 0 of the op's plan, which
 * `derived` makes at load.
 */
export interface Int8WeightBinding {
  /** Where the binding takes its resource from. */
  readonly source: GpuBindingSource;
  /** WGSL declaring the weights at binding `binding`. */
  decl(binding: number): string;
  /** The texture copy's derived value and the program that fills it, where the kernel reads one. */
  readonly derived?: GpuDerivedBuffer;
}

/** The GEMM's program parts for `g`: its tile name, uniform values, grid and WGSL. */
export interface Int8ConvGemm {
  /** Names the compiled tile, weight source and byte type, for pipeline keys. */
  readonly key: string;
  /** Values of `INT8_CONV_GEMM_UNIFORMS`. */
  readonly uniforms: { [K in keyof typeof INT8_CONV_GEMM_UNIFORMS]: number };
  /** The workgroup grid. */
  readonly workgroups: [number, number, number];
  /** The weights' binding, where `int8ConvGemm` was given theirs. */
  readonly weights?: Int8WeightBinding;
  /**
   * The kernel's WGSL around the op's `decls`: `params`, binding `x` (`array<u32>`), the
   * weights as `weights.decl` declares them (without `weights`: `w`, an `array<u32>`),
   * `ConvColumn`, `conv_column` and `conv_store`.
   */
  wgsl(decls: string): string;
}

/**
 * The hooks: the depth cursor walks words (4 depths) of one filter: c4 fastest, then the tap;
 * `off` is the tap's word offset from the window's origin in the input, (dy, dx) its offset in
 * pixels. A row's setup decodes its output pixel once.
 */
function hooks(dtype: Int8ConvShape["dtype"], weightTexels: boolean): string {
  const { mask } = i8Offset(dtype);
  const weights = weightTexels
    ? /* wgsl */ `${TEXEL_OF_WGSL}
fn mm_b_setup(batch: u32, col: u32) -> MmBSetup {
  return MmBSetup(min(col, params.mm_cols - 4u) / 4u * params.filter_words);
}
fn mm_load_b(s: MmBSetup, d: MmDepth) -> vec4<u32> {
  return textureLoad(wt, texel_of(s.base + d.word), 0);
}`
    : /* wgsl */ `fn mm_b_setup(batch: u32, col: u32) -> MmBSetup {
  return MmBSetup(min(col, params.mm_cols - 1u) * params.filter_words);
}
fn mm_load_b(s: MmBSetup, d: MmDepth) -> u32 {
  return w[s.base + d.word];
}`;
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
${weights}
alias MmColumn = ConvColumn;
fn mm_column(batch: u32, col: u32) -> ConvColumn {
  return conv_column(min(col, params.mm_cols - 1u) / 4u);
}
fn mm_store(batch: u32, row: u32, col: u32, v: vec4<i32>, c: ConvColumn) {
  if (col < params.mm_cols) { conv_store(row, col / 4u, v, c); }
}`;
}

const WEIGHT_TEXELS_UNIFORMS = uniformLayout("Params", { rows: "u32", filter_words: "u32" });
const WEIGHT_TEXELS_WORKGROUP = 64;

/**
 * The texture copy of the packed weights read from `weights` ([mp][filter_words] words): texel
 * q * filter_words + k holds word k of output channels 4q..4q+3, so that a register block's
 * column quad at one depth word is one texel fetch (a vectorised gather on llvmpipe) instead
 * of 4 storage loads (each a loop over the SIMD lanes): ResNet-50 int8 on lavapipe
 * 146 -> 124 ms a run, interleaved, outputs bit-identical.
 */
function weightTexelsOf(
  weights: GpuBindingSource,
  texels: number,
  filterWords: number,
  limits: GPUSupportedLimits,
): Int8WeightBinding {
  const wgsl = () =>
    /* wgsl */ `@group(0) @binding(0) var<storage, read> w: array<u32>;
@group(0) @binding(1) var wt: texture_storage_2d<rgba32uint, write>;
${WEIGHT_TEXELS_UNIFORMS.struct}
@group(0) @binding(2) var<uniform> params: Params;
${TEXEL_OF_WGSL}

${rowKernelMain(WEIGHT_TEXELS_WORKGROUP)}
  let fw = params.filter_words;
  let first = row / fw * 4u * fw + row % fw;
  textureStore(wt, texel_of(row), vec4<u32>(w[first], w[first + fw], w[first + 2u * fw],
                                             w[first + 3u * fw]));
}`;
  return {
    source: { kind: "derived", index: 0 },
    derived: {
      program: {
        key: `int8_weight_texels_wg${WEIGHT_TEXELS_WORKGROUP}`,
        wgsl,
        bindings: [weights, { kind: "derived", index: 0 }],
        uniforms: WEIGHT_TEXELS_UNIFORMS.pack({ rows: texels, filter_words: filterWords }),
        workgroups: workgroupGrid(
          Math.ceil(texels / WEIGHT_TEXELS_WORKGROUP),
          limits.maxComputeWorkgroupsPerDimension,
        ),
      },
      bytes: texels * texelBytes("rgba32uint"),
      texture: "rgba32uint",
    },
    decl: (binding) => `@group(0) @binding(${binding}) var wt: texture_2d<u32>;`,
  };
}

/**
 * The register GEMM of dense int8 conv `g` (module doc) under `limits`. Given the binding of
 * the packed weights (`weights`), it reads them from a texture copy where one fits, else from
 * that binding (`Int8ConvGemm.weights` says which); without it, from the op's `w`.
 *
 * @example
 * ```ts
 * const gemm = int8ConvGemm(g, limits, { kind: "input", index: 1 });
 * const wgsl = gemm.wgsl(`${PARAMS.struct} ... fn conv_store(pixel: u32, m4: u32, acc: vec4<i32>, c: ConvColumn) {...}`);
 * ```
 */
export function int8ConvGemm(
  g: Int8ConvShape,
  limits: GPUSupportedLimits,
  weights?: GpuBindingSource,
): Int8ConvGemm {
  const rows = g.n * g.oh * g.ow;
  const depth = g.kh * g.kw * g.cp;
  const filterWords = depth / 4;
  const texels = g.mp / 4 * filterWords;
  const binding: Int8WeightBinding | undefined = weights && (
    texelRowsFit(texels, limits) ? weightTexelsOf(weights, texels, filterWords, limits) : {
      source: weights,
      decl: (b) => `@group(0) @binding(${b}) var<storage, read> w: array<u32>;`,
    }
  );
  const texture = binding?.derived !== undefined;
  // 32 x 16 blocks ran ResNet-50 int8 1.4x slower (230 against 162 ms interleaved).
  const tile = registerTileFor(
    { rows, cols: g.mp, batches: 1, depthsPerElement: 4 },
    "k4",
    texture ? "quad" : "k4",
    CELLS_16X16,
  );
  const { uniforms, workgroups } = matmulDispatch(
    tile,
    rows,
    g.mp,
    depth,
    1,
    limits.maxComputeWorkgroupsPerDimension,
  );
  return {
    key: `int8_conv_gemm_${tile.name}_${g.dtype}`,
    uniforms: { ...uniforms, ...nhwc4ConvUniforms(g), filter_words: filterWords },
    workgroups,
    weights: binding,
    wgsl: (decls) =>
      tiledMatmulWgsl({
        tile,
        aOrder: "k",
        bOrder: "k",
        operands: "i8x4",
        decls: `${decls}\n${hooks(g.dtype, texture)}`,
      }),
  };
}
