/**
 * The GPU kernels of QLinearConvNhwc (qlinear_conv_nhwc.ts has the op's semantics). Two
 * kernels share one epilogue, `conv_store` (bias, requantization, optional residual table, one
 * output word of 4 channels):
 * - Register GEMM (src/ops/int8_conv_gemm.ts), for dense convs without weight zero points on
 *   CPU-like adapters: blocks of output pixels x channels, both operands loaded as packed words.
 * - Direct kernel, everywhere else: one invocation computes 4 output channels (one word) for 4
 *   adjacent output pixels; dense convs take `dot4I8Packed` of an input word (4 channels, XOR
 *   0x80 for u8) with each of the 4 filters' words, depthwise convs multiply unpacked lanes;
 *   weight zero points subtract `Z * sum x'` before the epilogue.
 * int32 accumulation, then the exact requantization of src/shaders/requantize.ts. Compiled in:
 * kernel (and its tile), dtype, dense/depthwise, weight zero points, residual role.
 *
 * @module
 */

import { FLAT_WORKGROUP_INDEX, workgroupGrid } from "../shaders/grid.ts";
import { BYTE_OF_WGSL, i8Offset, LUT_BYTE_WGSL } from "../shaders/int8_pack.ts";
import { I32_TO_F32_WGSL, REQUANTIZE_WGSL } from "../shaders/requantize.ts";
import { uniformLayout } from "../shaders/uniform_layout.ts";
import { INT8_CONV_GEMM_UNIFORMS, int8ConvGemm, type Int8WeightBinding } from "./int8_conv_gemm.ts";
import { NHWC4_CONV_UNIFORMS, nhwc4ConvUniforms } from "./nhwc4.ts";
import type { GpuBindingSource, GpuPlan, GpuPlanContext } from "./op.ts";
import type { NhwcConvGeometry, ResidualRole } from "./qlinear_conv_nhwc.ts";
import { quantRange } from "./quant_math.ts";

const X = 0, W = 1, B = 2, S = 3, Z = 4, R = 5, T = 6;

/** Output pixels one invocation of the direct kernel computes (adjacent along the row). */
const PIXELS = 4;
const WORKGROUP_SIZE = 64;

const DIRECT_PARAMS = uniformLayout("Params", {
  invocations: "u32",
  tiles_w: "u32",
  ...NHWC4_CONV_UNIFORMS,
  y_zero: "i32",
});

const GEMM_PARAMS = uniformLayout("Params", { ...INT8_CONV_GEMM_UNIFORMS, y_zero: "i32" });

/** The compiled variant: everything but the kernel that changes the WGSL text. */
interface Variant {
  dtype: "u8" | "i8";
  depthwise: boolean;
  zeroPoints: boolean;
  residual: ResidualRole;
}

function variantKey(v: Variant): string {
  return `${v.dtype}_${v.depthwise ? "dw" : "dense"}_zp${Number(v.zeroPoints)}_res-${v.residual}`;
}

/**
 * Bindings in order: x, w (or, given `weights`, the GEMM's weight binding), bias, scale, (z),
 * (r, lut), y; then `params`.
 */
function bindingsOf(
  v: Variant,
  weights?: Int8WeightBinding,
): { sources: GpuBindingSource[]; decls: string } {
  const storage = (index: number, name: string, type: string) => ({
    source: { kind: "input", index } as GpuBindingSource,
    decl: (b: number) => `@group(0) @binding(${b}) var<storage, read> ${name}: array<${type}>;`,
  });
  const inputs = [
    storage(X, "x", "u32"),
    weights ?? storage(W, "w", "u32"),
    storage(B, "bias", "i32"),
    storage(S, "scale", "f32"),
  ];
  if (v.zeroPoints) inputs.push(storage(Z, "zps", "i32"));
  if (v.residual !== "none") inputs.push(storage(R, "r", "u32"), storage(T, "lut", "u32"));
  const decls = inputs.map(({ decl }, i) => decl(i));
  decls.push(`@group(0) @binding(${inputs.length}) var<storage, read_write> y: array<u32>;`);
  decls.push(`@group(0) @binding(${inputs.length + 1}) var<uniform> params: Params;`);
  return {
    sources: [...inputs.map(({ source }) => source), { kind: "output", index: 0 }],
    decls: decls.join("\n"),
  };
}

/**
 * `struct ConvColumn` (bias and scale of output word m4's 4 channels), `fn conv_column(m4:
 * u32) -> ConvColumn` and `fn conv_store(pixel: u32, m4: u32, acc: vec4<i32>, c: ConvColumn)`:
 * adds the bias, requantizes, applies the residual table and stores output word m4 of
 * `pixel`, with the helpers it needs.
 */
function storeWgsl(v: Variant): string {
  const [qmin, qmax] = quantRange(v.dtype);
  const residual = v.residual === "none" ? "let out = q;" : /* wgsl */ `
    let rb = byte_of(residual_word, j);
    let out = lut_byte(${v.residual === "first" ? "(rb << 8u) | q" : "(q << 8u) | rb"});`;
  return /* wgsl */ `${I32_TO_F32_WGSL}
${REQUANTIZE_WGSL}
${BYTE_OF_WGSL}
${v.residual === "none" ? "" : LUT_BYTE_WGSL}
struct ConvColumn { bias: vec4<i32>, scale: vec4<f32> }
fn conv_column(m4: u32) -> ConvColumn {
  let m = m4 * 4u;
  return ConvColumn(vec4<i32>(bias[m], bias[m + 1u], bias[m + 2u], bias[m + 3u]),
                    vec4<f32>(scale[m], scale[m + 1u], scale[m + 2u], scale[m + 3u]));
}
fn conv_store(pixel: u32, m4: u32, acc: vec4<i32>, c: ConvColumn) {
  let out_word = pixel * params.mw + m4;
  ${v.residual === "none" ? "" : "let residual_word = r[out_word];"}
  var word = 0u;
  for (var j = 0u; j < 4u; j++) {
    let q = u32(requantize(acc[j] + c.bias[j], c.scale[j], params.y_zero, ${qmin}, ${qmax})) &
      0xffu;
    ${residual}
    word |= out << (8u * j);
  }
  y[out_word] = word;
}`;
}

/** WGSL accumulating one tap into `acc` (and `xsum`) for the pixels of the tile. */
function tapBody(v: Variant, mask: string): string {
  const load = (c4: string) => /* wgsl */ `
      var xv = params.x_pad;
      if (inside[p]) { xv = x[(row + u32(ix[p])) * params.cw + ${c4}]; }
      xv = xv ^ ${mask};`;
  if (v.depthwise) {
    return /* wgsl */ `
    let wv = unpack4xI8(w[tap * params.cw + m4]);
    for (var p = 0u; p < ${PIXELS}u; p++) {${load("m4")}
      let xl = unpack4xI8(xv);
      acc[p] += xl * wv;
      ${v.zeroPoints ? "xsum[p] += xl;" : ""}
    }`;
  }
  return /* wgsl */ `
    for (var c4 = 0u; c4 < params.cw; c4++) {
      let base = tap * params.cw + c4;
      let w0 = w[(m4 * 4u) * filter_words + base];
      let w1 = w[(m4 * 4u + 1u) * filter_words + base];
      let w2 = w[(m4 * 4u + 2u) * filter_words + base];
      let w3 = w[(m4 * 4u + 3u) * filter_words + base];
      for (var p = 0u; p < ${PIXELS}u; p++) {${load("c4")}
        acc[p] += vec4<i32>(dot4I8Packed(xv, w0), dot4I8Packed(xv, w1), dot4I8Packed(xv, w2),
                            dot4I8Packed(xv, w3));
        ${v.zeroPoints ? "xsum[p] += vec4<i32>(dot4I8Packed(xv, 0x01010101u));" : ""}
      }
    }`;
}

/** The direct kernel (module doc). */
function directWgsl(v: Variant): string {
  const { mask } = i8Offset(v.dtype);
  const zeroPoints = v.zeroPoints
    ? "total -= vec4<i32>(zps[m4 * 4u], zps[m4 * 4u + 1u], zps[m4 * 4u + 2u], zps[m4 * 4u + 3u]) * xsum[p];"
    : "";
  return /* wgsl */ `
${DIRECT_PARAMS.struct}
${bindingsOf(v).decls}
${storeWgsl(v)}

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let index = ${FLAT_WORKGROUP_INDEX} * ${WORKGROUP_SIZE}u + lid;
  if (index >= params.invocations) { return; }
  let m4 = index % params.mw;
  let tile = index / params.mw;
  let ox0 = (tile % params.tiles_w) * ${PIXELS}u;
  let rows = tile / params.tiles_w;
  let oy = rows % params.oh;
  let n = rows / params.oh;
  let filter_words = params.kh * params.kw * params.cw;
  var acc: array<vec4<i32>, ${PIXELS}>;
  var xsum: array<vec4<i32>, ${PIXELS}>;
  var ix: array<i32, ${PIXELS}>;
  var inside: array<bool, ${PIXELS}>;
  for (var ky = 0u; ky < params.kh; ky++) {
    let iy = i32(oy * params.stride_h + ky * params.dil_h) - params.pad_t;
    let row_ok = iy >= 0 && iy < i32(params.h);
    let row = (n * params.h + u32(max(iy, 0))) * params.w;
    for (var kx = 0u; kx < params.kw; kx++) {
      let tap = ky * params.kw + kx;
      for (var p = 0u; p < ${PIXELS}u; p++) {
        ix[p] = i32((ox0 + p) * params.stride_w + kx * params.dil_w) - params.pad_l;
        inside[p] = row_ok && ix[p] >= 0 && ix[p] < i32(params.w);
      }
      ${tapBody(v, mask)}
    }
  }
  let column = conv_column(m4);
  for (var p = 0u; p < ${PIXELS}u; p++) {
    let ox = ox0 + p;
    if (ox >= params.ow) { break; }
    var total = acc[p];
    ${zeroPoints}
    conv_store((n * params.oh + oy) * params.ow + ox, m4, total, column);
  }
}`;
}

/**
 * The GPU plan of QLinearConvNhwc `g`: the register GEMM on CPU-like adapters for dense convs
 * without weight zero points, else the direct kernel.
 */
export function qconvNhwcGpuPlan(g: NhwcConvGeometry, ctx: GpuPlanContext): GpuPlan {
  const v: Variant = {
    dtype: g.dtype,
    depthwise: g.depthwise,
    zeroPoints: g.zeroPoints,
    residual: g.residual,
  };
  const maxPerDimension = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (ctx.isFallbackAdapter && !g.depthwise && !g.zeroPoints) {
    const gemm = int8ConvGemm(g, ctx.limits, { kind: "input", index: W });
    const { sources, decls } = bindingsOf(v, gemm.weights);
    return {
      programs: [{
        key: `qlinear_conv_nhwc_${gemm.key}_${variantKey(v)}`,
        wgsl: () => gemm.wgsl(`${GEMM_PARAMS.struct}\n${decls}\n${storeWgsl(v)}`),
        bindings: sources,
        uniforms: GEMM_PARAMS.pack({ ...gemm.uniforms, y_zero: g.yZero }),
        workgroups: gemm.workgroups,
      }],
      derived: gemm.weights?.derived && [gemm.weights.derived],
    };
  }
  const { sources } = bindingsOf(v);
  const tilesW = Math.ceil(g.ow / PIXELS);
  const invocations = g.n * g.oh * tilesW * (g.mp / 4);
  return {
    programs: [{
      key: `qlinear_conv_nhwc_${variantKey(v)}_px${PIXELS}_wg${WORKGROUP_SIZE}`,
      wgsl: () => directWgsl(v),
      bindings: sources,
      uniforms: DIRECT_PARAMS.pack({
        invocations,
        tiles_w: tilesW,
        ...nhwc4ConvUniforms(g),
        y_zero: g.yZero,
      }),
      workgroups: workgroupGrid(Math.ceil(invocations / WORKGROUP_SIZE), maxPerDimension),
    }],
  };
}
