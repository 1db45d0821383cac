/**
 * WGSL pieces shared by the conv kernels (src/ops/conv.ts, src/ops/conv_winograd.ts): the
 * shape uniforms, the fused extras' key, the pre-activation on load, the epilogue, and the
 * hooks reading the transposed weights (src/shaders/conv_repack.ts).
 *
 * @module
 */

import { ACTIVATION_UNIFORMS, activationUniforms, activationWgsl } from "../shaders/activation.ts";
import { copyAccess, transposedIndexWgsl, WEIGHT_BLOCK } from "../shaders/conv_repack.ts";
import type { ConvGeometry, PreActivation } from "./conv.ts";
import { CONV_WINDOW_UNIFORMS, convWindowUniforms } from "./conv_window.ts";
import type { GpuBindingSource, StoragePrecision } from "./op.ts";

/** Input slots of Conv (docs/ARCHITECTURE.md, "Fused ops"). */
export const X = 0, W = 1, B = 2, Z = 3, PRE_SCALE = 4, PRE_SHIFT = 5;

/**
 * How an epilogue stores: `scalar`, one output per call; `quad4`, one aligned vec4 of 4
 * pixels of an output plane; `lanes`, 4 consecutive pixels of one output row, each stored
 * where its column `ox` + lane is inside the row.
 */
export type EpilogueForm = "scalar" | "quad4" | "lanes";

/** Shape, window (`CONV_WINDOW_UNIFORMS`), residual and activation uniforms of the conv kernels. */
export const CONV_UNIFORMS = {
  c: "u32",
  h: "u32",
  w: "u32",
  m: "u32",
  cg: "u32",
  mg: "u32",
  oh: "u32",
  ow: "u32",
  hw: "u32",
  ohw: "u32",
  khw: "u32",
  ...CONV_WINDOW_UNIFORMS,
  has_res: "u32",
  ...ACTIVATION_UNIFORMS,
} as const;

/** Values of `CONV_UNIFORMS` for `g`. */
export function convUniformValues(g: ConvGeometry) {
  return {
    c: g.c,
    h: g.h,
    w: g.w,
    m: g.m,
    cg: g.cg,
    mg: g.mg,
    oh: g.oh,
    ow: g.ow,
    hw: g.h * g.w,
    ohw: g.oh * g.ow,
    khw: g.kh * g.kw,
    ...convWindowUniforms(g),
    has_res: Number(g.hasResidual),
    ...activationUniforms(g.act),
  };
}

/**
 * The compiled fused extras, as a pipeline key part. The residual and the activation are not
 * among them: every kernel binds a `z` (`residualSource`) and adds it where the uniform
 * `has_res` says so, and clamps as `ACTIVATION_UNIFORMS` say, so that neither makes a pipeline
 * variant (each costs up to 1.5 s of compilation on lavapipe without its shader cache).
 */
export function fusedKey(g: ConvGeometry): string {
  return `pre-${g.pre}_bias${Number(g.hasBias)}`;
}

/**
 * The buffer bound as `z`: the residual where the conv has one, else `stand_in`, a buffer the
 * kernel already binds read-only and whose reads (bounds-checked, then not added) are wasted.
 */
export function residualSource(g: ConvGeometry, standIn: GpuBindingSource): GpuBindingSource {
  return g.hasResidual ? { kind: "input", index: Z } : standIn;
}

/** WGSL applying the pre-activation of input channel `channel` to `v` of WGSL type `type`. */
export function preWgsl(
  pre: PreActivation,
  v: string,
  type: "f32" | "vec4<f32>",
  channel: string,
): string {
  if (pre === "none") return v;
  const bn = `(${v} * pre_scale[${channel}] + pre_shift[${channel}])`;
  return pre === "bn_relu" ? `max(${bn}, ${type}(0.0))` : bn;
}

/**
 * WGSL statements finishing output `index` from the sum `value`: + B + Z, act, where `bias`
 * is the WGSL f32 of the output channel's bias (read where `g.hasBias`); for `quad4`, `value`
 * is a vec4 of 4 outputs and `index` that of their vec4 in y and z; for `lanes`, `value` is a
 * vec4 of outputs `index`..`index + 3`, each stored where the output column `ox` + its lane is
 * inside the row.
 */
export function epilogueWgsl(
  g: ConvGeometry,
  value: string,
  bias: string,
  index: string,
  form: EpilogueForm = "scalar",
): string {
  const finish = (v: string, at: string, vec4: boolean) => {
    const terms = [v];
    if (g.hasBias) terms.push(vec4 ? `vec4<f32>(${bias})` : bias);
    terms.push(`select(${vec4 ? "vec4<f32>" : "f32"}(0.0), z[${at}], params.has_res != 0u)`);
    return terms.join(" + ");
  };
  if (form === "scalar") {
    return `y[${index}] = ${activationWgsl(finish(value, index, false))};`;
  }
  const lanes = ["x", "y", "z", "w"];
  if (form === "lanes") {
    // A loop, not 4 unrolled stores: on lavapipe every store and load site is a loop over the
    // SIMD lanes, and the 4x larger unrolled epilogue took 3x longer to compile (2.5-3.9 s
    // per pipeline without Mesa's shader cache).
    return `let lanes = min(4u, select(0u, params.ow - ox, ox < params.ow));
    for (var lane = 0u; lane < lanes; lane++) {
      let at = ${index} + lane;
      y[at] = ${activationWgsl(finish(`${value}[lane]`, "at", false))};
    }`;
  }
  return `let t = ${finish(value, index, true)};
      y[${index}] = vec4<f32>(${lanes.map((c) => activationWgsl(`t.${c}`)).join(", ")});`;
}

/**
 * WGSL of the weight operand's hooks reading the transposed copy stored as `storage`
 * (src/shaders/conv_repack.ts): A(row, k) for rows row..row+3 of group `grp` is one vec4
 * (zero past mg), one line of 16 rows per depth; reads `params.mg` and `params.mm_depth`. A
 * `texture` copy needs the caller's `TEXEL_OF_WGSL` (or the f16 buffer its pack functions).
 */
export function transposedWeightHooks(storage: StoragePrecision, texture = false): string {
  const copy = copyAccess(storage, texture);
  return /* wgsl */ `
${transposedIndexWgsl("mm_depth")}
struct MmASetup { base: u32 }
fn mm_a_setup(grp: u32, row: u32) -> MmASetup { return MmASetup(wt_index(grp, row, 0u)); }
fn mm_load_a(s: MmASetup, d: MmDepth) -> vec4<f32> {
  return ${copy.load("wt", `s.base + d.k * ${WEIGHT_BLOCK / 4}u`)};
}`;
}
