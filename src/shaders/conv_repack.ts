/**
 * Repacking of a Conv's operands into the layouts the register kernel of
 * src/shaders/tiled_matmul.ts streams as aligned vec4s (src/ops/conv.ts): on llvmpipe a vec4
 * load costs about 2/3 of four scalar loads and the conv loads each operand many times, so
 * one pass that gathers each value once pays for itself.
 *
 * - Transposed weights, in blocks of 16 output channels: wt[grp][b][k][q] = (W[grp*mg + 16b +
 *   4q + i][k] for i < 4, 0 past mg), so that 4 output channels at one depth are one vec4 and
 *   the 16 channels of a register block (src/shaders/tiled_matmul.ts) at one depth are one
 *   64-byte line, the block's lines in depth order. A derived buffer (`GpuPlan.derived`):
 *   computed once at load when W is constant.
 * - Shifted input: for each kernel column j, a copy of the padded input whose column ox holds
 *   the tap X[..., ox*stride_w + j*dil_w - pad_l] (the pre-activation applied, 0 in the
 *   padding and past the output width), rows padded to a multiple of 4 columns; its row r is
 *   the padded input's row r (row r*stride_h for a one-row kernel, which skips the rows a
 *   strided 1x1 conv never reads). Then the taps of 4 consecutive output pixels of a row are
 *   one aligned vec4 for every (channel, kernel row, kernel column), with no bounds checks.
 *   A scratch buffer, written before the conv on every run.
 *
 * Both kernels run one invocation per row of their output and loop along it, so consecutive
 * invocations read neighbouring addresses and nothing is divided in the loop.
 *
 * Both copies store their values as f32, or, opt-in (`StoragePrecision` "f16"), as f16 pairs
 * packed in u32s (`repackElement`): half the bytes, and on llvmpipe half the loads, which it
 * emulates per 32-bit component: ResNet-50's 3x3 convs ran ~20% faster, its 1x1 convs (whose
 * input is X itself, still f32) 0-25%. WGSL's own f16 type (`shader-f16`) loads 4 components per
 * vec4<f16> there and measured slower than f32, so the packed form needs no feature and serves
 * every adapter. Values beyond f16's range are clamped to +-65504 before packing. Either copy
 * may instead be a texture (`copyAccess`: rgba32float, or rgba16float texels under f16).
 *
 * @module
 */

import type { GpuBindingSource, GpuProgram, StoragePrecision } from "../ops/op.ts";
import type { ConvGeometry } from "../ops/conv.ts";
import { rowKernelMain, workgroupGrid } from "./grid.ts";
import { TEXEL_OF_WGSL, texelBytes, type TexelFormat } from "./texel_rows.ts";
import { uniformLayout } from "./uniform_layout.ts";

const WORKGROUP = 64;
const LANES = "vec4<u32>(0u, 1u, 2u, 3u)";
const MAIN = rowKernelMain(WORKGROUP);

/** How a repacked copy stores each vec4 of f32 values. */
export interface RepackElement {
  /** WGSL type of one element of the copy's array. */
  type: string;
  /** Bytes per stored vec4. */
  bytes: number;
  /** WGSL functions `store` and `load` call. */
  functions: string;
  /** WGSL expression turning the vec4<f32> `v` into an element. */
  store(v: string): string;
  /** WGSL expression turning the element `e` back into a vec4<f32>. */
  load(e: string): string;
}

/** The element of a repacked copy stored as `storage` (module doc). */
export function repackElement(storage: StoragePrecision): RepackElement {
  if (storage === "f32") {
    return { type: "vec4<f32>", bytes: 16, functions: "", store: (v) => v, load: (e) => e };
  }
  return {
    type: "vec2<u32>",
    bytes: 8,
    functions: F16X4_WGSL,
    store: (v) => `pack_f16x4(clamp(${v}, vec4<f32>(${-F16_MAX}.0), vec4<f32>(${F16_MAX}.0)))`,
    load: (e) => `unpack_f16x4(${e})`,
  };
}

/** Largest finite f16. */
const F16_MAX = 65504;

/** WGSL functions packing and unpacking 4 f16 values as 2 u32s (see `repackElement`). */
const F16X4_WGSL = /* wgsl */ `
fn pack_f16x4(v: vec4<f32>) -> vec2<u32> {
  return vec2<u32>(pack2x16float(v.xy), pack2x16float(v.zw));
}
fn unpack_f16x4(e: vec2<u32>) -> vec4<f32> {
  return vec4<f32>(unpack2x16float(e.x), unpack2x16float(e.y));
}`;

/**
 * How a repacked copy is declared, read and written: a storage array of `repackElement`s, or
 * a texture of `TexelFormat` texels in rows (src/shaders/texel_rows.ts), which llvmpipe reads
 * with vector gathers instead of a loop over its lanes. The f16 texture converts on store
 * (values clamped to f16's range and rounded to the nearest f16 first, as when packing) and
 * load.
 */
export interface CopyAccess {
  /** Bytes per stored vec4. */
  bytes: number;
  /** The texel format where the copy is a texture. */
  texture?: TexelFormat;
  /** WGSL functions `load` and `store` call. */
  functions: string;
  /** WGSL declaration of the copy `name` at `binding`, read-only. */
  readDecl(binding: number, name: string): string;
  /** WGSL declaration of the copy `name` at `binding`, written. */
  writeDecl(binding: number, name: string): string;
  /** WGSL expression: the vec4<f32> at vec4 index `index` of the copy `name`. */
  load(name: string, index: string): string;
  /** WGSL statement storing the vec4<f32> `v` at vec4 index `index` of the copy `name`. */
  store(name: string, index: string, v: string): string;
}

/** The access to a copy stored as `storage`, in a texture where `texture` (`CopyAccess`). */
export function copyAccess(storage: StoragePrecision, texture: boolean): CopyAccess {
  const element = repackElement(storage);
  if (!texture) {
    return {
      bytes: element.bytes,
      functions: element.functions,
      readDecl: (b, name) =>
        `@group(0) @binding(${b}) var<storage, read> ${name}: array<${element.type}>;`,
      writeDecl: (b, name) =>
        `@group(0) @binding(${b}) var<storage, read_write> ${name}: array<${element.type}>;`,
      load: (name, index) => element.load(`${name}[${index}]`),
      store: (name, index, v) => `${name}[${index}] = ${element.store(v)};`,
    };
  }
  const format: TexelFormat = storage === "f32" ? "rgba32float" : "rgba16float";
  // An f16 texel is stored rounded to the nearest f16 by pack2x16float first (as the buffer
  // form is): lavapipe converts f32 to rgba16float by truncation, whose bias adds up over a
  // network (ResNet-50 under f16 storage: 0.031 relative L2 from onnxruntime, 0.0042 rounded).
  const stored = (v: string) =>
    storage === "f32"
      ? v
      : `f16_nearest(clamp(${v}, vec4<f32>(${-F16_MAX}.0), vec4<f32>(${F16_MAX}.0)))`;
  return {
    bytes: texelBytes(format),
    texture: format,
    functions: storage === "f32" ? TEXEL_OF_WGSL : `${TEXEL_OF_WGSL}\n${F16_NEAREST_WGSL}`,
    readDecl: (b, name) => `@group(0) @binding(${b}) var ${name}: texture_2d<f32>;`,
    writeDecl: (b, name) =>
      `@group(0) @binding(${b}) var ${name}: texture_storage_2d<${format}, write>;`,
    load: (name, index) => `textureLoad(${name}, texel_of(${index}), 0)`,
    store: (name, index, v) => `textureStore(${name}, texel_of(${index}), ${stored(v)});`,
  };
}

/** WGSL `f16_nearest(v)`: each component rounded to an f16 value (by pack2x16float). */
const F16_NEAREST_WGSL = /* wgsl */ `fn f16_nearest(v: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(unpack2x16float(pack2x16float(v.xy)), unpack2x16float(pack2x16float(v.zw)));
}`;

/** A repacking pass: its program, and the bytes of the buffer it writes. */
export interface Repack {
  /** The program; its last binding is the (scratch or derived) buffer it writes. */
  program: GpuProgram;
  /** Bytes of that buffer. */
  bytes: number;
  /** The texel format where the copy is a texture (`copyAccess`). */
  texture?: TexelFormat;
}

const TRANSPOSE_UNIFORMS = uniformLayout("Params", { rows: "u32", mg: "u32", depth: "u32" });

/** Output channels per block of the transposed weights. */
export const WEIGHT_BLOCK = 16;
const BLOCK_QUADS = WEIGHT_BLOCK / 4;

/**
 * WGSL `wt_index(grp, row, k) -> u32`: the vec4 of the transposed weights holding output
 * channels row..row+3 (row a multiple of 4, clamped to the last block) of group `grp` at
 * depth `k`; reads `params.mg` and `params.<depth>`.
 */
export function transposedIndexWgsl(depth: string): string {
  return /* wgsl */ `fn wt_index(grp: u32, row: u32, k: u32) -> u32 {
  let blocks = (params.mg + ${WEIGHT_BLOCK - 1}u) / ${WEIGHT_BLOCK}u;
  let r = min(row, blocks * ${WEIGHT_BLOCK}u - 4u);
  return ((grp * blocks + r / ${WEIGHT_BLOCK}u) * params.${depth} + k) * ${WEIGHT_BLOCK / 4}u +
         (r % ${WEIGHT_BLOCK}u) / 4u;
}`;
}

/** Number of vec4s of `g`'s transposed weights (their 16-channel blocks padded). */
export function transposedWeightVectors(g: ConvGeometry): number {
  return g.group * Math.ceil(g.mg / WEIGHT_BLOCK) * BLOCK_QUADS * g.cg * g.kh * g.kw;
}

/**
 * The weight transposition of `g`: reads binding `weights` (W), writes `out` as
 * [group][ceil(mg / 16)][depth][4] vec4s stored as `storage` (module doc), in a buffer or
 * where `texture` a texture (`copyAccess`). One invocation per
 * (group, depth) walks the row quads (4 scalar loads, one vec4 store each); where the depth is
 * a multiple of 4, one invocation per (group, 4 depths) reads 4x4 blocks as 4 aligned vec4s and
 * writes them transposed (half the per-lane load work on llvmpipe).
 *
 * @example
 * ```ts
 * const { program, bytes } = transposedWeights(g, { kind: "input", index: 1 }, { kind: "derived", index: 0 }, limits, "f32");
 * ```
 */
export function transposedWeights(
  g: ConvGeometry,
  weights: GpuBindingSource,
  out: GpuBindingSource,
  limits: GPUSupportedLimits,
  storage: StoragePrecision,
  texture = false,
): Repack {
  const copy = copyAccess(storage, texture);
  const depth = g.cg * g.kh * g.kw;
  const blocks = depth % 4 === 0;
  const rows = g.group * (blocks ? depth / 4 : depth);
  const body = blocks
    ? /* wgsl */ `let k4 = row % (params.depth / 4u);
  let grp = row / (params.depth / 4u);
  let first = grp * params.mg;
  for (var q = 0u; q < quads; q++) {
    let out = wt_index(grp, q * 4u, k4 * 4u);
    let m = q * 4u + ${LANES};
    let inside = m < vec4<u32>(params.mg);
    let i = select(vec4<u32>(0u), ((first + m) * params.depth) / 4u + k4, inside);
    let zero = vec4<f32>(0.0);
    let r0 = select(zero, w[i.x], inside.x);
    let r1 = select(zero, w[i.y], inside.y);
    let r2 = select(zero, w[i.z], inside.z);
    let r3 = select(zero, w[i.w], inside.w);
    ${
      ["x", "y", "z", "w"].map((c, i) =>
        copy.store(
          "wt",
          `out + ${i * BLOCK_QUADS}u`,
          `vec4<f32>(r0.${c}, r1.${c}, r2.${c}, r3.${c})`,
        )
      ).join("\n    ")
    }
  }`
    : /* wgsl */ `let grp = row / params.depth;
  let first = grp * params.mg;
  let k = row % params.depth;
  for (var q = 0u; q < quads; q++) {
    let m = q * 4u + ${LANES};
    let inside = m < vec4<u32>(params.mg);
    let i = select(vec4<u32>(0u), (first + m) * params.depth + k, inside);
    let v = select(vec4<f32>(0.0), vec4<f32>(w[i.x], w[i.y], w[i.z], w[i.w]), inside);
    ${copy.store("wt", "wt_index(grp, q * 4u, k)", "v")}
  }`;
  const wgsl = () =>
    /* wgsl */ `@group(0) @binding(0) var<storage, read> w: array<${blocks ? "vec4<f32>" : "f32"}>;
${copy.writeDecl(1, "wt")}
${TRANSPOSE_UNIFORMS.struct}
@group(0) @binding(2) var<uniform> params: Params;
${copy.functions}

${transposedIndexWgsl("depth")}

${MAIN}
  let quads = ((params.mg + ${WEIGHT_BLOCK - 1}u) / ${WEIGHT_BLOCK}u) * ${BLOCK_QUADS}u;
  ${body}
}
`;
  return {
    program: {
      key: `conv_transposed_weights_${storage}${texture ? "_texels" : ""}_${
        blocks ? "vec4" : "scalar"
      }_wg${WORKGROUP}`,
      wgsl,
      bindings: [weights, out],
      uniforms: TRANSPOSE_UNIFORMS.pack({ rows, mg: g.mg, depth }),
      workgroups: workgroupGrid(
        Math.ceil(rows / WORKGROUP),
        limits.maxComputeWorkgroupsPerDimension,
      ),
    },
    bytes: transposedWeightVectors(g) * copy.bytes,
    texture: copy.texture,
  };
}

/** Shape of the shifted input: kernel columns x n x c x `rows` x `cols`. */
export interface ShiftedLayout {
  /** Rows of each channel plane: the padded input rows the taps reach. */
  rows: number;
  /** Padded input rows per copy row: stride_h for a one-row kernel, else 1. */
  rowStep: number;
  /** Columns of each row: the output width rounded up to a multiple of 4. */
  cols: number;
  /** Elements of one kernel column's copy (n * c * rows * cols). */
  plane: number;
}

/** The shifted-input layout of `g`. */
export function shiftedLayout(g: ConvGeometry): ShiftedLayout {
  const rowStep = g.kh === 1 ? g.strideH : 1;
  const rows = g.kh === 1 ? g.oh : (g.oh - 1) * g.strideH + (g.kh - 1) * g.dilH + 1;
  const cols = Math.ceil(g.ow / 4) * 4;
  return { rows, rowStep, cols, plane: g.n * g.c * rows * cols };
}

/** Number of vec4s of `g`'s shifted input. */
export function shiftedInputVectors(g: ConvGeometry): number {
  return g.kw * shiftedLayout(g).plane / 4;
}

const SHIFT_UNIFORMS = uniformLayout("Params", {
  rows: "u32",
  plane_rows: "u32",
  c: "u32",
  h: "u32",
  w: "u32",
  ow: "u32",
  xs_rows: "u32",
  row_step: "u32",
  xs_quads: "u32",
  stride_w: "u32",
  dil_w: "u32",
  pad_t: "i32",
  pad_l: "i32",
});

/**
 * The shifted input of `g` (module doc): reads X, and the pre-activation's scale and shift
 * where `g.pre` is not "none", from `inputs` (in that order); writes `scratch` as vec4s
 * stored as `storage`, in a buffer or where `texture` a texture (`copyAccess`).
 * `pre(v, c)` is the WGSL applying the pre-activation of channel `c` to the vec4 `v`.
 *
 * @example
 * ```ts
 * const { program, bytes } = shiftedInput(g, [{ kind: "input", index: 0 }], { kind: "scratch", index: 0 }, (v) => v, limits, "f32");
 * ```
 */
export function shiftedInput(
  g: ConvGeometry,
  inputs: GpuBindingSource[],
  scratch: GpuBindingSource,
  pre: (v: string, channel: string) => string,
  limits: GPUSupportedLimits,
  storage: StoragePrecision,
  texture = false,
): Repack {
  const copy = copyAccess(storage, texture);
  const layout = shiftedLayout(g);
  const rows = g.kw * g.n * g.c * layout.rows;
  const names = ["x", ...(g.pre === "none" ? [] : ["pre_scale", "pre_shift"])];
  const wgsl = () =>
    /* wgsl */ `${
      names.map((name, i) => `@group(0) @binding(${i}) var<storage, read> ${name}: array<f32>;`)
        .join("\n")
    }
${copy.writeDecl(names.length, "xs")}
${SHIFT_UNIFORMS.struct}
@group(0) @binding(${names.length + 1}) var<uniform> params: Params;
${copy.functions}

${MAIN}
  // row = j * plane_rows + (image * c + channel) * xs_rows + r, for padded input row r*row_step
  let ih = i32((row % params.xs_rows) * params.row_step) - params.pad_t;
  let image_channel = (row % params.plane_rows) / params.xs_rows;
  let j = row / params.plane_rows;
  let channel = image_channel % params.c;
  let row_inside = ih >= 0 && ih < i32(params.h);
  let base = (image_channel * params.h + u32(max(ih, 0))) * params.w;
  let iw0 = i32(j * params.dil_w) - params.pad_l;
  for (var q = 0u; q < params.xs_quads; q++) {
    let ox = q * 4u + ${LANES};
    let iw = vec4<i32>(ox * params.stride_w) + iw0;
    let inside = vec4<bool>(row_inside) & (ox < vec4<u32>(params.ow)) & (iw >= vec4<i32>(0)) &
                 (iw < vec4<i32>(i32(params.w)));
    let i = select(vec4<u32>(0u), base + vec4<u32>(iw), inside);
    let v = vec4<f32>(x[i.x], x[i.y], x[i.z], x[i.w]);
    ${
      copy.store(
        "xs",
        "row * params.xs_quads + q",
        `select(vec4<f32>(0.0), ${pre("v", "channel")}, inside)`,
      )
    }
  }
}
`;
  return {
    program: {
      key: `conv_shifted_input_${storage}${texture ? "_texels" : ""}_pre-${g.pre}_wg${WORKGROUP}`,
      wgsl,
      bindings: [...inputs, scratch],
      uniforms: SHIFT_UNIFORMS.pack({
        rows,
        plane_rows: rows / g.kw,
        c: g.c,
        h: g.h,
        w: g.w,
        ow: g.ow,
        xs_rows: layout.rows,
        row_step: layout.rowStep,
        xs_quads: layout.cols / 4,
        stride_w: g.strideW,
        dil_w: g.dilW,
        pad_t: g.padT,
        pad_l: g.padL,
      }),
      workgroups: workgroupGrid(
        Math.ceil(rows / WORKGROUP),
        limits.maxComputeWorkgroupsPerDimension,
      ),
    },
    bytes: shiftedInputVectors(g) * copy.bytes,
    texture: copy.texture,
  };
}
