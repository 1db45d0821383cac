/**
 * TflQuantize: TFLite's QUANTIZE of an f32 tensor to int8 (any shape and layout:
 * elementwise), made by the TFLite importer. Attributes `scale`, `zero_point`, and `rounding`:
 *
 * - `"xnnpack"` (LiteRT's CPU path, measured on LiteRT.js): `x * f32(1 / scale)` in f32,
 *   clamped to the int8 range shifted by the zero point, rounded half to even, + zero point
 *   (tfl_math.ts `quantizeValueXnnpack`);
 * - `"reference"` (TFLite's reference kernel `AffineQuantize`): `f32(x / scale)` rounded half
 *   away from zero, + zero point, clamped (tfl_math.ts `quantizeValue`).
 *
 * NaN inputs are not defined.
 *
 * GPU: one invocation per output word (four elements). The reference rounding divides
 * exactly with src/shaders/f32_divide.ts (WGSL's `/` is only accurate to 2.5 ulp), after
 * clamping x to +-512 steps (beyond them the result saturates anyway) and mapping |x| below
 * 2^-30 steps to 0 (it rounds to 0 anyway), which keeps the quotient normal. Compiled in:
 * rounding mode and workgroup size.
 *
 * @module
 */

import { makeTensor, type Node, sizeOf, type Tensor, type TensorType } from "../graph/types.ts";
import {
  ELEMENTWISE_WORKGROUP_SIZE,
  elementwiseMain,
  elementwiseWorkgroups,
} from "../shaders/elementwise.ts";
import { DIVIDE_WGSL } from "../shaders/f32_divide.ts";
import { uniformLayout } from "../shaders/uniform_layout.ts";
import {
  floatAttr,
  intAttr,
  nodeLabel,
  requireInputs,
  requireOutputs,
  stringAttr,
} from "./attributes.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";
import { INT8_MAX, INT8_MIN, quantizeValue, quantizeValueXnnpack } from "./tfl_math.ts";

const ROUNDINGS = ["xnnpack", "reference"] as const;

function params(node: Node) {
  const scale = Math.fround(floatAttr(node, "scale", NaN));
  if (!(scale >= 2 ** -60 && scale <= 2 ** 60)) {
    throw new Error(`${nodeLabel(node)}: scale ${scale} must be within [2^-60, 2^60]`);
  }
  const zero = intAttr(node, "zero_point");
  if (zero < INT8_MIN || zero > INT8_MAX) {
    throw new Error(`${nodeLabel(node)}: zero_point ${zero} is not an int8`);
  }
  return { scale, zero, rounding: stringAttr(node, "rounding", ROUNDINGS) };
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const [x] = requireInputs(node, inputs, 1, ["f32"]);
  requireOutputs(node, 1);
  params(node);
  return [{ dtype: "i8", shape: [...x.shape] }];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const [type] = inferTypes(node, inputs);
  const { scale, zero, rounding } = params(node);
  const quantize = rounding === "xnnpack" ? quantizeValueXnnpack : quantizeValue;
  const x = inputs[0]!.data;
  return [makeTensor("i8", type.shape, Array.from(x, (v) => quantize(v, scale, zero)))];
}

const PARAMS = uniformLayout("Params", {
  length: "u32",
  scale: "f32",
  inv_scale: "f32",
  bound: "f32",
  tiny: "f32",
  zero: "i32",
});

function wgsl(rounding: (typeof ROUNDINGS)[number]): string {
  const body = rounding === "xnnpack"
    ? `let v = clamp(x[i] * params.inv_scale, f32(-128 - params.zero), f32(127 - params.zero));
  return i32(round(v)) + params.zero;`
    : `let c = clamp(x[i], -params.bound, params.bound);
  var q = 0.0;
  if (abs(c) >= params.tiny) { q = divide(c, params.scale); }
  let v = clamp(q, f32(-128 - params.zero), f32(127 - params.zero));
  let whole = floor(abs(v));
  let away = select(whole, whole + 1.0, abs(v) - whole >= 0.5);
  return i32(select(away, -away, v < 0.0)) + params.zero;`;
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<f32>;
${PARAMS.struct}
@group(0) @binding(2) var<uniform> params: Params;
${rounding === "reference" ? DIVIDE_WGSL : ""}

fn value_at(i: u32) -> i32 {
  ${body}
}
${elementwiseMain("packed8", 1)}`;
}

function gpu(ctx: GpuPlanContext): GpuPlan {
  const { scale, zero, rounding } = params(ctx.node);
  const length = sizeOf(ctx.outputs[0].shape);
  const f32 = Math.fround;
  return {
    programs: [{
      key: `tfl_quantize_${rounding}_wg${ELEMENTWISE_WORKGROUP_SIZE}`,
      wgsl: () => wgsl(rounding),
      bindings: [{ kind: "input", index: 0 }, { kind: "output", index: 0 }],
      uniforms: PARAMS.pack({
        length,
        scale,
        inv_scale: f32(1 / scale),
        bound: f32(512 * scale),
        tiny: f32(scale * 2 ** -30),
        zero,
      }),
      workgroups: elementwiseWorkgroups("packed8", length, ctx.limits),
    }],
  };
}

/** TflQuantize: TFLite QUANTIZE of f32 to int8. */
export const tflQuantize: OpDef = { op: "TflQuantize", inferTypes, reference, gpu };
