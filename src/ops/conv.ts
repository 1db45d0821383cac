/**
 * Conv: 2-D convolution on NCHW f32 with ONNX attributes, plus the fused extras of
 * docs/ARCHITECTURE.md: residual Z (input 3), pre-activation BatchNorm(+ReLU) on the input
 * load (inputs 4/5, attribute `pre_activation`), and a final activation:
 * `y = act(conv(pre(x)) + B + Z)`, where `pre` touches in-bounds input elements only and
 * padding stays exactly 0.
 *
 * Kernels: `reference` (nested loops, float64 sums); `cpu` (pre-activate the input once, then
 * im2col + the blocked GEMM of cpu_gemm.ts; 1x1 stride-1 unpadded convs skip im2col); `gpu`
 * (implicit-GEMM on the tiled matmul core for group sizes > 1 channel, a direct kernel for
 * depthwise convs).
 *
 * @module
 */

import { makeTensor, type Node, type Tensor, type TensorType } from "../graph/types.ts";
import {
  activate,
  type Activation,
  ACTIVATION_UNIFORMS,
  activationKey,
  activationUniforms,
  activationWgsl,
  parseActivation,
} from "../shaders/activation.ts";
import { FLAT_WORKGROUP_INDEX, workgroupGrid } from "../shaders/grid.ts";
import {
  MATMUL_UNIFORMS,
  matmulDispatch,
  matmulTileFor,
  tiledMatmulWgsl,
} from "../shaders/tiled_matmul.ts";
import { uniformLayout } from "../shaders/uniform_layout.ts";
import { gemmF32, rowMajor } from "./cpu_gemm.ts";
import type { GpuBindingSource, GpuPlan, GpuPlanContext, GpuProgram, OpDef } from "./op.ts";

/** Pre-activation applied to in-bounds input elements on load. */
export type PreActivation = "none" | "bn" | "bn_relu";

/** A Conv node's validated geometry and fused extras. */
export interface ConvGeometry {
  /** Batch. */
  n: number;
  /** Input channels, height, width. */
  c: number;
  h: number;
  w: number;
  /** Output channels. */
  m: number;
  /** Groups, input and output channels per group. */
  group: number;
  cg: number;
  mg: number;
  /** Kernel size, strides, dilations. */
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  dilH: number;
  dilW: number;
  /** Leading (top, left) padding; trailing padding only shapes `oh`/`ow`. */
  padT: number;
  padL: number;
  /** Output height and width. */
  oh: number;
  ow: number;
  /** Fused work. */
  pre: PreActivation;
  act: Activation;
  hasBias: boolean;
  hasResidual: boolean;
}

/** Input slots (docs/ARCHITECTURE.md, "Fused ops"). */
const X = 0, W = 1, B = 2, Z = 3, PRE_SCALE = 4, PRE_SHIFT = 5;

const AUTO_PADS = ["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"];

/** Reads an ints attribute of `length` values >= `min`, or `fallback` when absent. */
function intsAttr(node: Node, name: string, length: number, min: number, fallback: number[]) {
  const v = node.attrs[name];
  if (v === undefined) return fallback;
  if (
    !Array.isArray(v) || v.length !== length ||
    !v.every((e) => typeof e === "number" && Number.isInteger(e) && e >= min)
  ) {
    throw new Error(
      `Conv "${node.name}": ${name} must be ${length} integers >= ${min}, got ${JSON.stringify(v)}`,
    );
  }
  return v as number[];
}

/** Padding (before, after) and output size of one spatial axis under `autoPad`. */
function axisPadding(
  autoPad: string,
  size: number,
  kernel: number,
  stride: number,
  dilation: number,
  pads: [number, number],
): { before: number; out: number } {
  const extent = (kernel - 1) * dilation + 1;
  if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
    const out = Math.ceil(size / stride);
    const total = Math.max(0, (out - 1) * stride + extent - size);
    const small = Math.floor(total / 2);
    return { before: autoPad === "SAME_UPPER" ? small : total - small, out };
  }
  const [before, after] = autoPad === "VALID" ? [0, 0] : pads;
  return { before, out: Math.floor((size + before + after - extent) / stride) + 1 };
}

/** Validates a Conv node against its input types; every error names the node. */
export function convGeometry(
  node: Node,
  inputs: readonly (TensorType | undefined)[],
): ConvGeometry {
  const fail = (msg: string): never => {
    throw new Error(`Conv "${node.name}": ${msg}`);
  };
  if (inputs.length > 6) fail(`takes at most 6 inputs, got ${inputs.length}`);
  inputs.forEach((t, i) => {
    if (t && t.dtype !== "f32") fail(`input ${i} must be f32, got ${t.dtype}`);
  });
  const x = inputs[X] ?? fail("input X is missing");
  const wt = inputs[W] ?? fail("input W is missing");
  if (x.shape.length !== 4 || wt.shape.length !== 4) {
    fail(
      `only 2-D convolution (rank-4 X and W) is supported, got X [${x.shape}] and W [${wt.shape}]`,
    );
  }
  const [n, c, h, w] = x.shape;
  const [m, wc, kh, kw] = wt.shape;
  const groupAttr = node.attrs.group ?? 1;
  if (typeof groupAttr !== "number" || !Number.isInteger(groupAttr) || groupAttr < 1) {
    fail(`group must be a positive integer, got ${JSON.stringify(groupAttr)}`);
  }
  const group = groupAttr as number;
  if (c % group !== 0) fail(`group ${group} does not divide the ${c} input channels`);
  if (m % group !== 0) fail(`group ${group} does not divide the ${m} output channels`);
  if (wc * group !== c) {
    fail(`W [${wt.shape}] expects ${wc * group} input channels (group ${group}), X has ${c}`);
  }
  if (kh < 1 || kw < 1) fail(`W [${wt.shape}] has an empty kernel`);
  const kernelShape = intsAttr(node, "kernel_shape", 2, 1, [kh, kw]);
  if (kernelShape[0] !== kh || kernelShape[1] !== kw) {
    fail(`kernel_shape [${kernelShape}] does not match W [${wt.shape}]`);
  }
  const [strideH, strideW] = intsAttr(node, "strides", 2, 1, [1, 1]);
  const [dilH, dilW] = intsAttr(node, "dilations", 2, 1, [1, 1]);
  const pads = intsAttr(node, "pads", 4, 0, [0, 0, 0, 0]);
  const autoPad = node.attrs.auto_pad ?? "NOTSET";
  if (typeof autoPad !== "string" || !AUTO_PADS.includes(autoPad)) {
    fail(`auto_pad ${JSON.stringify(autoPad)} is not one of ${AUTO_PADS.join(", ")}`);
  }
  if (autoPad !== "NOTSET" && pads.some((p) => p !== 0)) {
    fail(`pads [${pads}] cannot be combined with auto_pad ${autoPad}`);
  }
  const rows = axisPadding(autoPad as string, h, kh, strideH, dilH, [pads[0], pads[2]]);
  const cols = axisPadding(autoPad as string, w, kw, strideW, dilW, [pads[1], pads[3]]);
  if (rows.out < 1 || cols.out < 1) {
    fail(`the ${kh}x${kw} kernel (dilations ${dilH},${dilW}) exceeds the padded ${h}x${w} input`);
  }
  const outShape = [n, m, rows.out, cols.out];

  const bias = inputs[B];
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== m)) {
    fail(`bias B must have shape [${m}], got [${bias.shape}]`);
  }
  const z = inputs[Z];
  if (z && (z.shape.length !== 4 || z.shape.some((d, i) => d !== outShape[i]))) {
    fail(`residual Z must have the output shape [${outShape}], got [${z.shape}]`);
  }
  const preAttr = node.attrs.pre_activation;
  if (preAttr !== undefined && preAttr !== "bn" && preAttr !== "bn_relu") {
    fail(`pre_activation ${JSON.stringify(preAttr)} is not "bn" or "bn_relu"`);
  }
  const pre = (preAttr ?? "none") as PreActivation;
  const scale = inputs[PRE_SCALE];
  const shift = inputs[PRE_SHIFT];
  if ((pre === "none") !== (!scale && !shift) || !scale !== !shift) {
    fail(`pre_activation ${JSON.stringify(preAttr)} needs exactly both pre_scale and pre_shift`);
  }
  for (const t of [scale, shift]) {
    if (t && (t.shape.length !== 1 || t.shape[0] !== c)) {
      fail(`pre_scale and pre_shift must have shape [${c}], got [${t.shape}]`);
    }
  }
  return {
    n,
    c,
    h,
    w,
    m,
    group,
    cg: c / group,
    mg: m / group,
    kh,
    kw,
    strideH,
    strideW,
    dilH,
    dilW,
    padT: rows.before,
    padL: cols.before,
    oh: rows.out,
    ow: cols.out,
    pre,
    act: parseActivation(node),
    hasBias: Boolean(bias),
    hasResidual: Boolean(z),
  };
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const g = convGeometry(node, inputs);
  return [{ dtype: "f32", shape: [g.n, g.m, g.oh, g.ow] }];
}

/** Returns `x` with the pre-activation of channel `c` applied (float64). */
function preActivate(
  pre: PreActivation,
  x: number,
  scale: Tensor | undefined,
  shift: Tensor | undefined,
  c: number,
): number {
  if (pre === "none") return x;
  const v = x * scale!.data[c] + shift!.data[c];
  return pre === "bn_relu" ? Math.max(v, 0) : v;
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const g = convGeometry(node, inputs);
  const x = inputs[X]!.data, wt = inputs[W]!.data;
  const bias = inputs[B]?.data, z = inputs[Z]?.data;
  const y = makeTensor("f32", [g.n, g.m, g.oh, g.ow]);
  for (let n = 0; n < g.n; n++) {
    for (let m = 0; m < g.m; m++) {
      const c0 = Math.floor(m / g.mg) * g.cg;
      for (let oh = 0; oh < g.oh; oh++) {
        for (let ow = 0; ow < g.ow; ow++) {
          let sum = 0;
          for (let cc = 0; cc < g.cg; cc++) {
            for (let i = 0; i < g.kh; i++) {
              const ih = oh * g.strideH - g.padT + i * g.dilH;
              if (ih < 0 || ih >= g.h) continue;
              for (let j = 0; j < g.kw; j++) {
                const iw = ow * g.strideW - g.padL + j * g.dilW;
                if (iw < 0 || iw >= g.w) continue;
                const xv = x[((n * g.c + c0 + cc) * g.h + ih) * g.w + iw];
                const pv = preActivate(g.pre, xv, inputs[PRE_SCALE], inputs[PRE_SHIFT], c0 + cc);
                sum += pv * wt[((m * g.cg + cc) * g.kh + i) * g.kw + j];
              }
            }
          }
          const index = ((n * g.m + m) * g.oh + oh) * g.ow + ow;
          if (bias) sum += bias[m];
          if (z) sum += z[index];
          y.data[index] = activate(g.act, sum);
        }
      }
    }
  }
  return [y];
}

/** The input with the pre-activation applied to every element (X itself without one). */
function preActivatedInput(g: ConvGeometry, inputs: (Tensor | undefined)[]): Float32Array {
  const x = inputs[X]!.data as Float32Array;
  if (g.pre === "none") return x;
  const out = new Float32Array(x.length);
  const plane = g.h * g.w;
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / plane) % g.c;
    out[i] = preActivate(g.pre, x[i], inputs[PRE_SCALE], inputs[PRE_SHIFT], c);
  }
  return out;
}

/**
 * Writes the patch matrix of one image and group: row (c, i, j) of `cols` [cg*kh*kw, oh*ow]
 * holds input channel c at tap (i, j) for every output pixel, 0 where the tap is padding.
 */
function im2col(g: ConvGeometry, x: Float32Array, xOffset: number, cols: Float32Array): void {
  let dst = 0;
  for (let c = 0; c < g.cg; c++) {
    for (let i = 0; i < g.kh; i++) {
      for (let j = 0; j < g.kw; j++) {
        for (let oy = 0; oy < g.oh; oy++, dst += g.ow) {
          const ih = oy * g.strideH - g.padT + i * g.dilH;
          if (ih < 0 || ih >= g.h) {
            cols.fill(0, dst, dst + g.ow);
            continue;
          }
          const src = xOffset + (c * g.h + ih) * g.w;
          for (let ox = 0; ox < g.ow; ox++) {
            const iw = ox * g.strideW - g.padL + j * g.dilW;
            cols[dst + ox] = iw >= 0 && iw < g.w ? x[src + iw] : 0;
          }
        }
      }
    }
  }
}

/**
 * Fast CPU Conv: pre-activate X once (padding is never touched, so it stays 0), then per
 * image and group one GEMM W_g [mg, cg*kh*kw] x patches [cg*kh*kw, oh*ow] straight into the
 * NCHW output; a 1x1 stride-1 unpadded conv multiplies by X's channel planes directly.
 * Bias, residual and activation follow in one pass over the output.
 */
function cpu(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const g = convGeometry(node, inputs);
  const x = preActivatedInput(g, inputs);
  const wt = inputs[W]!.data as Float32Array;
  const y = makeTensor("f32", [g.n, g.m, g.oh, g.ow]);
  const out = y.data as Float32Array;
  const depth = g.cg * g.kh * g.kw;
  const pixels = g.oh * g.ow;
  const direct = g.kh === 1 && g.kw === 1 && g.strideH === 1 && g.strideW === 1 &&
    g.padT === 0 && g.padL === 0 && g.oh === g.h && g.ow === g.w;
  const cols = direct ? x : new Float32Array(depth * pixels);
  for (let n = 0; n < g.n; n++) {
    for (let grp = 0; grp < g.group; grp++) {
      const xOffset = (n * g.c + grp * g.cg) * g.h * g.w;
      if (!direct) im2col(g, x, xOffset, cols);
      gemmF32(
        g.mg,
        pixels,
        depth,
        { ...rowMajor(wt, depth, grp * g.mg * depth), constant: true },
        rowMajor(cols, pixels, direct ? xOffset : 0),
        rowMajor(out, pixels, (n * g.m + grp * g.mg) * pixels),
      );
    }
  }
  const bias = inputs[B]?.data, z = inputs[Z]?.data;
  if (bias || z || g.act.kind !== "none") {
    for (let i = 0; i < out.length; i++) {
      let v = out[i];
      if (bias) v += bias[Math.floor(i / pixels) % g.m];
      if (z) v += z[i];
      out[i] = activate(g.act, v);
    }
  }
  return [y];
}

/** Shape uniforms common to both GPU kernels. */
const CONV_UNIFORMS = {
  c: "u32",
  h: "u32",
  w: "u32",
  m: "u32",
  cg: "u32",
  mg: "u32",
  oh: "u32",
  ow: "u32",
  kh: "u32",
  kw: "u32",
  hw: "u32",
  ohw: "u32",
  khw: "u32",
  stride_h: "u32",
  stride_w: "u32",
  dil_h: "u32",
  dil_w: "u32",
  pad_t: "i32",
  pad_l: "i32",
  ...ACTIVATION_UNIFORMS,
} as const;

const TILED_UNIFORMS = uniformLayout("Params", { ...MATMUL_UNIFORMS, ...CONV_UNIFORMS });
const DIRECT_UNIFORMS = uniformLayout("Params", { total: "u32", ...CONV_UNIFORMS });

/** Values of `CONV_UNIFORMS` for `g`. */
function convUniformValues(g: ConvGeometry) {
  return {
    c: g.c,
    h: g.h,
    w: g.w,
    m: g.m,
    cg: g.cg,
    mg: g.mg,
    oh: g.oh,
    ow: g.ow,
    kh: g.kh,
    kw: g.kw,
    hw: g.h * g.w,
    ohw: g.oh * g.ow,
    khw: g.kh * g.kw,
    stride_h: g.strideH,
    stride_w: g.strideW,
    dil_h: g.dilH,
    dil_w: g.dilW,
    pad_t: g.padT,
    pad_l: g.padL,
    ...activationUniforms(g.act),
  };
}

/** The compiled fused extras, as a pipeline key part. */
function fusedKey(g: ConvGeometry): string {
  return `pre-${g.pre}_bias${Number(g.hasBias)}_res${Number(g.hasResidual)}_act-${
    activationKey(g.act)
  }`;
}

/**
 * Storage bindings of both kernels, in order: x, w, (bias), (z), (pre_scale, pre_shift), y;
 * then `params`. Returns the binding sources and their WGSL declarations.
 */
function convBindings(g: ConvGeometry, params: string) {
  const inputs: [number, string][] = [[X, "x"], [W, "w"]];
  if (g.hasBias) inputs.push([B, "bias"]);
  if (g.hasResidual) inputs.push([Z, "z"]);
  if (g.pre !== "none") inputs.push([PRE_SCALE, "pre_scale"], [PRE_SHIFT, "pre_shift"]);
  const bindings: GpuBindingSource[] = inputs.map(([index]) => ({ kind: "input", index }));
  bindings.push({ kind: "output", index: 0 });
  const decls = [
    ...inputs.map(([, name], i) =>
      `@group(0) @binding(${i}) var<storage, read> ${name}: array<f32>;`
    ),
    `@group(0) @binding(${inputs.length}) var<storage, read_write> y: array<f32>;`,
    params,
    `@group(0) @binding(${inputs.length + 1}) var<uniform> params: Params;`,
  ].join("\n");
  return { bindings, decls };
}

/** WGSL applying the pre-activation of input channel `channel` to `v` of WGSL type `type`. */
function preWgsl(
  pre: PreActivation,
  v: string,
  type: "f32" | "vec4<f32>",
  channel: string,
): string {
  if (pre === "none") return v;
  const bn = `(${v} * pre_scale[${channel}] + pre_shift[${channel}])`;
  return pre === "bn_relu" ? `max(${bn}, ${type}(0.0))` : bn;
}

/** WGSL statements finishing output `index` (channel `m`) from the sum `value`: + B + Z, act. */
function epilogueWgsl(g: ConvGeometry, value: string, m: string, index: string): string {
  const terms = [value];
  if (g.hasBias) terms.push(`bias[${m}]`);
  if (g.hasResidual) terms.push(`z[${index}]`);
  return `y[${index}] = ${activationWgsl(g.act, `(${terms.join(" + ")})`)};`;
}

const LANES = "vec4<u32>(0u, 1u, 2u, 3u)";

/**
 * Implicit-GEMM convolution on the tiled matmul core (src/shaders/tiled_matmul.ts), one GEMM
 * per group: rows = the group's output channels, columns = output pixels of the whole batch
 * (n, oy, ox) flattened, depth = (input channel, kernel row, kernel column) = W's row layout.
 * - A(row, k) = W[(group*mg + row) * depth + k]: contiguous along k.
 * - B(k, col) = pre(X[n, group*cg + c, oy*stride - pad + i*dil, ox*stride - pad + j*dil]),
 *   0 outside the input: the im2col matrix, never materialised. `mm_b_setup` decodes the
 *   invocation's 4 output pixels once (image base, top-left input corner as signed i32);
 *   each depth step decodes k once and reads the 4 pixels' taps with signed bounds checks,
 *   so padding reads nothing and stays exactly 0 (the pre-activation is masked with it).
 * - The epilogue adds bias and residual and applies the activation while storing NCHW.
 * Tiles: 64 channels x 64 pixels x 16 depths, 256 invocations of 4 channels x 4 pixels (16
 * channels or fewer per group: 16 x 64 x 16, 64 invocations). Faster than a direct
 * convolution because each staged input value is reused by 64 output channels and each
 * weight by 64 pixels, and the multiply-adds run from workgroup memory in vec4 registers.
 */
function tiledProgram(g: ConvGeometry, limits: GPUSupportedLimits): GpuProgram {
  const depth = g.cg * g.kh * g.kw;
  const tile = matmulTileFor(g.mg);
  const { uniforms, workgroups } = matmulDispatch(
    tile,
    g.mg,
    g.n * g.oh * g.ow,
    depth,
    g.group,
    limits.maxComputeWorkgroupsPerDimension,
  );
  const { bindings, decls } = convBindings(g, TILED_UNIFORMS.struct);
  const wgsl = () =>
    tiledMatmulWgsl({
      tile,
      aOrder: "k",
      bOrder: "quad",
      decls: /* wgsl */ `${decls}

struct MmASetup { base: vec4<u32> }
fn mm_a_setup(grp: u32, row: u32) -> MmASetup {
  let rows = min(vec4<u32>(row) + ${LANES}, vec4<u32>(params.mg - 1u));
  return MmASetup((grp * params.mg + rows) * params.mm_depth);
}
fn mm_load_a(s: MmASetup, k: u32) -> vec4<f32> {
  return vec4<f32>(w[s.base.x + k], w[s.base.y + k], w[s.base.z + k], w[s.base.w + k]);
}

struct MmBSetup { base: vec4<u32>, ih0: vec4<i32>, iw0: vec4<i32>, channel0: u32 }
fn mm_b_setup(grp: u32, col: u32) -> MmBSetup {
  let p = min(vec4<u32>(col) + ${LANES}, vec4<u32>(params.mm_cols - 1u));
  let q = p % params.ohw;
  let channel0 = grp * params.cg;
  return MmBSetup(
    ((p / params.ohw) * params.c + channel0) * params.hw,
    vec4<i32>((q / params.ow) * params.stride_h) - params.pad_t,
    vec4<i32>((q % params.ow) * params.stride_w) - params.pad_l,
    channel0);
}
fn mm_load_b(s: MmBSetup, k: u32) -> vec4<f32> {
  let c = k / params.khw;
  let tap = k % params.khw;
  let ih = s.ih0 + i32((tap / params.kw) * params.dil_h);
  let iw = s.iw0 + i32((tap % params.kw) * params.dil_w);
  let inside = (ih >= vec4<i32>(0)) & (ih < vec4<i32>(i32(params.h))) &
               (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(params.w)));
  let i = select(vec4<u32>(0u),
                 s.base + c * params.hw + vec4<u32>(ih) * params.w + vec4<u32>(iw), inside);
  let v = vec4<f32>(x[i.x], x[i.y], x[i.z], x[i.w]);
  return select(vec4<f32>(0.0), ${preWgsl(g.pre, "v", "vec4<f32>", "s.channel0 + c")}, inside);
}

fn mm_store(grp: u32, row: u32, col: u32, v: vec4<f32>) {
  let m = grp * params.mg + row;
  for (var i = 0u; i < 4u; i++) {
    let p = col + i;
    if (p < params.mm_cols) {
      let index = ((p / params.ohw) * params.m + m) * params.ohw + p % params.ohw;
      ${epilogueWgsl(g, "v[i]", "m", "index")}
    }
  }
}`,
    });
  return {
    key: `conv_mm_f32_${tile.name}_${fusedKey(g)}`,
    wgsl,
    bindings,
    uniforms: TILED_UNIFORMS.pack({ ...uniforms, ...convUniformValues(g) }),
    workgroups,
  };
}

const DIRECT_WORKGROUP = 256;

/**
 * Direct convolution for one input channel per group (depthwise, channel multiplier any):
 * one invocation per output element of the NCHW output (flat index, 256 per workgroup),
 * looping over the kh x kw taps of its one input channel with signed bounds checks; the
 * pre-activation applies to in-bounds taps only and the epilogue adds bias and residual and
 * applies the activation. With kh*kw multiply-adds per output there is no reuse for a tiled
 * GEMM to exploit; this kernel reads each input tap once per output and stays memory-bound.
 */
function directProgram(g: ConvGeometry, limits: GPUSupportedLimits): GpuProgram {
  const total = g.n * g.m * g.oh * g.ow;
  const { bindings, decls } = convBindings(g, DIRECT_UNIFORMS.struct);
  const wgsl = () =>
    /* wgsl */ `${decls}

@compute @workgroup_size(${DIRECT_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let index = ${FLAT_WORKGROUP_INDEX} * ${DIRECT_WORKGROUP}u + lid;
  if (index >= params.total) { return; }
  let pixel = index % params.ohw;
  let image_channel = index / params.ohw;
  let m = image_channel % params.m;
  let c = m / params.mg;
  let base = ((image_channel / params.m) * params.c + c) * params.hw;
  let ih0 = i32((pixel / params.ow) * params.stride_h) - params.pad_t;
  let iw0 = i32((pixel % params.ow) * params.stride_w) - params.pad_l;
  var acc = 0.0;
  for (var i = 0u; i < params.kh; i++) {
    let ih = ih0 + i32(i * params.dil_h);
    if (ih < 0 || ih >= i32(params.h)) { continue; }
    for (var j = 0u; j < params.kw; j++) {
      let iw = iw0 + i32(j * params.dil_w);
      if (iw < 0 || iw >= i32(params.w)) { continue; }
      let v = x[base + u32(ih) * params.w + u32(iw)];
      acc = fma(${preWgsl(g.pre, "v", "f32", "c")}, w[(m * params.kh + i) * params.kw + j], acc);
    }
  }
  ${epilogueWgsl(g, "acc", "m", "index")}
}
`;
  return {
    key: `conv_direct_f32_wg${DIRECT_WORKGROUP}_${fusedKey(g)}`,
    wgsl,
    bindings,
    uniforms: DIRECT_UNIFORMS.pack({ total, ...convUniformValues(g) }),
    workgroups: workgroupGrid(
      Math.ceil(total / DIRECT_WORKGROUP),
      limits.maxComputeWorkgroupsPerDimension,
    ),
  };
}

/** GPU Conv: the direct kernel for one input channel per group, implicit GEMM otherwise. */
function gpu(ctx: GpuPlanContext): GpuPlan {
  const g = convGeometry(ctx.node, ctx.inputs);
  return { programs: [g.cg === 1 ? directProgram(g, ctx.limits) : tiledProgram(g, ctx.limits)] };
}

/** Conv on f32 NCHW tensors with the fused extras of docs/ARCHITECTURE.md. */
export const conv: OpDef = { op: "Conv", inferTypes, reference, cpu, gpu };
