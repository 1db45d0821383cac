/**
 * Conv: 2-D convolution on NCHW f32 with ONNX attributes, plus the fused extras of
 * docs/ARCHITECTURE.md: residual Z (input 3), pre-activation BatchNorm(+ReLU) on the input
 * load (inputs 4/5, attribute `pre_activation`), and a final activation:
 * `y = act(conv(pre(x)) + B + Z)`, where `pre` touches in-bounds input elements only and
 * padding stays exactly 0.
 *
 * Kernels: `reference` (nested loops, float64 sums); `cpu` (conv_cpu.ts: the whole conv in
 * WebAssembly SIMD, or im2col + a blocked GEMM in TypeScript without SIMD); `gpu`
 * (implicit-GEMM on the tiled matmul core for group sizes > 1 channel, its register kernel
 * on CPU-like adapters, where 3x3 stride-1 convs run as Winograd, conv_winograd.ts; a direct
 * kernel for depthwise convs).
 *
 * @module
 */

import { makeTensor, type Node, type Tensor, type TensorType } from "../graph/types.ts";
import { activate, type Activation, parseActivation } from "../shaders/activation.ts";
import { FLAT_WORKGROUP_INDEX, workgroupGrid } from "../shaders/grid.ts";
import {
  CELLS_16X16,
  MATMUL_UNIFORMS,
  matmulDispatch,
  matmulTileFor,
  tiledMatmulWgsl,
} from "../shaders/tiled_matmul.ts";
import {
  copyAccess,
  type Repack,
  repackElement,
  shiftedInput,
  shiftedInputVectors,
  shiftedLayout,
  transposedWeights,
  transposedWeightVectors,
} from "../shaders/conv_repack.ts";
import { TEXEL_OF_WGSL, texelRowsFit } from "../shaders/texel_rows.ts";
import { uniformLayout } from "../shaders/uniform_layout.ts";
import { convCpu } from "./conv_cpu.ts";
import { winogradAlgorithmFor, winogradApplies, winogradPlan } from "./conv_winograd.ts";
import { ACTIVATION_WGSL } from "../shaders/activation.ts";
import {
  B,
  CONV_UNIFORMS,
  convUniformValues,
  type EpilogueForm,
  epilogueWgsl,
  fusedKey,
  PRE_SCALE,
  PRE_SHIFT,
  preWgsl,
  residualSource,
  transposedWeightHooks,
  W,
  X,
  Z,
} from "./conv_wgsl.ts";
import type { ConvWindow } from "./conv_window.ts";
import type {
  GpuBindingSource,
  GpuPlan,
  GpuPlanContext,
  GpuProgram,
  OpDef,
  StoragePrecision,
} from "./op.ts";

/** Pre-activation applied to in-bounds input elements on load. */
export type PreActivation = "none" | "bn" | "bn_relu";

/** A Conv node's validated geometry and fused extras. */
export interface ConvGeometry extends ConvWindow {
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
  /** Output height and width. */
  oh: number;
  ow: number;
  /** Fused work. */
  pre: PreActivation;
  act: Activation;
  hasBias: boolean;
  hasResidual: boolean;
}

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

const TILED_UNIFORMS = uniformLayout("Params", {
  ...MATMUL_UNIFORMS,
  ...CONV_UNIFORMS,
  xs_rows: "u32",
  xs_row_stride: "u32",
  xs_cols: "u32",
  xs_plane: "u32",
});
const DIRECT_UNIFORMS = uniformLayout("Params", { total: "u32", ...CONV_UNIFORMS });

/**
 * Storage bindings of the conv kernels, in order: x (or `xs`, the shifted input, from scratch
 * buffer 0), w (or `wt`, the transposed weights, from derived buffer 0), (bias), z (the
 * input X again when there is no residual: `residualSource`),
 * (pre_scale, pre_shift: unless the shifted input has the pre-activation applied), y; then
 * `params`. Returns the binding sources and their WGSL declarations (vec4 arrays for the
 * `quad4` forms, z and y for the `quad4` epilogue; the copies' elements as `forms.storage`).
 */
function convBindings(g: ConvGeometry, params: string, forms: ConvForms = DIRECT_FORMS) {
  const array = (name: string, type: string) => (binding: number) =>
    `@group(0) @binding(${binding}) var<storage, read> ${name}: array<${type}>;`;
  const copy = (name: string, texture: boolean) => (binding: number) =>
    copyAccess(forms.storage, texture).readDecl(binding, name);
  const inputs: [GpuBindingSource, (binding: number) => string][] = [
    isShifted(forms.x)
      ? [{ kind: "scratch", index: 0 }, copy("xs", forms.x === "texels")]
      : [{ kind: "input", index: X }, array("x", forms.x === "quad4" ? "vec4<f32>" : "f32")],
    forms.w === "quad"
      ? [{ kind: "input", index: W }, array("w", "f32")]
      : [{ kind: "derived", index: 0 }, copy("wt", forms.w === "texels")],
  ];
  if (g.hasBias) inputs.push([{ kind: "input", index: B }, array("bias", "f32")]);
  // Without a residual, X (always a buffer, where the copies may be textures) stands in for z.
  inputs.push([
    residualSource(g, { kind: "input", index: X }),
    array("z", forms.y === "quad4" ? "vec4<f32>" : "f32"),
  ]);
  if (g.pre !== "none" && !isShifted(forms.x)) {
    inputs.push(
      [{ kind: "input", index: PRE_SCALE }, array("pre_scale", "f32")],
      [{ kind: "input", index: PRE_SHIFT }, array("pre_shift", "f32")],
    );
  }
  const bindings: GpuBindingSource[] = inputs.map(([source]) => source);
  bindings.push({ kind: "output", index: 0 });
  const decls = [
    ...inputs.map(([, declare], i) => declare(i)),
    `@group(0) @binding(${inputs.length}) var<storage, read_write> y: array<${
      forms.y === "quad4" ? "vec4<f32>" : "f32"
    }>;`,
    params,
    `@group(0) @binding(${inputs.length + 1}) var<uniform> params: Params;`,
    ACTIVATION_WGSL,
  ].join("\n");
  return { bindings, decls };
}

const LANES = "vec4<u32>(0u, 1u, 2u, 3u)";

/**
 * How the implicit GEMM reads its operands, 4 rows or columns at one depth. Weights (A):
 * `quad`, 4 output channels as scalar loads from W; `quad4`, one aligned vec4 from the
 * transposed copy (src/shaders/conv_repack.ts), made once at load; or `texels`, the same copy
 * kept in a texture (src/shaders/texel_rows.ts), one texel fetch. Input (B): `gather`, 4
 * output pixels' taps as scalar loads with bounds checks; `quad4`, one aligned vec4 of 4
 * consecutive pixels of a channel plane, for a 1x1 stride-1 unpadded conv whose planes hold a
 * multiple of 4 pixels, where B is X itself; or `shifted`, one aligned vec4 of the shifted
 * input copy, whose GEMM columns run over output rows padded to a multiple of 4 pixels
 * (`texels`: the same copy in a texture). The workgroup kernel reads `gather`, and `quad`
 * (`quad4` with f16 storage: half the weight bytes).
 */
interface ConvForms {
  /** Element type of the copies (transposed weights, shifted input). */
  storage: StoragePrecision;
  w: "quad" | "quad4" | "texels";
  x: "gather" | "quad4" | "shifted" | "texels";
  /**
   * The epilogue: `scalar`, per output (a loop over the 4 columns of a quad, each decoded);
   * `quad4`, one aligned vec4 of 4 pixels (residual loaded, output stored) where every column
   * quad is 4 consecutive pixels of an output plane; or `lanes`, for the shifted input's
   * columns, whose quads are 4 consecutive pixels of one output row padded to a multiple of 4:
   * the quad decoded once and a loop of scalar stores over its pixels inside the row. On
   * lavapipe `lanes` compiles about 6x faster than `scalar` (no loop to unroll, one decode
   * instead of four).
   */
  y: EpilogueForm;
}

/** Whether the input form reads the shifted copy (from a buffer, or texels of a texture). */
function isShifted(x: ConvForms["x"]): boolean {
  return x === "shifted" || x === "texels";
}

/** The forms of the direct kernel, which makes no copies. */
const DIRECT_FORMS: ConvForms = { storage: "f32", w: "quad", x: "gather", y: "scalar" };

/** The forms of the workgroup kernel for `storage`. */
function workgroupForms(storage: StoragePrecision): ConvForms {
  return { storage, w: storage === "f16" ? "quad4" : "quad", x: "gather", y: "scalar" };
}

/**
 * The vector loads and stores of the register kernel for `g`, its copies stored as `storage`.
 * It always reads the transposed weights, from a texture where they fit one (`texels`: on
 * llvmpipe a texel fetch of the 8 lanes is one gather, a buffer load a loop over them;
 * ResNet-50 on the GPU 250-272 -> 228-245 ms, interleaved in one process, outputs
 * bit-identical). Made once at load (a derived value), they cost
 * nothing per run, and on llvmpipe they are never slower than W's scalar loads (faster from
 * 14x14 maps up: a 1x1 1024->256 conv 5.0 -> 3.1 ms, and at 7x7 too since they come in
 * 16-channel blocks: a 3x3 512->512 conv 11.7 ms from W, 8.5-8.8 ms from the blocks, measured
 * at different times). Convs on the shifted input always store `lanes`, also where rows hold
 * a multiple of 4 pixels and `quad4` would do: one conv pipeline fewer per model (ResNet-50's
 * first start with an empty Mesa shader cache 6.4-7.2 -> 4.5 s, steady runs within noise:
 * 245-446 against 246-250 ms, interleaved).
 */
function registerForms(
  g: ConvGeometry,
  storage: StoragePrecision,
  limits: GPUSupportedLimits,
): ConvForms {
  const pointwise = g.kh === 1 && g.kw === 1 && g.strideH === 1 && g.strideW === 1 &&
    g.padT === 0 && g.padL === 0 && g.oh === g.h && g.ow === g.w;
  const x = pointwise && (g.h * g.w) % 4 === 0
    ? "quad4"
    : texelRowsFit(shiftedInputVectors(g), limits)
    ? "texels"
    : "shifted";
  return {
    storage,
    w: texelRowsFit(transposedWeightVectors(g), limits) ? "texels" : "quad4",
    x,
    y: x === "quad4" ? "quad4" : "lanes",
  };
}

/**
 * The depth cursor of the implicit GEMM: depth k = (input channel c, kernel row i, kernel
 * column j), with the channel plane offset and the tap's dilated offsets in X, and the tap's
 * offset `xoff` in the shifted input; `mm_depth_next` steps j, then i, then c without
 * dividing.
 */
const DEPTH_HOOKS = /* wgsl */ `
struct MmDepth { k: u32, c: u32, coff: u32, i: u32, j: u32, dh: i32, dw: i32, xoff: u32 }
fn conv_depth(k: u32, c: u32, i: u32, j: u32) -> MmDepth {
  let dh = i * params.dil_h;
  return MmDepth(k, c, c * params.hw, i, j, i32(dh), i32(j * params.dil_w),
                 j * params.xs_plane + (c * params.xs_rows + dh) * params.xs_cols);
}
fn mm_depth(k: u32) -> MmDepth {
  let tap = k % params.khw;
  return conv_depth(k, k / params.khw, tap / params.kw, tap % params.kw);
}
fn mm_depth_next(d: MmDepth) -> MmDepth {
  let row_done = d.j + 1u == params.kw;
  let taps_done = row_done && d.i + 1u == params.kh;
  let i = select(select(d.i, d.i + 1u, row_done), 0u, taps_done);
  return conv_depth(d.k + 1u, d.c + u32(taps_done), i, select(d.j + 1u, 0u, row_done));
}`;

/**
 * WGSL of the weight operand's hooks in `forms.w`: A(row, k) = w[(grp*mg + row)*depth + k],
 * or for `quad4` the transposed copy's (`transposedWeightHooks`).
 */
function weightHooks(forms: ConvForms): string {
  if (forms.w !== "quad") return transposedWeightHooks(forms.storage, forms.w === "texels");
  return /* wgsl */ `
struct MmASetup { base: vec4<u32> }
fn mm_a_setup(grp: u32, row: u32) -> MmASetup {
  let rows = min(vec4<u32>(row) + ${LANES}, vec4<u32>(params.mg - 1u));
  return MmASetup((grp * params.mg + rows) * params.mm_depth);
}
fn mm_load_a(s: MmASetup, d: MmDepth) -> vec4<f32> {
  return vec4<f32>(w[s.base.x + d.k], w[s.base.y + d.k], w[s.base.z + d.k], w[s.base.w + d.k]);
}`;
}

/**
 * WGSL of the input operand's hooks in `forms.x`: B(k, col) = pre(X[n, grp*cg + c, oy*stride -
 * pad + i*dil, ox*stride - pad + j*dil]) for output pixel col = (n, oy, ox), 0 outside X.
 * `gather`: `mm_b_setup` decodes the 4 pixels once (image base, top-left input corner as
 * signed i32); each load reads the taps at the cursor with signed bounds checks, so padding
 * reads nothing and stays exactly 0 (the pre-activation is masked with it). `shifted` reads
 * the copy, whose padding and pre-activation are already in place.
 */
function inputHooks(g: ConvGeometry, forms: ConvForms): string {
  const form = forms.x;
  if (isShifted(form)) {
    const copy = copyAccess(forms.storage, form === "texels");
    return /* wgsl */ `
struct MmBSetup { base: u32 }
fn mm_b_setup(grp: u32, col: u32) -> MmBSetup {
  let p = min(col, params.mm_cols - 4u);
  let image_cols = params.oh * params.xs_cols;
  let r = p % image_cols;
  let row = (r / params.xs_cols) * params.xs_row_stride;
  return MmBSetup((((p / image_cols) * params.c + grp * params.cg) * params.xs_rows + row) *
                  params.xs_cols + r % params.xs_cols);
}
fn mm_load_b(s: MmBSetup, d: MmDepth) -> vec4<f32> {
  return ${copy.load("xs", "(s.base + d.xoff) / 4u")};
}`;
  }
  if (form === "quad4") {
    return /* wgsl */ `
struct MmBSetup { base: u32, channel0: u32 }
fn mm_b_setup(grp: u32, col: u32) -> MmBSetup {
  let p = min(col, params.mm_cols - 4u);
  let channel0 = grp * params.cg;
  return MmBSetup(((p / params.ohw) * params.c + channel0) * params.hw + p % params.ohw,
                  channel0);
}
fn mm_load_b(s: MmBSetup, d: MmDepth) -> vec4<f32> {
  let v = x[(s.base + d.coff) / 4u];
  return ${preWgsl(g.pre, "v", "vec4<f32>", "s.channel0 + d.c")};
}`;
  }
  return /* wgsl */ `
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
fn mm_load_b(s: MmBSetup, d: MmDepth) -> vec4<f32> {
  let ih = s.ih0 + d.dh;
  let iw = s.iw0 + d.dw;
  let inside = (ih >= vec4<i32>(0)) & (ih < vec4<i32>(i32(params.h))) &
               (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(params.w)));
  let i = select(vec4<u32>(0u), s.base + d.coff + vec4<u32>(ih) * params.w + vec4<u32>(iw),
                 inside);
  let v = vec4<f32>(x[i.x], x[i.y], x[i.z], x[i.w]);
  return select(vec4<f32>(0.0), ${preWgsl(g.pre, "v", "vec4<f32>", "s.channel0 + d.c")}, inside);
}`;
}

/** WGSL of `mm_store` for the epilogue `form` (columns are pixels through `conv_pixel`). */
function storeWgsl(g: ConvGeometry, form: EpilogueForm): string {
  if (form === "lanes") {
    return /* wgsl */ `fn mm_store(grp: u32, row: u32, col: u32, v: vec4<f32>) {
  let m = grp * params.mg + row;
  if (col < params.mm_cols) {
    let px = conv_pixel(col);
    let index = (px.x * params.m + m) * params.ohw + px.y;
    let ox = col % params.xs_cols;
    ${epilogueWgsl(g, "v", "bias[m]", "index", "lanes")}
  }
}`;
  }
  if (form === "quad4") {
    return /* wgsl */ `fn mm_store(grp: u32, row: u32, col: u32, v: vec4<f32>) {
  let m = grp * params.mg + row;
  if (col < params.mm_cols) {
    let px = conv_pixel(col);
    let index = ((px.x * params.m + m) * params.ohw + px.y) / 4u;
    ${epilogueWgsl(g, "v", "bias[m]", "index", "quad4")}
  }
}`;
  }
  return /* wgsl */ `fn mm_store(grp: u32, row: u32, col: u32, v: vec4<f32>) {
  let m = grp * params.mg + row;
  for (var i = 0u; i < 4u; i++) {
    let p = col + i;
    if (p < params.mm_cols) {
      let px = conv_pixel(p);
      let index = (px.x * params.m + m) * params.ohw + px.y;
      ${epilogueWgsl(g, "v[i]", "bias[m]", "index")}
    }
  }
}`;
}

/**
 * Implicit-GEMM convolution on the tiled matmul core (src/shaders/tiled_matmul.ts), one GEMM
 * per group: rows = the group's output channels, columns = output pixels of the whole batch
 * (n, oy, ox) flattened, depth = (input channel, kernel row, kernel column) = W's row layout,
 * walked by the `DEPTH_HOOKS` cursor. A(row, k) = W[(group*mg + row) * depth + k] (contiguous
 * along k); B is the im2col matrix, never materialised (`inputHooks`). The epilogue adds bias
 * and residual and applies the activation while storing NCHW.
 * - Workgroup kernel (GPUs): 64 channels x 64 pixels x 16 depths staged in workgroup memory
 *   (the weights from W, or with f16 storage from their f16 transposed copy),
 *   256 invocations of 4 x 4 (16 channels or fewer per group: 16 x 64, 64 invocations); each
 *   staged input value is reused by 64 output channels and each weight by 64 pixels.
 * - Register kernel (`registers`: CPU-like adapters): blocks of up to 32 channels x 16 pixels
 *   per invocation read straight from storage, without workgroup memory or barriers, every
 *   load an aligned vec4 (`convForms`): X itself for 1x1 stride-1 convs, else a shifted copy
 *   of the input written before the conv (src/shaders/conv_repack.ts: GEMM columns then run
 *   over output rows padded to 4 pixels); weights from a transposed copy made once at load
 *   (a derived buffer), each block of 16 channels one cache line per depth; vec4 stores where
 *   rows hold a multiple of 4 pixels, else 4 scalar stores per quad masked at the row's end.
 *   About 4.5x faster than the workgroup kernel on llvmpipe (ResNet-50 layers: 25-35 GFLOP/s
 *   against 5-6); the core's doc says why.
 * Returns the plan: the weight transposition (a derived buffer), the input's repacking (into a
 * scratch buffer), then the conv.
 */
function tiledPlan(
  g: ConvGeometry,
  limits: GPUSupportedLimits,
  registers: boolean,
  storage: StoragePrecision,
): GpuPlan {
  const depth = g.cg * g.kh * g.kw;
  const forms = registers ? registerForms(g, storage, limits) : workgroupForms(storage);
  const shifted = isShifted(forms.x) ? shiftedLayout(g) : undefined;
  const cols = g.n * g.oh * (shifted?.cols ?? g.ow);
  // Convs on a shifted copy (the stem, strided convs: 15% of ResNet-50's conv time) keep
  // 16 x 16 blocks: 32 x 16 saved 3 ms per ResNet-50 run there, and took 0.7 s more to compile.
  const tile = matmulTileFor(
    { rows: g.mg, cols, batches: g.group },
    registers,
    "quad",
    "quad",
    shifted ? CELLS_16X16 : Infinity,
  );
  const { uniforms, workgroups } = matmulDispatch(
    tile,
    g.mg,
    cols,
    depth,
    g.group,
    limits.maxComputeWorkgroupsPerDimension,
  );
  const weights: Repack | undefined = forms.w !== "quad"
    ? transposedWeights(
      g,
      { kind: "input", index: W },
      { kind: "derived", index: 0 },
      limits,
      storage,
      forms.w === "texels",
    )
    : undefined;
  const input: Repack | undefined = shifted
    ? shiftedInput(
      g,
      [X, ...(g.pre === "none" ? [] : [PRE_SCALE, PRE_SHIFT])].map((index): GpuBindingSource => ({
        kind: "input",
        index,
      })),
      { kind: "scratch", index: 0 },
      (v, c) => preWgsl(g.pre, v, "vec4<f32>", c),
      limits,
      storage,
      forms.x === "texels",
    )
    : undefined;
  const { bindings, decls } = convBindings(g, TILED_UNIFORMS.struct, forms);
  const texels = forms.w === "texels" || forms.x === "texels";
  // GEMM column p -> (image, pixel of its plane); a shifted column past the output width
  // (row padding) maps past its row, and the `lanes` epilogue masks it.
  const pixel = shifted
    ? `let image_cols = params.oh * params.xs_cols;
  return vec2<u32>(p / image_cols,
                   ((p % image_cols) / params.xs_cols) * params.ow + p % params.xs_cols);`
    : "return vec2<u32>(p / params.ohw, p % params.ohw);";
  const wgsl = () =>
    tiledMatmulWgsl({
      tile,
      aOrder: "k",
      bOrder: "quad",
      decls: /* wgsl */ `${decls}
${DEPTH_HOOKS}
${repackElement(storage).functions}
${texels ? TEXEL_OF_WGSL : ""}
${weightHooks(forms)}
${inputHooks(g, forms)}

fn conv_pixel(p: u32) -> vec2<u32> {
  ${pixel}
}
${storeWgsl(g, forms.y)}`,
    });
  const program: GpuProgram = {
    key: `conv_mm_f32_${tile.name}_${storage}_w-${forms.w}_x-${forms.x}_y-${forms.y}_${
      fusedKey(g)
    }`,
    wgsl,
    bindings,
    uniforms: TILED_UNIFORMS.pack({
      ...uniforms,
      ...convUniformValues(g),
      xs_rows: shifted?.rows ?? 0,
      xs_row_stride: shifted ? g.strideH / shifted.rowStep : 0,
      xs_cols: shifted?.cols ?? 0,
      xs_plane: shifted?.plane ?? 0,
    }),
    workgroups,
  };
  return {
    programs: input ? [input.program, program] : [program],
    scratchBytes: input ? [input.bytes] : [],
    scratchTextures: [input?.texture],
    derived: weights ? [weights] : [],
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
  ${epilogueWgsl(g, "acc", "bias[m]", "index")}
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

/**
 * GPU Conv: the direct kernel for one input channel per group; on CPU-like adapters Winograd
 * for 3x3 stride-1 convs (src/ops/conv_winograd.ts, f32 throughout); implicit GEMM otherwise
 * (the register kernel on CPU-like adapters), its operand copies stored as `ctx.storage`.
 */
function gpu(ctx: GpuPlanContext): GpuPlan {
  const g = convGeometry(ctx.node, ctx.inputs);
  if (g.cg === 1) return { programs: [directProgram(g, ctx.limits)] };
  if (ctx.isFallbackAdapter && winogradApplies(g)) {
    return winogradPlan(g, ctx.limits, winogradAlgorithmFor(g));
  }
  return tiledPlan(g, ctx.limits, ctx.isFallbackAdapter, ctx.storage);
}

/** Conv on f32 NCHW tensors with the fused extras of docs/ARCHITECTURE.md. */
export const conv: OpDef = {
  op: "Conv",
  inferTypes,
  reference,
  cpu: (node, inputs) => convCpu(convGeometry(node, inputs), inputs),
  gpu,
};
